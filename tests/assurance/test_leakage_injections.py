"""The generator's zero_rated_usage and roaming_not_passed_on injections, end to end on the
DAG test's tiny operator: the files it lands, mediated and rated, against the ground truth
(manifest/leakage.json). Expectations are read from the reference files, the landed files
and the lake, not from pipelines/generate/leakage.py."""

from __future__ import annotations

import csv
import json
from datetime import date, datetime
from zoneinfo import ZoneInfo

import polars as pl
import pytest
from generated_operator import mediate_period

from pipelines import lake
from pipelines.config import Layout
from pipelines.generate.operator import generate_operator
from pipelines.mediation import tap3
from pipelines.mediation.records import ParsedRecord
from pipelines.rating.stage import rate_period
from pipelines.tariffs.catalog_files import load_catalog
from pipelines.tariffs.model import roaming_zone

SEED, SUBSCRIBERS, PERIOD, DAYS = 11, 30, "2026-10", 2
FEEDS = ("tap3", "ts32298_ber")
#: The Isle of Man mobile range (+44 7624) and the partner in no roaming zone.
ZERO_PRICED_PREFIX = "447624"
UNZONED = "BRAZ1"


@pytest.fixture(scope="module")
def operator(tmp_path_factory: pytest.TempPathFactory) -> Layout:
    layout = Layout(tmp_path_factory.mktemp("leakage-injections") / "data")
    generate_operator(layout, seed=SEED, subscribers=SUBSCRIBERS, month=PERIOD, days=DAYS)
    mediate_period(layout, PERIOD, FEEDS)
    rate_period(layout, PERIOD)
    return layout


@pytest.fixture(scope="module")
def truth(operator: Layout) -> dict[str, list[dict]]:
    return json.loads((operator.manifest / "leakage.json").read_text(encoding="utf-8"))["cases"]


@pytest.fixture(scope="module")
def rated(operator: Layout) -> pl.DataFrame:
    frame = pl.from_arrow(lake.read_table(operator, "rated_usage", {"billing_period": PERIOD}))
    assert isinstance(frame, pl.DataFrame)
    return frame


def _rows(layout: Layout, name: str) -> list[dict[str, str]]:
    with (layout.reference / name).open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def test_the_price_list_has_no_row_for_the_range_the_catalog_prices_at_zero(
    operator: Layout,
) -> None:
    deck = _rows(operator, "rate_deck.csv")
    assert not [r for r in deck if r["prefix"] == ZERO_PRICED_PREFIX]
    catalog = load_catalog(operator.reference / "tariff_catalog")
    destination = catalog.destinations[f"RD-MOBILE/{ZERO_PRICED_PREFIX}"]
    assert destination.prefixes == (ZERO_PRICED_PREFIX,)
    entries = [
        catalog.rates[entry.rate_id]
        for table, rows in catalog.destination_rates.items()
        if table.startswith("RD-MOBILE/voice/")
        for entry in rows
        if entry.destination_id == destination.destination_id
    ]
    assert len(entries) == 2  # peak and offpeak
    assert all(slot.price_micros == 0 for rate in entries for slot in rate.slots)


