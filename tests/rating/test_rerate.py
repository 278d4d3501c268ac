"""Re-rating a closed period, on the tiny operator of tiny_rating_lake with all its
reference data: every call rates, and a price correction is re-rated as a new version.

Before the correction (hand-worked): S1 draws its 60 s allowance in event order, so
u1 (07-02) takes it: 120 s - 60 s = 60 s x 60_000/60 = 60_000; u3 (07-03, France, in
bundle) pays all 120 s x 120_000/60 = 240_000; u4 (UK) 820_000. S2 pays u2's
60 s x 60_000/60 = 60_000; S3 u5's 700_000. Monthly fees: S1 and S3 10_000_000 each
(P1), S2 3_100_000 (P2), all active the whole month.

Taxes (the rule set in tiny_rating_lake; FUSF 34.4% x 37.1%, capped at the floor; 7% excise
on usage): A1's fee 10_000_000 -> FUSF 1_276_240; its usage 1_120_000 -> FUSF
415_520 x 34.4% = 142_938.88 -> 142_938, excise 78_400: 1_497_578. A2's fee 3_100_000 ->
FUSF 395_634.4 -> 395_634; usage 60_000 -> FUSF 7_657.44 -> 7_657, excise 4_200: 407_491.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pytest
from tiny_rating_lake import PERIOD, REFERENCE, US_PEAK_RATE, build_operator, read_rows

from pipelines import lake
from pipelines.config import Layout
from pipelines.rating import rerate
from pipelines.rating.rerate import (
    PeriodStateError,
    close_period,
    read_period,
    read_version,
    rerate_period,
)
from pipelines.rating.stage import rate_period
from pipelines.taxes.stage import tax_period

CORRECTED_US_PEAK = US_PEAK_RATE.replace(",60000,", ",90000,")
RERATED_AT = datetime(2024, 8, 20, 14, 0, tzinfo=UTC)


@pytest.fixture
def closed(tmp_path: Path) -> Layout:
    data = build_operator(tmp_path)
    rate_period(data, PERIOD)
    tax_period(data, PERIOD)
    close_period(data, PERIOD, by="finance", reason="July invoices issued")
    return data


def correct_us_peak_price(data: Layout) -> None:
    text = REFERENCE["rate_deck.csv"].replace(US_PEAK_RATE, CORRECTED_US_PEAK)
    (data.reference / "rate_deck.csv").write_text(text)


def usage_charges(rows) -> dict[str, int]:
    return {row["usage_id"]: row["charge_micros"] for row in rows}


def test_rerate_writes_a_new_version_and_the_difference_per_account(closed):
    assert usage_charges(read_rows(closed, "rated_usage").values()) == {
        "u1": 60_000,
        "u2": 60_000,
        "u3": 240_000,
        "u4": 820_000,
        "u5": 700_000,
    }
    correct_us_peak_price(closed)
    result = rerate_period(closed, PERIOD, "ticket 42: US peak is 0.09", "alice", RERATED_AT)

    # u1: 60 s x 90_000/60 = 90_000; u2: 60 s x 90_000/60 = 90_000; the rest unchanged.
    assert usage_charges(read_rows(closed, "rated_usage").values()) == {
        "u1": 90_000,
        "u2": 90_000,
        "u3": 240_000,
        "u4": 820_000,
        "u5": 700_000,
    }
    differences = lake.read_partition(
        closed, "rerate_account_differences", {"billing_period": PERIOD, "rating_version": 2}
    ).to_pylist()
    assert [
        (
            row["account_id"],
            row["usage_charge_before_micros"],
            row["usage_charge_after_micros"],
            row["recurring_charge_before_micros"],
            row["charge_before_micros"],
            row["charge_after_micros"],
            row["difference_micros"],
            row["records_changed"],
            row["tax_before_micros"],
            row["tax_after_micros"],
        )
        for row in differences
    ] == [
        # A1: u1 + u3 + u4 = 1_120_000 -> 1_150_000, plus the 10_000_000 fee. Taxes on
        # 1_150_000: FUSF 426_650 x 34.4% = 146_767.6 -> 146_767, excise 80_500.
        (
            "A1",
            *(1_120_000, 1_150_000, 10_000_000, 11_120_000, 11_150_000, 30_000, 1),
            1_497_578,
            1_276_240 + 146_767 + 80_500,
        ),
        # A2: u2 60_000 -> 90_000, plus the 3_100_000 fee; taxes on 90_000: FUSF 33_390 x
        # 34.4% = 11_486.16 -> 11_486, excise 6_300. A3 did not change.
        (
            "A2",
            *(60_000, 90_000, 3_100_000, 3_160_000, 3_190_000, 30_000, 1),
            407_491,
            395_634 + 11_486 + 6_300,
        ),
    ]
    assert {row["rerate_run_id"] for row in differences} == {result.rerate_run_id}

    assert (result.previous_version, result.rating_version) == (1, 2)
    assert (result.records_changed, result.accounts_changed) == (2, 2)
    assert (result.usage_charge_before_micros, result.usage_charge_after_micros) == (
        1_880_000,
        1_940_000,
    )
    assert result.recurring_charge_before_micros == result.recurring_charge_after_micros
    # A3: fee FUSF 1_276_240; u5 700_000 -> FUSF 259_700 x 34.4% = 89_336.8 -> 89_336,
    # excise 49_000: 1_414_576, unchanged.
    a3 = 1_276_240 + 89_336 + 49_000
    assert (result.tax_before_micros, result.tax_after_micros) == (
        1_497_578 + 407_491 + a3,
        1_276_240 + 146_767 + 80_500 + 395_634 + 11_486 + 6_300 + a3,
    )
    # The new version's tax lines are in place, the old ones kept with version 1.
    old_taxes = read_version(closed, "tax_lines", PERIOD, 1).to_pylist()
    assert sum(line["tax_micros"] for line in old_taxes) == result.tax_before_micros
    period = read_period(closed, PERIOD)
    assert period is not None
    assert (period["period_state"], period["rating_version"]) == ("closed", 2)


def test_the_rerate_is_audited(closed):
    correct_us_peak_price(closed)
    result = rerate_period(closed, PERIOD, "ticket 42: US peak is 0.09", "alice", RERATED_AT)
    [audit] = lake.read_partition(
        closed, "rerate_runs", {"billing_period": PERIOD, "rating_version": 2}
    ).to_pylist()
    assert audit["rerate_run_id"] == result.rerate_run_id == "rerate/2024-07/v2"
    assert (audit["rerated_by"], audit["rerated_at"], audit["reason"]) == (
        "alice",
        RERATED_AT,
        "ticket 42: US peak is 0.09",
    )
    assert (audit["usage_records_before"], audit["usage_records_after"]) == (5, 5)
    assert (audit["suspense_records_before"], audit["suspense_records_after"]) == (0, 0)
    assert (audit["usage_charge_before_micros"], audit["usage_charge_after_micros"]) == (
        1_880_000,
        1_940_000,
    )
    before = json.loads(audit["reference_checksums_before"])
    after = json.loads(audit["reference_checksums_after"])
    assert sorted(name for name in before if before[name] != after[name]) == ["rate_deck.csv"]


def test_the_previous_version_stays_readable(closed):
    correct_us_peak_price(closed)
    rerate_period(closed, PERIOD, "ticket 42", "alice", RERATED_AT)
    old = usage_charges(read_version(closed, "rated_usage", PERIOD, 1).to_pylist())
    new = usage_charges(read_version(closed, "rated_usage", PERIOD, 2).to_pylist())
    assert (old["u1"], new["u1"]) == (60_000, 90_000)
    # What the marts read (the lake_glob of dbt's rated_usage source) is the new version only.
    glob = closed.lake / "rated_usage" / "*" / "*" / lake.PART_FILE
    with duckdb.connect() as con:
        marts_see = con.execute(
            f"select usage_id, charge_micros from read_parquet('{glob}') order by usage_id"
        ).fetchall()
        kept = closed.lake / "rated_usage_versions" / "*" / "*" / lake.PART_FILE
        versions = con.execute(
            f"select rating_version, sum(charge_micros) from read_parquet('{kept}') group by all"
        ).fetchall()
    assert dict(marts_see) == new
    assert versions == [(1, 1_880_000)]


def test_a_rerate_with_unchanged_reference_data_changes_no_record(closed):
    result = rerate_period(closed, PERIOD, "audit check", "bob", RERATED_AT)
    assert (result.rating_version, result.records_changed, result.accounts_changed) == (2, 0, 0)
    assert read_version(closed, "rated_usage", PERIOD, 1) == read_version(
        closed, "rated_usage", PERIOD, 2
    )


def test_an_interrupted_rerate_finishes_from_the_kept_version(closed, monkeypatch):
    correct_us_peak_price(closed)

    def crash(*args, **kwargs):
        raise RuntimeError("killed after rating")

    # Crash after the new version is rated, before its audit row: the period still says 1.
    monkeypatch.setattr(rerate, "account_differences", crash)
    with pytest.raises(RuntimeError, match="killed"):
        rerate_period(closed, PERIOD, "ticket 42", "alice", RERATED_AT)
    monkeypatch.undo()
    assert read_period(closed, PERIOD) == {**read_period(closed, PERIOD), "rating_version": 1}
    result = rerate_period(closed, PERIOD, "ticket 42", "alice", RERATED_AT)
    assert (result.rating_version, result.records_changed) == (2, 2)
    assert result.usage_charge_before_micros == 1_880_000


def test_a_closed_period_is_not_taxed_again_outside_a_rerate(closed):
    with pytest.raises(PeriodStateError, match="is closed"):
        tax_period(closed, PERIOD)


def test_only_a_closed_period_is_rerated(tmp_path):
    data = build_operator(tmp_path)
    rate_period(data, PERIOD)
    with pytest.raises(PeriodStateError, match="not closed"):
        rerate_period(data, PERIOD, "ticket 42", "alice")
    with pytest.raises(ValueError, match="reason"):
        rerate_period(data, PERIOD, " ", "alice")
