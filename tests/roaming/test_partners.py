"""The roaming reference files are read as documented and refused, naming the line, when
they cannot be used; a visitor is told by its IMSI on our network only."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from pipelines.config import Layout
from pipelines.roaming.partners import (
    ReferenceFileError,
    load_iot_rates,
    load_partners,
    visited_partner,
)

HEADER = (
    "tadig,partner_name,country,plmn_ids,tap_currency,tap_decimal_places,"
    "settlement_currency,settlement_period\n"
)
IOT_HEADER = (
    "tadig,direction,service,prefix,destination_name,price_micros,price_unit,"
    "first_increment,increment,effective_from,effective_to\n"
)
MEX = "MEXZ1,Meseta Movil,MX,334990;334991,USD,3,USD,monthly\n"


def layout_with(tmp_path: Path, partners: str, rates: str | None = None) -> Layout:
    layout = Layout(tmp_path)
    layout.reference.mkdir(parents=True, exist_ok=True)
    (layout.reference / "roaming_partners.csv").write_text(HEADER + partners)
    if rates is not None:
        (layout.reference / "roaming_iot_rates.csv").write_text(IOT_HEADER + rates)
    return layout


def test_no_files_no_partners(tmp_path: Path) -> None:
    layout = Layout(tmp_path)
    assert load_partners(layout) == {}
    assert load_iot_rates(layout, {}).is_empty()


def test_partners_and_rates_are_typed(tmp_path: Path) -> None:
    layout = layout_with(
        tmp_path,
        "DEUZ1,Rheinland Funk,DE,26299,EUR,5,EUR,monthly\n",
        "DEUZ1,receivable,data,,Data,7000,1048576,1024,1024,2019-01-01,2026-10-14\n"
        "DEUZ1,receivable,data,,Data,6000,1048576,1024,1024,2026-10-15,\n",
    )
    partners = load_partners(layout)
    assert partners["DEUZ1"].plmn_ids == ("26299",)
    assert partners["DEUZ1"].tap_decimal_places == 5
    rates = load_iot_rates(layout, partners)
    assert rates["price_micros"].to_list() == [7000, 6000]
    assert rates["effective_to"].null_count() == 1


@pytest.mark.parametrize(
    ("partners", "message"),
    [
        ("MEXZ1,Meseta Movil,MX,,USD,3,USD,monthly\n", "are not MCC\\+MNC"),
        (MEX + "MEXZ2,Other,MX,33499,USD,3,USD,monthly\n", "PLMN 33499 overlaps 334990"),
        ("mexz1,Meseta Movil,MX,334990,USD,3,USD,monthly\n", "not a TADIG code"),
        ("MEXZ1,Meseta Movil,MX,334990,usd,3,USD,monthly\n", "tap_currency 'usd'"),
        ("MEXZ1,Meseta Movil,MX,334990,USD,7,USD,monthly\n", "must be 0..6"),
        (MEX + MEX, "listed twice"),
    ],
)
def test_unusable_partners_are_refused(tmp_path: Path, partners: str, message: str) -> None:
    with pytest.raises(ReferenceFileError, match=message):
        load_partners(layout_with(tmp_path, partners))


@pytest.mark.parametrize(
    ("rates", "message"),
    [
        ("CANZ1,receivable,data,,Data,1,1,1,1,2019-01-01,\n", "'CANZ1' is not in"),
        ("MEXZ1,incoming,data,,Data,1,1,1,1,2019-01-01,\n", "direction 'incoming'"),
        ("MEXZ1,receivable,mms,,Data,1,1,1,1,2019-01-01,\n", "service 'mms'"),
        ("MEXZ1,receivable,data,+1,Data,1,1,1,1,2019-01-01,\n", "not digits"),
        ("MEXZ1,receivable,data,,Data,1,1,0,1,2019-01-01,\n", "first_increment '0'"),
        ("MEXZ1,receivable,data,,Data,0.5,1,1,1,2019-01-01,\n", "price_micros '0.5'"),
        (
            "MEXZ1,receivable,data,,Data,1,1,1,1,2019-01-01,2026-10-15\n"
            "MEXZ1,receivable,data,,Data,2,1,1,1,2026-10-15,\n",
            "overlap on 2026-10-15",
        ),
    ],
)
def test_unusable_rates_are_refused(tmp_path: Path, rates: str, message: str) -> None:
    layout = layout_with(tmp_path, MEX, rates)
    with pytest.raises(ReferenceFileError, match=message):
        load_iot_rates(layout, load_partners(layout))


def test_a_visitor_is_a_partner_imsi_on_our_network() -> None:
    records = pl.DataFrame(
        {
            "feed": ["ts32298_ber", "ts32298_ber", "tap3", "asterisk_cdr_csv"],
            "served_imsi": ["334990123456789", "310260123456789", "334990123456789", None],
        }
    )
    found = records.select(visited_partner({"334990": "MEXZ1", "26299": "DEUZ1"}))
    # Ours, and a TAP record (our subscriber abroad, whatever its IMSI), are no visitors.
    assert found["visited_partner"].to_list() == ["MEXZ1", None, None, None]
