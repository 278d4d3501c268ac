"""Roaming on the generated operator, end to end: the partners' TAP files it lands, their
mediation, retail rating of our subscribers abroad and of visitors, the bill run, and the
roaming stage. Checks read the files and the lake, not the generator's objects."""

from __future__ import annotations

import csv
import json
import re
from collections import defaultdict
from datetime import datetime
from zoneinfo import ZoneInfo

import polars as pl
import pytest
from generated_operator import mediate_period

from pipelines import lake
from pipelines.config import Layout
from pipelines.generate import generate_operator
from pipelines.mediation import tap3
from pipelines.mediation.records import ParsedRecord
from pipelines.rating.stage import rate_period
from pipelines.roaming import iot
from pipelines.roaming.partners import load_iot_rates, load_partners
from pipelines.roaming.stage import RoamingResult, roaming_period
from pipelines.taxes.stage import tax_period

PERIOD = "2026-10"
#: The feeds that carry roaming: the MSC/PGW (visitors) and TAP (our subscribers abroad).
FEEDS = ("tap3", "ts32298_ber")
#: Retail roaming zone by TADIG country; BRAZ1 is the partner pricing left in no zone (the
#: leakage injection's, docs/generator.md).
ZONES = {"MEX": "americas", "CAN": "americas", "GBR": "europe", "DEU": "europe", "BRA": None}


@pytest.fixture(scope="module")
def operator(tmp_path_factory: pytest.TempPathFactory) -> tuple[Layout, RoamingResult]:
    layout = Layout(tmp_path_factory.mktemp("operator"))
    generate_operator(layout, seed=11, subscribers=40, days=2)
    mediate_period(layout, PERIOD, FEEDS)
    rate_period(layout, PERIOD)
    tax_period(layout, PERIOD)  # issues the invoices
    return layout, roaming_period(layout, PERIOD)


def manifest(layout: Layout) -> dict:
    return json.loads((layout.manifest / "anomalies.json").read_text(encoding="utf-8"))


def table(layout: Layout, name: str, **where: object) -> pl.DataFrame:
    frame = pl.from_arrow(lake.read_table(layout, name, where or None))
    assert isinstance(frame, pl.DataFrame)
    return frame


def test_mediation_accepts_every_tap_file_but_the_negative_one(
    operator: tuple[Layout, RoamingResult],
) -> None:
    layout, _ = operator
    tap_files = manifest(layout)["roaming"]["tap_files"]
    assert len(tap_files) >= 4 and [f["reconciles"] for f in tap_files].count(False) == 1
    registry = {r["file_name"]: r for r in table(layout, "file_registry", feed="tap3").to_dicts()}
    rejects = table(layout, "rejects", feed="tap3")
    sequences = defaultdict(list)
    for tap in tap_files:
        name = tap["file_name"]
        sequence = tap["file_sequence_number"]
        assert re.fullmatch(rf"CD{tap['tadig']}USAZ9{sequence}_\d{{10}}_{sequence}\.tap", name)
        sequences[tap["tadig"]].append(int(sequence))
        entry = registry[name]
        assert (entry["switch_id"], entry["file_status"]) == (tap["tadig"], "processed")
        assert entry["records_in"] == tap["events"] > 0
        if tap["reconciles"]:
            assert entry["records_accepted"] == tap["events"]
        else:
            assert entry["records_rejected"] == tap["events"]
            reasons = rejects.filter(pl.col("file_name") == name)["reason_code"]
            assert reasons.to_list() == ["audit_mismatch"] * tap["events"]
    # Each partner numbers its files 1, 2, ... without a gap.
    assert all(sorted(s) == list(range(1, len(s) + 1)) for s in sequences.values())
    with (layout.reference / "switches.csv").open(encoding="utf-8") as handle:
        tap_switches = {r["switch_id"] for r in csv.DictReader(handle) if r["feed"] == "tap3"}
    assert tap_switches == set(zones_by_tadig(layout))


def zones_by_tadig(layout: Layout) -> dict[str, str | None]:
    return {tadig: ZONES[tadig[:3]] for tadig in load_partners(layout)}


