"""The volume operator's reference data (issue #10): the pipeline rates and taxes against
it, the numbers traffic calls route as interconnect rating finds them, identities are
unique and valid, the generator's shares hold, number tables stay bounded, and the same
arguments write the same bytes.

Checks read the written files back and judge them with the pipeline's own stages and
loaders, libphonenumber and the per-object generator's constants.
"""

from __future__ import annotations

import math
import re
from datetime import date
from pathlib import Path

import numpy as np
import phonenumbers
import polars as pl
import pytest

from pipelines import lake
from pipelines.config import Layout
from pipelines.generate.catalog import PLANS_BY_ID
from pipelines.generate.customers import (
    ACCOUNT_CLASS_SHARES,
    ACTIVATED_IN_MONTH_SHARE,
    BROADBAND_PLANS,
    CANCELLED_IN_MONTH_SHARE,
    CITIES,
    CONSUMER_LINES,
    CONSUMER_MOBILE_PLANS,
    SERVICE_SHARES,
    SUSPENDED_SHARE,
    TV_PLANS,
    quota_counts,
)
from pipelines.generate.porting import LEC, MOBILE, PORTED_BACK_SHARE, PORTED_SHARE
from pipelines.generate.tables import REFERENCE_COLUMNS
from pipelines.generate.volume import reference_numbers, write_volume_reference
from pipelines.generate.volume.reference_columns import id_width, identifiers
from pipelines.generate.volume.reference_numbers import LINES_PER_CELL, valid_blocks
from pipelines.interconnect.agreements import (
    block_holder,
    load_agreements,
    load_number_blocks,
    load_ported_numbers,
    ported_on_the_day,
)
from pipelines.rating.stage import rate_period
from pipelines.reference import require_reference
from pipelines.taxes.stage import tax_period

PERIOD = "2026-10"
MONTH_START, MONTH_END = date(2026, 10, 1), date(2026, 10, 31)
SMALL, LARGE = 2_000, 50_000


def _csv(layout: Layout, name: str) -> pl.DataFrame:
    return pl.read_csv(layout.reference / name, infer_schema=False)


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> Layout:
    layout = Layout(tmp_path_factory.mktemp("volume-small"))
    write_volume_reference(layout, subscribers=SMALL, month=PERIOD)
    return layout


@pytest.fixture(scope="module")
def large(tmp_path_factory: pytest.TempPathFactory) -> Layout:
    layout = Layout(tmp_path_factory.mktemp("volume-large"))
    write_volume_reference(layout, subscribers=LARGE, month=PERIOD)
    return layout


def test_every_file_of_the_generator_with_its_documented_header(small: Layout) -> None:
    require_reference(small)
    written = {p.name for p in small.reference.glob("*.csv")}
    assert set(REFERENCE_COLUMNS) <= written
    for name, columns in REFERENCE_COLUMNS.items():
        header = (small.reference / name).read_text(encoding="utf-8").splitlines()[0]
        assert header.split(",") == list(columns), name


def test_the_pipeline_rates_and_taxes_a_month_against_it(small: Layout) -> None:
    """Rating (catalog, lines, CRM history, recurring fees, interconnect agreements) and
    the tax stage of the bill run (tax areas, classes, credits, installments, promotions,
    invoices and receivables) read every file without a complaint."""
    rating = rate_period(small, PERIOD, bucket_count=1)
    subscribers = _csv(small, "subscribers.csv")
    fees = {plan_id: plan.monthly_fee_micros for plan_id, plan in PLANS_BY_ID.items()}
    paying = {s for s, plan in subscribers.select("subscriber_id", "plan_id").iter_rows()
              if fees[plan] > 0}  # fmt: skip
    charges = lake.read_table(small, "recurring_charges", {"billing_period": PERIOD})
    assert paying <= set(charges["subscriber_id"].to_pylist())
    assert rating.recurring_charge_micros > 0

    taxes = tax_period(small, PERIOD)
    assert taxes.untaxed_by_status == {}
    assert taxes.taxed == taxes.charges > 0
    assert taxes.invoices == _csv(small, "accounts.csv").height
    # The generator's $40 goodwill credit above its agent's $10 limit is held; the rest apply.
    assert taxes.adjustments_held == 1


