"""The roaming stage on the tiny operator of roaming_lake.py: TAP out read back by the TAP
parser, RAP returns, settlement, and reruns. Every expected number is worked out there."""

from __future__ import annotations

import hashlib
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from roaming_lake import PERIOD, VISITS, build_operator, faulty_batch

from pipelines import lake
from pipelines.config import Layout
from pipelines.mediation import tap3
from pipelines.mediation.records import ParsedRecord, RejectedRecord
from pipelines.mediation.stage import mediate_partition
from pipelines.rating.buckets import read_period_table
from pipelines.roaming.stage import RoamingResult, roaming_period
from pipelines.roaming.tap_in import RoamingError
from pipelines.schema import RejectReason

#: Micro-units per TAP unit of each partner (3 and 5 TAP decimals).
SCALE = {"MEXZ1": 1_000, "DEUZ1": 10}


@pytest.fixture(scope="module")
def ran(tmp_path_factory: pytest.TempPathFactory) -> tuple[Layout, RoamingResult]:
    layout = build_operator(tmp_path_factory.mktemp("roaming"))
    return layout, roaming_period(layout, PERIOD)


def rows(layout: Layout, table: str, **where: object) -> list[dict]:
    found = read_period_table(layout, table, PERIOD).to_pylist()
    return [r for r in found if all(r[k] == v for k, v in where.items())]


def tap_out(layout: Layout, tadig: str, sequence: str = "00001") -> bytes:
    return (layout.outbound / "tap" / tadig / f"CDUSAZ9{tadig}{sequence}").read_bytes()


def test_tap_out_round_trip_is_lossless(ran: tuple[Layout, RoamingResult]) -> None:
    layout, _ = ran
    sent = {r["usage_id"]: r for r in rows(layout, "roaming_events", direction="receivable")}
    for tadig, currency, places in (("MEXZ1", "USD", 3), ("DEUZ1", "EUR", 5)):
        data = tap_out(layout, tadig)
        batch = tap3.read_batch(data)
        assert (batch.sender, batch.recipient, batch.file_sequence_number) == (
            "USAZ9",
            tadig,
            "00001",
        )
        assert (batch.local_currency, batch.tap_currency, batch.tap_decimal_places) == (
            "USD",
            currency,
            places,
        )
        # The period's end (Nov 1, 00:00 CDT) is the cut-off; created two hours later.
        assert batch.transfer_cut_off_at == datetime(2026, 11, 1, 5, tzinfo=UTC)
        assert batch.file_creation_at == datetime(2026, 11, 1, 7, tzinfo=UTC)
        assert batch.audit_mismatches() == []
        mine = {u: r for u, r in sent.items() if r["tadig"] == tadig and r["record_number"]}
        assert batch.declared.call_event_details_count == len(mine) == len(batch.events)
        assert batch.declared.total_charge_micros == sum(r["charge_micros"] for r in mine.values())
        by_number = {r["record_number"]: u for u, r in mine.items()}
        for item, money in zip(tap3.decode_events(data), batch.events, strict=True):
            assert isinstance(item, ParsedRecord)
            usage_id = by_number[item.record_number]
            visit, units = VISITS[usage_id]
            assert money.charge_micros == units * SCALE[tadig] == sent[usage_id]["charge_micros"]
            values = item.values
            voice, data_event = visit["service"] == "voice", visit["service"] == "data"
            assert values["record_key"] == f"USAZ9:{tadig}:00001:{item.record_number}"
            assert values["record_type"] == visit["record_type"]
            assert values["direction"] == visit["direction"]
            assert values["served_imsi"] == visit["served_imsi"]
            assert values["served_msisdn"] == visit["served_msisdn"]
            assert values["served_imei"] == visit["served_imei"]
            assert values["other_party_number"] == visit["other_party_number"]
            # TAP stamps a call from its answer, the start of charging.
            assert values["started_at"] == (visit["answered_at"] if voice else visit["started_at"])
            assert values["duration_seconds"] == visit["duration_seconds"]
            assert values["uplink_bytes"] == visit["uplink_bytes"]
            assert values["downlink_bytes"] == visit["downlink_bytes"]
            assert values["data_volume_bytes"] == visit["data_volume_bytes"]
            assert values["cell_id"] == ("1201-4242" if data_event else "1200-54321")
            assert values["release_cause"] == "normal"