def wall_clock_seconds(moment: datetime, zone: ZoneInfo) -> int:
    local = moment.astimezone(zone).replace(tzinfo=None)
    return int((local - datetime(1970, 1, 1)).total_seconds())


def units(record: dict) -> int:
    """Seconds of a call, one message, bytes of a data session."""
    return {"voice": record["duration_seconds"], "sms": 1}.get(
        record["service"], record["data_volume_bytes"]
    )


def test_partners_charge_their_iot_as_the_kernels_price_it(
    operator: tuple[Layout, RoamingResult],
) -> None:
    # The generator prices each partner's events with plain integer arithmetic; the same
    # events priced by the tariff kernels at the partner's payable IOT cost the same.
    layout, _ = operator
    partners = load_partners(layout)
    rates = load_iot_rates(layout, partners)
    with (layout.reference / "switches.csv").open(encoding="utf-8") as handle:
        zones = {r["switch_id"]: r["timezone"] for r in csv.DictReader(handle)}
    checked = 0
    for tap in manifest(layout)["roaming"]["tap_files"]:
        data = (layout.landing / "tap3" / tap["tadig"] / tap["file_name"]).read_bytes()
        batch = tap3.read_batch(data)
        records = []
        for item in tap3.decode_events(data):
            assert isinstance(item, ParsedRecord)
            records.append(item.values)
        zone = ZoneInfo(zones[tap["tadig"]])
        events = pl.DataFrame(
            {
                "record_type": [r["record_type"] for r in records],
                "other_party_number": [r["other_party_number"] for r in records],
                "local_seconds": [wall_clock_seconds(r["started_at"], zone) for r in records],
                "start_utc_seconds": [int(r["started_at"].timestamp()) for r in records],
                "units": [units(r) for r in records],
            },
            schema_overrides={"other_party_number": pl.String},
        )
        tariff = iot.iot_tariff(partners[tap["tadig"]], rates, range(2025, 2028))
        priced = iot.price_events(tariff, events, "payable")
        assert priced["charge_micros"].to_list() == [e.charge_micros for e in batch.events]
        checked += len(records)
    assert checked == sum(t["events"] for t in manifest(layout)["roaming"]["tap_files"])


def test_our_subscribers_abroad_are_billed_through_roaming_zones(
    operator: tuple[Layout, RoamingResult],
) -> None:
    layout, _ = operator
    travellers = {t["msisdn"]: t for t in manifest(layout)["roaming"]["travellers"]}
    abroad = table(layout, "rated_usage", billing_period=PERIOD).filter(pl.col("feed") == "tap3")
    assert abroad.height > 0
    zones = zones_by_tadig(layout)
    for row in abroad.to_dicts():
        traveller = travellers[row["served_msisdn"]]
        assert row["subscriber_id"] == traveller["subscriber_id"]
        if row["direction"] == "inbound":  # received abroad: free, as at home
            assert row["rating_status"] == "not_billable"
            continue
        zone = zones[row["record_key"].split(":")[0]]
        if zone is None:  # a partner in no zone: nothing to charge the customer by
            assert (row["rating_status"], row["suspense_reason"]) == (
                "suspense",
                "no_roaming_zone",
            ), row
            continue
        assert row["rating_status"] == "rated", row
        assert row["rate_deck_id"] == f"RD-MOBILE/{row['service']}@{zone}"
        assert row["charge_micros"] > 0
    # Their roaming charges reach the bill run with the rest of their usage.
    rated = table(layout, "rated_usage", billing_period=PERIOD).filter(
        pl.col("rating_status") == "rated"
    )
    billed = table(layout, "billed_charges", billing_period=PERIOD).filter(
        pl.col("charge_source") == "usage"
    )
    for subscriber in {t["subscriber_id"] for t in travellers.values()}:
        own = rated.filter(pl.col("subscriber_id") == subscriber)
        charges = billed.filter(pl.col("subscriber_id") == subscriber)
        assert charges["records"].sum() == own.height
        # Each usage charge line is rounded to the cent (docs/billing.md, Rounding).
        difference = charges["amount_micros"].sum() - own["charge_micros"].sum()
        assert abs(difference) <= 5_000 * charges.height