def test_called_numbers_route_as_interconnect_rating_finds_them(small: Layout) -> None:
    """Numbers drawn in the listed blocks, as traffic draws them, and the ported numbers
    are valid, not ours, and served by a network we interconnect with, as interconnect
    rating finds it: a number ported away by the other network than its block's holder,
    one ported and back by the holder again."""
    blocks, ported = load_number_blocks(small), load_ported_numbers(small)
    rng = np.random.default_rng(6)
    drawn = [f"{prefix}{rng.integers(10_000):04d}"
             for prefix in rng.choice(blocks["prefix"].to_numpy(), 500).tolist()]  # fmt: skip
    numbers = pl.Series([*drawn, *ported["number"]])
    for number in [*drawn, *ported["number"].sample(200, seed=7)]:
        assert phonenumbers.is_valid_number(phonenumbers.parse("+" + number)), number
    holder = block_holder(numbers, blocks)
    assert holder.null_count() == 0
    calls = pl.DataFrame({"row": range(numbers.len()), "number": numbers}).with_columns(
        pl.lit(MONTH_START).alias("event_date")
    )
    now = calls.join(ported_on_the_day(calls, ported), on="row", how="left").sort("row")
    serving = now["ported_spid"].fill_null(holder)
    carriers = set(load_agreements(small).carriers["spid"])
    assert set(serving) <= carriers and set(serving) == {LEC.spid, MOBILE.spid}
    is_ported = pl.Series([False] * len(drawn) + [True] * ported.height)
    away = is_ported & pl.Series([None] * len(drawn) + ported["effective_to"].to_list()).is_null()
    assert (serving != holder).to_list() == away.to_list()

    called = 3 * SMALL + 50
    assert abs(away.sum() / called - PORTED_SHARE) < 0.015
    assert abs((ported.height - away.sum()) / called - PORTED_BACK_SHARE) < 0.01
    own = _csv(small, "subscribers.csv")["msisdn"].drop_nulls()
    assert not {n[:7] for n in own} & set(blocks["prefix"])
    assert not set(own) & set(ported["number"])
    # The mobile network's termination deck prices exactly the blocks it holds.
    deck = load_agreements(small).deck.filter(
        (pl.col("carrier_id") == "CR-MOB") & (pl.col("destination_group") == "domestic_mobile")
    )
    assert set(deck["prefix"]) == set(blocks.filter(pl.col("spid") == MOBILE.spid)["prefix"])


def test_the_same_arguments_write_the_same_bytes(small: Layout, tmp_path: Path) -> None:
    again = Layout(tmp_path / "again")
    write_volume_reference(again, subscribers=SMALL, month=PERIOD)
    first = sorted(p for p in small.reference.rglob("*") if p.is_file())
    second = sorted(p for p in again.reference.rglob("*") if p.is_file())
    assert [p.relative_to(small.root) for p in first] == [p.relative_to(again.root) for p in second]
    for a, b in zip(first, second, strict=True):
        assert a.read_bytes() == b.read_bytes(), a.name
    other = Layout(tmp_path / "other")
    write_volume_reference(other, subscribers=SMALL, seed=8, month=PERIOD)
    assert (other.reference / "subscribers.csv").read_bytes() != (
        small.reference / "subscribers.csv"
    ).read_bytes()


def test_identities_are_unique_and_valid(large: Layout) -> None:
    accounts, subscribers = _csv(large, "accounts.csv"), _csv(large, "subscribers.csv")
    for frame, column, pattern in (
        (accounts, "account_id", r"ACC\d{6}"),
        (subscribers, "subscriber_id", r"SUB\d{6}"),
        (subscribers, "msisdn", r"1[2-9]\d{2}[2-9]\d{6}"),
        (subscribers, "imsi", r"310260\d{9}"),
    ):
        values = frame[column].drop_nulls()
        assert values.is_unique().all(), column
        assert values.str.contains(f"^{pattern}$").all(), column
    numbered = subscribers.filter(pl.col("service_type").is_in(["mobile", "fixed_voip"]))
    assert numbered["msisdn"].null_count() == 0
    assert subscribers.filter(pl.col("service_type") == "mobile")["imsi"].null_count() == 0

    # Each number in its account's city's area codes, valid for libphonenumber.
    addresses = _csv(large, "service_addresses.csv")
    codes = {city.city: city.area_codes for city in CITIES}
    located = numbered.join(addresses, on="service_address_id")
    assert all(n[1:4] in codes[c] for n, c in located.select("msisdn", "city").iter_rows())
    for number in located["msisdn"].sample(2_000, seed=2):
        assert phonenumbers.is_valid_number(phonenumbers.parse("+" + number)), number

    mobile = subscribers.filter(pl.col("service_type") == "mobile")
    hlr = _csv(large, "hlr_snapshot.csv")
    in_hlr = mobile.filter(pl.col("status") != "cancelled")
    assert sorted(hlr["imsi"]) == hlr["imsi"].to_list() == sorted(in_hlr["imsi"])
    barred = set(hlr.filter(pl.col("provisioning_status") == "barred")["imsi"])
    assert barred == set(in_hlr.filter(pl.col("status") == "suspended")["imsi"])