def test_visitors_are_priced_at_our_iot_by_hand(ran: tuple[Layout, RoamingResult]) -> None:
    layout, result = ran
    events = {r["usage_id"]: r for r in rows(layout, "roaming_events", direction="receivable")}
    # Every visitor record once, and nobody else's (c1 is a customer's).
    assert set(events) == set(VISITS)
    for usage_id, (_, expected) in VISITS.items():
        event = events[usage_id]
        if isinstance(expected, str):
            assert (event["is_settled"], event["exclusion_reason"]) == (False, expected)
            assert event["file_name"] is None and event["charge_micros"] == 0
        else:
            assert event["is_settled"] and event["exclusion_reason"] is None
            assert event["charge_micros"] == expected * SCALE[event["tadig"]], usage_id
    assert {u: events[u]["billed_units"] for u in ("v1", "v2", "v3", "d1", "v5", "d2")} == {
        "v1": 120,
        "v2": 120,
        "v3": 240,
        "d1": 36,  # 30/6: 30 s, then one started 6 s step
        "v5": 3_000_320,
        "d2": 1_000_448,
    }
    # Each data event at the IOT version of its day.
    assert events["v5"]["iot_version"] == "MEXZ1/receivable/data/*/2019-01-01"
    assert events["v6"]["iot_version"] == "MEXZ1/receivable/data/*/2026-10-15"
    assert events["v1"]["iot_version"] == "MEXZ1/receivable/voice_mo/1/2019-01-01"
    assert events["v2"]["iot_version"] == "MEXZ1/receivable/voice_mo/*/2019-01-01"
    # In charging-start order: d1 (10-05 23:59:48 local) before d2 (10-06 07:00).
    assert [events[u]["record_number"] for u in ("d1", "d2")] == [1, 2]
    assert result.visitor_records_excluded == {"no_iot_rate": 1, "unanswered": 1}
    assert result.tap_out_events == 8


def test_payable_events_come_from_settled_batches_only(ran: tuple[Layout, RoamingResult]) -> None:
    layout, result = ran
    files = {r["file_name"]: r for r in rows(layout, "roaming_files", direction="payable")}
    assert {name: f["file_status"] for name, f in files.items()} == {
        "CDMEXZ1USAZ900001_2026100320_00001.tap": "settled",
        "CDMEXZ1USAZ900002_2026100420_00002.tap": "returned",
        "CDDEUZ1USAZ900007_2026100603_00007.tap": "settled",
        "garbage_2026100700_00003.tap": "not_returnable",
    }
    payable = rows(layout, "roaming_events", direction="payable")
    charged = [(e["file_sequence_number"], e["record_number"], e["charge_micros"]) for e in payable]
    assert sorted(charged) == [
        ("00001", 1, 1_234_000),
        ("00001", 2, 5_678_000),
        ("00007", 1, 987_650),
    ]
    # Each payable event names the usage record mediation accepted for it.
    usage = lake.read_table(layout, "usage", {"feed": "tap3"}).to_pylist()
    accepted = {(u["file_name"], u["record_number"]): u["usage_id"] for u in usage}
    for event in payable:
        assert event["usage_id"] == accepted[(event["file_name"], event["record_number"])]
        assert event["served_imsi"] == "310260000000009" and event["reject_reason"] is None
    assert result.tap_in_files == {"not_returnable": 1, "returned": 1, "settled": 2}


def test_a_batch_whose_audit_fails_goes_back_with_a_rap(ran: tuple[Layout, RoamingResult]) -> None:
    layout, _ = ran
    returned, unreadable = sorted(
        rows(layout, "rap_returns"), key=lambda r: r["rap_status"] != "returned"
    )
    assert returned["file_name"] == "CDMEXZ1USAZ900002_2026100420_00002.tap"
    assert (returned["tadig"], returned["file_sequence_number"]) == ("MEXZ1", "00002")
    assert (returned["reason_code"], returned["returned_events"]) == ("audit_mismatch", 1)
    assert returned["returned_charge_micros"] == 500_000  # 500 TAP units at 3 decimals
    assert (returned["rap_file_name"], returned["rap_file_sequence_number"]) == (
        "RCUSAZ9MEXZ100001",
        "00001",
    )
    rap = (layout.outbound / "rap" / "MEXZ1" / "RCUSAZ9MEXZ100001").read_bytes()
    kind, value = tap3.read_rap(rap)
    assert kind == "returnBatch"
    control = value["rapBatchControlInfoRap"]
    assert (control["sender"], control["recipient"]) == (b"USAZ9", b"MEXZ1")
    assert control["rapFileSequenceNumber"] == b"00001"
    [(detail_kind, fatal)] = value["returnDetails"]
    assert detail_kind == "fatalReturn"
    # The RAP names the returned batch and the total that does not match: its count.
    assert fatal["fileSequenceNumber"] == b"00002"
    [error] = fatal["auditControlInfoError"]["errorDetail"]
    assert error["errorCode"] == 100
    assert [c["pathItemId"] for c in error["errorContext"]] == [1, 15, 43]
    assert fatal["auditControlInfoError"]["auditControlInfo"]["callEventDetailsCount"] == 0
    # An unreadable file has no batch a RAP could name: recorded, not returned.
    assert unreadable["file_name"] == "garbage_2026100700_00003.tap"
    assert (unreadable["reason_code"], unreadable["rap_status"]) == (
        RejectReason.UNREADABLE_FILE.value,
        "not_returnable",
    )
    assert unreadable["rap_file_name"] is None
    [refused] = tap3.parse_file(rap, None)  # type: ignore[arg-type]
    assert isinstance(refused, RejectedRecord) and "a RAP file" in refused.detail