def test_zero_priced_calls_are_rated_at_zero_and_priced_at_the_rate_deck(
    operator: Layout, truth: dict, rated: pl.DataFrame
) -> None:
    calls = rated.filter(pl.col("other_party_number").str.starts_with(ZERO_PRICED_PREFIX))
    cases = {case["key"]: case for case in truth["zero_rated_usage"]}
    # Three lines call the range on a two-day window (both business days).
    assert len(cases) == 3
    assert calls.height == sum(case["records"] for case in cases.values())
    # The control's independent price: rate_deck.csv's average positive peak price per
    # second of international voice, over both decks.
    deck = [
        int(r["price_micros"]) / int(r["price_unit"])
        for r in _rows(operator, "rate_deck.csv")
        if (r["service"], r["destination_group"], r["time_band"])
        == ("voice", "international", "peak")
        and int(r["price_micros"]) > 0
    ]
    per_second = sum(deck) / len(deck)
    zone = ZoneInfo("America/Chicago")
    for subscriber_id, own in calls.group_by("subscriber_id"):
        case = cases[f"{subscriber_id[0]}:{ZERO_PRICED_PREFIX}"]
        assert own.height == case["records"]
        for call in own.to_dicts():
            assert (call["rating_status"], call["charge_micros"]) == ("rated", 0)
            assert call["allowance_units"] in (0, None)
            # The first minute, then each second; daytime on a weekday: peak.
            assert call["chargeable_units"] == max(60, call["duration_seconds"])
            local: datetime = call["started_at"].astimezone(zone)
            assert local.weekday() < 5 and 9 <= local.hour < 17
            assert call["time_band"] == "peak"
        seconds = int(own["chargeable_units"].sum())
        assert case["billed_seconds"] == seconds
        assert case["amount_micros"] == round(seconds * per_second) > 0
    # Normal traffic never dials the range: only the injected lines' calls are there.
    assert set(calls["subscriber_id"]) == {key.split(":")[0] for key in cases}


def test_the_unzoned_partner_is_an_agreement_in_no_retail_zone(operator: Layout) -> None:
    partners = {r["tadig"]: r for r in _rows(operator, "roaming_partners.csv")}
    assert partners[UNZONED]["plmn_ids"] == "72499"
    iot = [r for r in _rows(operator, "roaming_iot_rates.csv") if r["tadig"] == UNZONED]
    assert {r["direction"] for r in iot} == {"payable", "receivable"}
    catalog = load_catalog(operator.reference / "tariff_catalog")
    assert roaming_zone(catalog, UNZONED) is None
    assert all(roaming_zone(catalog, tadig) for tadig in partners if tadig != UNZONED)


def test_usage_on_the_unzoned_partner_is_paid_for_but_in_suspense(
    operator: Layout, truth: dict, rated: pl.DataFrame
) -> None:
    landed = sorted((operator.landing / "tap3" / UNZONED).glob("*.tap"))
    assert landed
    # What the partner charges for the events rating would charge the customer for:
    # outbound calls and SMS, and data (received ones are free abroad as at home).
    expected: dict[str, int] = {}
    counts: dict[str, int] = {}
    for path in landed:
        data = path.read_bytes()
        batch = tap3.read_batch(data)
        assert batch.audit_mismatches() == []
        items = list(tap3.decode_events(data))
        for item, event in zip(items, batch.events, strict=True):
            assert isinstance(item, ParsedRecord)
            if item.values["record_type"] in ("voice_mt", "sms_mt") or event.charge_micros <= 0:
                continue
            imsi = item.values["served_imsi"]
            expected[f"{UNZONED}|{imsi}"] = expected.get(f"{UNZONED}|{imsi}", 0) + int(
                event.charge_micros
            )
            counts[f"{UNZONED}|{imsi}"] = counts.get(f"{UNZONED}|{imsi}", 0) + 1
    cases = {case["key"]: case for case in truth["roaming_not_passed_on"]}
    assert {k: c["amount_micros"] for k, c in cases.items()} == expected
    assert {k: c["records"] for k, c in cases.items()} == counts
    abroad = rated.filter(
        (pl.col("feed") == "tap3") & pl.col("record_key").str.starts_with(f"{UNZONED}:")
    )
    outbound = abroad.filter(pl.col("direction") != "inbound")
    assert outbound.height == sum(counts.values())
    assert set(outbound["rating_status"]) == {"suspense"}
    assert set(outbound["suspense_reason"]) == {"no_roaming_zone"}
    # The traveller is abroad on its trip's days: none of its usage is at home then.
    [trip] = [
        t
        for t in json.loads((operator.manifest / "anomalies.json").read_text())["roaming"][
            "travellers"
        ]
        if t["tadig"] == UNZONED
    ]
    at_home = rated.filter(
        (pl.col("feed") == "ts32298_ber") & (pl.col("served_imsi") == trip["imsi"])
    )
    first, last = date.fromisoformat(trip["first_day"]), date.fromisoformat(trip["last_day"])
    assert not [d for d in at_home["event_date"].to_list() if first <= d <= last]