def test_visitors_never_reach_a_customers_invoice(operator: tuple[Layout, RoamingResult]) -> None:
    layout, _ = operator
    visitor_imsis = {v["imsi"] for v in manifest(layout)["roaming"]["visitors"]}
    rated = table(layout, "rated_usage", billing_period=PERIOD)
    visits = rated.filter(pl.col("served_imsi").is_in(sorted(visitor_imsis)))
    assert visits.height > 0
    assert set(visits["rating_status"]) == {"not_billable"}
    assert (
        visits["subscriber_id"].null_count() == visits["account_id"].null_count() == visits.height
    )
    assert visits["charge_micros"].sum() == 0
    # Every billed usage record is a customer's rated one: none of the visitors'.
    usage_charges = table(layout, "billed_charges", billing_period=PERIOD).filter(
        pl.col("charge_source") == "usage"
    )
    assert usage_charges["records"].sum() == rated.filter(pl.col("rating_status") == "rated").height
    assert usage_charges["subscriber_id"].null_count() == 0
    assert table(layout, "invoices", billing_period=PERIOD).height > 0
    # The partners pay for them instead: each visitor record is in roaming_events once.
    receivable = table(layout, "roaming_events", billing_period=PERIOD).filter(
        pl.col("direction") == "receivable"
    )
    assert sorted(receivable["usage_id"]) == sorted(visits["usage_id"])


def test_the_month_settles_and_returns_the_negative_batch(
    operator: tuple[Layout, RoamingResult],
) -> None:
    layout, result = operator
    tap_files = manifest(layout)["roaming"]["tap_files"]
    [negative] = [t for t in tap_files if not t["reconciles"]]
    [returned] = table(layout, "rap_returns", billing_period=PERIOD).to_dicts()
    assert (returned["file_name"], returned["rap_status"]) == (negative["file_name"], "returned")
    rap = (layout.outbound / "rap" / negative["tadig"] / returned["rap_file_name"]).read_bytes()
    _, value = tap3.read_rap(rap)
    [(_, fatal)] = value["returnDetails"]
    assert fatal["fileSequenceNumber"] == negative["file_sequence_number"].encode()
    # Payable: each partner's accepted batches, to the micro.
    settlement = table(layout, "roaming_settlement", billing_period=PERIOD)
    for tadig in {t["tadig"] for t in tap_files}:
        accepted = [t for t in tap_files if t["tadig"] == tadig and t["reconciles"]]
        expected = sum(t["total_charge"] * 10 ** (6 - t["tap_decimal_places"]) for t in accepted)
        lines = settlement.filter((pl.col("tadig") == tadig) & (pl.col("direction") == "payable"))
        assert lines["charge_micros"].sum() == expected
    # Receivable: our files to the partners, which the TAP parser reads back whole.
    sent = table(layout, "roaming_files", billing_period=PERIOD).filter(
        pl.col("direction") == "receivable"
    )
    visitor_imsis = {v["imsi"] for v in manifest(layout)["roaming"]["visitors"]}
    for row in sent.to_dicts():
        data = (layout.root / row["file_path"]).read_bytes()
        if row["file_kind"] == "notification":
            assert list(tap3.parse_file(data, None)) == []  # type: ignore[arg-type]
            continue
        batch = tap3.read_batch(data)
        assert batch.audit_mismatches() == []
        assert batch.declared.total_charge_micros == row["total_charge_micros"]
        items = list(tap3.decode_events(data))
        assert all(isinstance(i, ParsedRecord) for i in items)
        assert {i.values["served_imsi"] for i in items} <= visitor_imsis  # type: ignore[union-attr]
    receivable = settlement.filter(pl.col("direction") == "receivable")
    assert receivable["charge_micros"].sum() == sent["total_charge_micros"].sum()
    assert result.receivable_usd_micros > 0 and result.payable_usd_micros > 0