def test_settlement_lines_are_hand_computed(ran: tuple[Layout, RoamingResult]) -> None:
    layout, result = ran
    lines = {
        (r["tadig"], r["direction"], r["service"]): (
            r["files"],
            r["events"],
            r["units"],
            r["charge_micros"],
            r["tap_currency"],
            r["usd_equivalent_micros"],
        )
        for r in rows(layout, "roaming_settlement")
    }
    assert lines == {
        ("MEXZ1", "payable", "voice_mo"): (1, 1, 90, 1_234_000, "USD", 1_234_000),
        ("MEXZ1", "payable", "data"): (1, 1, 5_000_000, 5_678_000, "USD", 5_678_000),
        # 987_650 x 1.0925 = 1_079_007.625, half up
        ("DEUZ1", "payable", "sms_mo"): (1, 1, 1, 987_650, "EUR", 1_079_008),
        ("MEXZ1", "receivable", "voice_mo"): (1, 2, 131, 520_000, "USD", 520_000),
        ("MEXZ1", "receivable", "voice_mt"): (1, 1, 200, 80_000, "USD", 80_000),
        ("MEXZ1", "receivable", "sms_mo"): (1, 1, 1, 15_000, "USD", 15_000),
        ("MEXZ1", "receivable", "data"): (1, 2, 6_000_000, 40_000, "USD", 40_000),
        ("DEUZ1", "receivable", "voice_mo"): (1, 1, 31, 108_000, "EUR", 117_990),
        # 6_680 x 1.0925 = 7_297.9
        ("DEUZ1", "receivable", "data"): (1, 1, 1_000_000, 6_680, "EUR", 7_298),
    }
    eur = [r for r in rows(layout, "roaming_settlement") if r["tap_currency"] == "EUR"]
    assert {(r["exchange_rate"], r["exchange_rate_date"]) for r in eur} == {
        ("1.0925", date(2026, 10, 31))
    }
    assert result.payable_usd_micros == 1_234_000 + 5_678_000 + 1_079_008
    assert result.receivable_usd_micros == 655_000 + 117_990 + 7_298


def _outputs(layout: Layout) -> dict[str, str]:
    tables = ("roaming_files", "roaming_events", "rap_returns", "roaming_settlement")
    folders = [layout.outbound, *(layout.lake_table(table) for table in tables)]
    return {
        str(path.relative_to(layout.root)): hashlib.sha256(path.read_bytes()).hexdigest()
        for folder in folders
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


def test_a_rerun_writes_the_same_bytes_and_later_periods_number_on(tmp_path: Path) -> None:
    layout = build_operator(tmp_path)
    roaming_period(layout, PERIOD)
    first = _outputs(layout)
    roaming_period(layout, PERIOD)
    assert _outputs(layout) == first
    # November: no visitors and no partner files, so each partner gets a Notification,
    # numbered after October's file.
    november = roaming_period(layout, "2026-11")
    assert (november.tap_out_files, november.tap_out_events, november.rap_files) == (2, 0, 0)
    notification = tap_out(layout, "MEXZ1", "00002")
    assert list(tap3.parse_file(notification, None)) == []  # type: ignore[arg-type]
    with pytest.raises(
        tap3.TapFileError, match=r"Notification .* from USAZ9 to MEXZ1, sequence 00002"
    ):
        tap3.read_batch(notification)
    # October again keeps its numbers; a period before both cannot be numbered any more.
    roaming_period(layout, PERIOD)
    assert {
        k: v for k, v in _outputs(layout).items() if "2026-11" not in k and "00002" not in k
    } == first
    with pytest.raises(RoamingError, match="run 2026-09 before them"):
        roaming_period(layout, "2026-09")


def test_a_second_returned_batch_takes_the_next_rap_number(tmp_path: Path) -> None:
    layout = build_operator(tmp_path)
    roaming_period(layout, PERIOD)
    # Another faulty batch (sequence 3) arrives on 10-09; October is run again.
    folder = layout.landing / "tap3" / "MEXZ1"
    (folder / "CDMEXZ1USAZ900003_2026100920_00003.tap").write_bytes(
        faulty_batch(3, datetime(2026, 10, 9, 8, tzinfo=UTC))
    )
    mediate_partition(layout, "tap3", date(2026, 10, 9))
    roaming_period(layout, PERIOD)
    returns = {
        r["file_sequence_number"]: r["rap_file_sequence_number"]
        for r in rows(layout, "rap_returns", rap_status="returned")
    }
    # The batch returned before keeps its RAP; the new one takes the partner's next.
    assert returns == {"00002": "00001", "00003": "00002"}
    assert (layout.outbound / "rap" / "MEXZ1" / "RCUSAZ9MEXZ100002").is_file()


def test_an_operator_without_roaming_settles_nothing(tmp_path: Path) -> None:
    layout = Layout(tmp_path)
    layout.reference.mkdir(parents=True)
    result = roaming_period(layout, PERIOD)
    assert (result.partners, result.tap_out_files, result.settlement_lines) == (0, 0, 0)
    for table in ("roaming_files", "roaming_events", "rap_returns", "roaming_settlement"):
        assert rows(layout, table) == []
    assert not layout.outbound.exists()