def _shares(values: pl.Series) -> dict[str, float]:
    return {str(k): n / values.len() for k, n in values.value_counts().iter_rows()}


def _close(actual: dict[str, float], expected: dict[str, float], tolerance: float) -> None:
    assert set(actual) == set(map(str, expected))
    for key, share in expected.items():
        assert abs(actual[str(key)] - share) < tolerance, (key, actual[str(key)], share)


def test_the_generators_shares_hold_at_scale(large: Layout) -> None:
    accounts, subscribers = _csv(large, "accounts.csv"), _csv(large, "subscribers.csv")
    _close(_shares(accounts["account_class"]), ACCOUNT_CLASS_SHARES, 0.01)
    cities = accounts.join(_csv(large, "service_addresses.csv"), on="service_address_id")
    weight = sum(c.weight for c in CITIES)
    _close(_shares(cities["city"]), {c.city: c.weight / weight for c in CITIES}, 0.012)

    lines = subscribers.join(accounts, on="account_id")
    per_account = lines.group_by("account_id", "account_class").len()
    by_class = {c: per_account.filter(pl.col("account_class") == c)["len"]
                for c in ACCOUNT_CLASS_SHARES}  # fmt: skip
    assert set(by_class["lifeline"]) == {1}
    _close(_shares(by_class["consumer"]), CONSUMER_LINES, 0.015)
    # Business and government accounts hold 2-5 lines (the last one drawn, what is left).
    organisations = pl.concat([by_class["business"], by_class["government"]])
    assert (organisations.is_between(2, 5)).sum() >= organisations.len() - 1

    counts = subscribers["service_type"].value_counts()
    assert dict(counts.iter_rows()) == quota_counts(SERVICE_SHARES, LARGE)
    plan_of = lines.group_by("service_type", "account_class").agg(pl.col("plan_id").unique())
    fixed = {(t, c): sorted(p) for t, c, p in plan_of.iter_rows()}
    assert fixed[("mobile", "lifeline")] == ["MOB-LIFELINE"]
    assert {key for key in fixed if key[1] == "lifeline"} == {("mobile", "lifeline")}
    assert fixed[("mobile", "business")] == fixed[("mobile", "government")] == ["MOB-BIZ20"]
    assert fixed[("fixed_voip", "consumer")] == ["VOIP-HOME"]
    assert fixed[("fixed_voip", "business")] == ["VOIP-BIZ"]
    consumer_mobile = lines.filter(
        (pl.col("service_type") == "mobile") & (pl.col("account_class") == "consumer")
    )
    _close(_shares(consumer_mobile["plan_id"]), CONSUMER_MOBILE_PLANS, 0.015)
    for service, mix in (("broadband", BROADBAND_PLANS), ("tv", TV_PLANS)):
        _close(_shares(lines.filter(pl.col("service_type") == service)["plan_id"]), mix, 0.025)

    activated = subscribers["activated_date"].str.to_date()
    new = (activated >= MONTH_START).mean()
    cancelled = (subscribers["status"] == "cancelled").mean()
    suspended = (subscribers["status"] == "suspended").mean()
    assert isinstance(new, float) and isinstance(cancelled, float)
    assert isinstance(suspended, float)
    assert abs(new - ACTIVATED_IN_MONTH_SHARE) < 0.005
    assert abs(cancelled - CANCELLED_IN_MONTH_SHARE) < 0.005
    assert abs(suspended - SUSPENDED_SHARE) < 0.003


