"""Wholesale rating of interconnect legs on the three carriers of three_carriers.py: a
number ported mid-month, a deck repriced mid-month. Every expected amount is worked out by
hand beside its call there.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import polars as pl
import pytest
from three_carriers import CALLS, CARRIERS, DECKS, PORTED_NUMBER, TRUNKS, write_reference

from pipelines.config import layout as make_layout
from pipelines.interconnect.agreements import AgreementError, load_agreements
from pipelines.interconnect.legs import rate_legs
from pipelines.rating.stage import local_seconds


@pytest.fixture
def legs(tmp_path: Path) -> dict[str, dict[str, object]]:
    write_reference(tmp_path)
    usage = pl.DataFrame(CALLS).with_columns(local_seconds())
    frame = rate_legs(usage, load_agreements(make_layout(tmp_path)))
    return {row["usage_id"]: row for row in frame.iter_rows(named=True)}


def test_each_leg_priced_with_its_carriers_deck(legs: dict[str, dict[str, object]]) -> None:
    got = {
        usage_id: (
            leg["leg_direction"],
            leg["carrier_id"],
            leg["destination_prefix"],
            leg["billable_seconds"],
            leg["amount_micros"],
            leg["rating_status"],
        )
        for usage_id, leg in legs.items()
    }
    assert got == {
        "u01": ("outbound", "C-LEC", "1", 66, 4_400, "rated"),
        "u02": ("outbound", "C-MOB", "1312998", 66, 5_700, "rated"),
        "u03": ("outbound", "C-MOB", "1", 30, 4_500, "rated"),
        "u04": ("outbound", "C-MOB", "1", 12, 1_800, "rated"),
        "u05": ("outbound", "C-INTL", "44", 100, 20_000, "rated"),
        "u06": ("outbound", "C-INTL", "44", 100, 16_700, "rated"),
        "u07": ("outbound", "C-INTL", "447", 48, 36_000, "rated"),
        "u08": ("inbound", "C-LEC", "1", 90, 3_800, "rated"),
        "u10": ("outbound", "C-INTL", None, 0, 0, "suspense"),
        "u11": ("outbound", None, None, 0, 0, "suspense"),
        "u12": ("outbound", "C-MOB", "1312998", 12, 1_100, "rated"),
        "u13": ("outbound", "C-INTL", "44", 600, 120_000, "rated"),
    }
    assert legs["u10"]["suspense_reason"] == "no_rate_for_destination"
    assert legs["u11"]["suspense_reason"] == "no_carrier_for_trunk"


def test_ported_number_rated_on_its_lrn_from_its_port_date(
    legs: dict[str, dict[str, object]],
) -> None:
    before, after, expired = legs["u01"], legs["u02"], legs["u04"]
    assert (before["ported"], before["rated_number"], before["terminating_spid"]) == (
        False,
        PORTED_NUMBER,
        "7101",
    )
    assert (after["ported"], after["rated_number"], after["terminating_spid"]) == (
        True,
        "13129980000",
        "7202",
    )
    assert (expired["ported"], expired["terminating_spid"]) == (False, "7101")
    # International and inbound legs have no portable terminating network.
    assert legs["u05"]["terminating_spid"] is None
    assert legs["u08"]["terminating_spid"] is None


def test_deck_version_follows_the_local_start_date(legs: dict[str, dict[str, object]]) -> None:
    assert legs["u05"]["tariff_version"] == "C-INTL/termination/44/2024-01-01"
    assert legs["u05"]["event_date"] == date(2024, 7, 15)
    assert legs["u06"]["tariff_version"] == "C-INTL/termination/44/2024-07-16"
    assert (legs["u05"]["price_micros"], legs["u06"]["price_micros"]) == (12_000, 10_000)


def test_agreement_files_are_checked(tmp_path: Path) -> None:
    overlapping = DECKS + "C-LEC,termination,1,United States,domestic,3000,6,6,2024-06-01,\n"
    write_reference(tmp_path, **{"interconnect_rates.csv": overlapping})
    with pytest.raises(AgreementError, match="line 9: C-LEC/termination/1 overlaps"):
        load_agreements(make_layout(tmp_path))
    write_reference(tmp_path, **{"trunk_groups.csv": TRUNKS + "TG-X,C-NOPE,outgoing\n"})
    with pytest.raises(AgreementError, match=r"trunk_groups\.csv line 6: carrier_id is not in"):
        load_agreements(make_layout(tmp_path))
    bad_rounding = CARRIERS.replace("half_up,4,500000", "nearest,4,500000")
    write_reference(tmp_path, **{"carriers.csv": bad_rounding, "trunk_groups.csv": TRUNKS})
    with pytest.raises(AgreementError, match=r"carriers\.csv line 2: rounding_method"):
        load_agreements(make_layout(tmp_path))