def test_crm_orders_and_billing_references_follow_the_lines(large: Layout) -> None:
    subscribers = _csv(large, "subscribers.csv")
    orders = _csv(large, "crm_orders.csv")
    assert orders["order_id"].is_unique().all()
    kinds = orders.group_by("order_type").len()
    expected = {
        "activation": subscribers.height,
        "cancellation": (subscribers["status"] == "cancelled").sum(),
        "suspension": (subscribers["status"] == "suspended").sum(),
    }
    assert {k: n for k, n in kinds.iter_rows() if k != "plan_change"} == expected
    # Lines on the retired plan are about 30% of consumer mobile lines activated by 2025.
    retired = orders.filter(pl.col("plan_id") == "MOB-5GB-2023")
    assert retired["order_type"].unique().to_list() == ["activation"]
    changed = orders.filter(
        (pl.col("order_type") == "plan_change") & (pl.col("order_status") == "completed")
    )
    assert set(changed["subscriber_id"]) == set(retired["subscriber_id"])

    numbered = subscribers["msisdn"].drop_nulls().len()
    ports = _csv(large, "port_requests.csv")
    port_ins = (ports["direction"] == "port_in").sum()
    assert abs(port_ins / numbered - 0.05) < 0.006
    assert ports.filter(pl.col("request_status") == "pending").height == 2
    installments = _csv(large, "device_installments.csv")
    mobile = (subscribers["service_type"] == "mobile").sum()
    assert abs(installments.height / mobile - 0.15) < 0.015
    opening = _csv(large, "opening_balances.csv")
    accounts = _csv(large, "accounts.csv").height
    assert accounts < opening.height < accounts * 1.07
    payments = _csv(large, "payments.csv")
    assert payments["payment_id"].is_unique().all()
    assert set(payments["account_id"]) <= set(opening["account_id"])
    scores = _csv(large, "churn_scores.csv")["churn_score"].cast(pl.Float64)
    assert scores.len() == accounts and (scores >= 0.75).sum() == 1


def test_number_tables_and_cells_stay_bounded(large: Layout, tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    called = 3 * LARGE + 50
    assert _csv(large, "number_blocks.csv").height <= 19 * 800
    ported = _csv(large, "ported_numbers.csv").height
    assert abs(ported / called - PORTED_SHARE - PORTED_BACK_SHARE) < 0.01

    # Cells: one per LINES_PER_CELL mobile lines of a city (20 at least), in its
    # location areas.
    sites = _csv(large, "cell_sites.csv")
    assert sites["cell_id"].is_unique().all()
    mobile = _csv(large, "subscribers.csv").filter(pl.col("service_type") == "mobile")
    located = mobile.join(_csv(large, "service_addresses.csv"), on="service_address_id")
    for city in CITIES:
        lines = located.filter(pl.col("city") == city.city).height
        cells = sites.filter(pl.col("city") == city.city)["cell_id"]
        assert cells.len() == max(20, math.ceil(lines / LINES_PER_CELL)), city.city
        areas = cells.str.split("-").list.get(2).cast(pl.Int64)
        assert areas.is_between(city.location_area, city.location_area + 19).all()

    # Past the cap the called numbers, so the porting database, stop growing.
    monkeypatch.setattr(reference_numbers, "DOMESTIC_POOL_MAX", 1_000)
    capped = Layout(tmp_path)
    write_volume_reference(capped, subscribers=500, month=PERIOD)
    assert 60 < _csv(capped, "ported_numbers.csv").height < 140
    assert _csv(capped, "number_blocks.csv").height <= 1_000 + 2  # and the two LRN blocks


def test_blocks_hold_only_valid_numbers() -> None:
    rng = np.random.default_rng(5)
    blocks = valid_blocks("312")
    assert 1312555 not in blocks and 1312299 not in blocks  # 555, the LEC's LRN block
    for block in rng.choice(blocks, size=300).tolist():
        number = f"{block}{int(rng.integers(10_000)):04d}"
        assert phonenumbers.is_valid_number(phonenumbers.parse("+" + number)), number
    assert re.fullmatch(r"1312[2-9]\d\d", str(blocks[0]))


def test_identifiers_widen_past_a_million_on_every_row() -> None:
    assert identifiers("SUB", np.array([1, 42]), id_width(999_999)).to_list() == [
        "SUB000001",
        "SUB000042",
    ]
    width = id_width(1_000_000)
    assert identifiers("SUB", np.array([1, 1_000_000]), width).to_list() == [
        "SUB0000001",
        "SUB1000000",
    ]
