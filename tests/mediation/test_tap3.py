"""GSMA TAP 3.12 parser: real public files (libxfsx test set) against their XML dumps,
hand-built batches encoded with pycrate whose values are computed by hand, the audit gate,
RAP round trips, and hypothesis: no input makes the parser raise."""

from __future__ import annotations

import copy
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pycrate_asn1dir import TAP3

from pipelines.mediation import tap3
from pipelines.mediation.records import PARSER_COLUMNS, FileContext, ParsedRecord, RejectedRecord
from pipelines.schema import RejectReason

SAMPLES = Path(__file__).parents[2] / ".." / "shared" / "samples" / "tap3"
CONTEXT = FileContext(file_name="CDGBRTTUSATL00042", switch_id="GBRTT", timezone="UTC")


def _sample(name: str) -> bytes:
    path = SAMPLES / name
    if not path.exists():
        pytest.skip(f"../shared/samples/tap3/{name} not available")
    return path.read_bytes()


def _items(data: bytes) -> list[ParsedRecord | RejectedRecord]:
    return list(tap3.parse_file(data, CONTEXT))


# --- hand-built batches -----------------------------------------------------------------


def _stamp(local: str, code: int) -> dict[str, Any]:
    return {"localTimeStamp": local.encode(), "utcTimeOffsetCode": code}


def _long_stamp(local: str, offset: str) -> dict[str, Any]:
    return {"localTimeStamp": local.encode(), "utcTimeOffset": offset.encode()}


def _bcd(digits: str) -> bytes:
    return bytes.fromhex(digits + "f" * (len(digits) % 2))


def _charges(*details: tuple[str, int], item: str = "D", **extra: Any) -> list[dict[str, Any]]:
    info = {
        "chargedItem": item.encode(),
        "chargeDetailList": [{"chargeType": t.encode(), "charge": c} for t, c in details],
    }
    return [{**info, **extra}]


def _batch() -> dict[str, Any]:
    """A TAP 3.12 batch of five events; tapDecimalPlaces 5 (one TAP unit = 10 micros).

    Charges (TAP units): MOC 123456 (type '00') + CAMEL fee 5000 (its type '01' part, 100000,
    is not a total); SMS MT 2000, tax 400; GPRS 50000, discount 100; supplementary service
    1000; a GPRS event with a negative volume, 0. totalCharge 181456, tax 400, discount 100.
    """
    moc = {
        "basicCallInformation": {
            "chargeableSubscriber": (
                "simChargeableSubscriber",
                {"imsi": _bcd("234150123456789"), "msisdn": _bcd("13125550123")},
            ),
            "destination": {"calledNumber": _bcd("447700900123")},
            "callEventStartTimeStamp": _stamp("20241103093015", 1),
            "totalCallEventDuration": 125,
        },
        "locationInformation": {
            "networkLocation": {"recEntityCode": 1, "locationArea": 1234, "cellId": 5678}
        },
        "equipmentIdentifier": ("imei", _bcd("490154203237518")),
        "basicServiceUsedList": [
            {
                "basicService": {"serviceCode": ("teleServiceCode", b"11")},
                "chargeInformationList": _charges(("00", 123456), ("01", 100000)),
            }
        ],
        "camelServiceUsed": {"camelServiceKey": 7, "camelInvocationFee": 5000},
    }
    sms_mt = {
        "basicCallInformation": {
            "chargeableSubscriber": ("simChargeableSubscriber", {"imsi": _bcd("234150123456789")}),
            "callOriginator": {"callingNumber": _bcd("447700900456")},
            "callEventStartTimeStamp": _stamp("20241103150000", 2),
            "totalCallEventDuration": 0,
        },
        "basicServiceUsedList": [
            {
                "basicService": {"serviceCode": ("teleServiceCode", b"21")},
                "chargeInformationList": _charges(
                    ("00", 2000), taxInformation=[{"taxCode": 1, "taxValue": 400}]
                ),
            }
        ],
    }
    gprs: dict[str, Any] = {
        "gprsBasicCallInformation": {
            "gprsChargeableSubscriber": {
                "chargeableSubscriber": (
                    "simChargeableSubscriber",
                    {"imsi": _bcd("234150123456789")},
                )
            },
            "callEventStartTimeStamp": _stamp("20241103235959", 1),
            "totalCallEventDuration": 3600,
            "causeForTerm": 4,
            "chargingId": 99,
        },
        "gprsLocationInformation": {
            "gprsNetworkLocation": {"recEntity": [1], "locationArea": 77, "cellId": 88}
        },
        "gprsServiceUsed": {
            "dataVolumeIncoming": 5_000_000,
            "dataVolumeOutgoing": 1_000_000,
            "chargeInformationList": _charges(
                ("00", 50000),
                item="X",
                discountInformation={"discountCode": 0, "discount": 100},
            ),
        },
    }
    suppl = {
        "chargeableSubscriber": ("simChargeableSubscriber", {"imsi": _bcd("234150123456789")}),
        "supplServiceUsed": {
            "supplServiceCode": b"21",
            "supplServiceActionCode": 1,
            "chargingTimeStamp": _stamp("20241103100000", 1),
            "chargeInformation": _charges(("00", 1000))[0],
        },
    }
    negative = copy.deepcopy(gprs)
    negative["gprsServiceUsed"]["dataVolumeIncoming"] = -2
    negative["gprsServiceUsed"]["chargeInformationList"] = _charges(("00", 0), item="X")
    return {
        "batchControlInfo": {
            "sender": b"GBRTT",
            "recipient": b"USATL",
            "fileSequenceNumber": b"00042",
            "fileCreationTimeStamp": _long_stamp("20241104010000", "+0000"),
            "transferCutOffTimeStamp": _long_stamp("20241104000000", "+0000"),
            "fileAvailableTimeStamp": _long_stamp("20241104013000", "+0000"),
            "specificationVersionNumber": 3,
            "releaseVersionNumber": 12,
        },
        "accountingInfo": {"localCurrency": b"GBP", "tapDecimalPlaces": 5},
        "networkInfo": {
            "utcTimeOffsetInfo": [
                {"utcTimeOffsetCode": 1, "utcTimeOffset": b"+0100"},
                {"utcTimeOffsetCode": 2, "utcTimeOffset": b"+0530"},
            ],
            "recEntityInfo": [{"recEntityCode": 1, "recEntityType": 1, "recEntityId": b"MSC1"}],
        },
        "callEventDetails": [
            ("mobileOriginatedCall", moc),
            ("mobileTerminatedCall", sms_mt),
            ("gprsCall", gprs),
            ("supplServiceEvent", suppl),
            ("gprsCall", negative),
        ],
        "auditControlInfo": {
            "totalCharge": 181456,
            "totalTaxValue": 400,
            "totalDiscountValue": 100,
            "callEventDetailsCount": 5,
        },
    }


def _encode(batch: dict[str, Any], kind: str = "transferBatch") -> bytes:
    interchange = TAP3.TAP_0312.DataInterChange
    interchange.set_val((kind, batch))
    return bytes(interchange.to_ber())


def test_reconciling_batch_gives_hand_computed_rows() -> None:
    items = _items(_encode(_batch()))
    assert [i.record_number for i in items] == [1, 2, 3, 4, 5]
    moc, sms, gprs, suppl, negative = items
    assert isinstance(moc, ParsedRecord)
    assert set(moc.values) == set(PARSER_COLUMNS)
    assert moc.values == {
        "record_key": "GBRTT:USATL:00042:1",
        "record_type": "voice_mo",
        "service": "voice",
        "direction": "outbound",
        "served_msisdn": "13125550123",
        "served_imsi": "234150123456789",
        "served_imei": "490154203237518",
        "other_party_number": "447700900123",
        # 09:30:15 at UTC+01:00 (code 1)
        "started_at": datetime(2024, 11, 3, 8, 30, 15, tzinfo=UTC),
        "answered_at": datetime(2024, 11, 3, 8, 30, 15, tzinfo=UTC),
        "ended_at": datetime(2024, 11, 3, 8, 32, 20, tzinfo=UTC),
        "duration_seconds": 125,
        "uplink_bytes": 0,
        "downlink_bytes": 0,
        "data_volume_bytes": 0,
        "is_answered": True,
        "release_cause": "normal",
        "outgoing_trunk_group": None,
        "incoming_trunk_group": None,
        "cell_id": "1234-5678",
    }
    assert isinstance(sms, ParsedRecord)
    assert sms.values["record_type"] == "sms_mt"
    assert sms.values["direction"] == "inbound"
    assert sms.values["other_party_number"] == "447700900456"
    # 15:00:00 at UTC+05:30 (code 2)
    assert sms.values["started_at"] == datetime(2024, 11, 3, 9, 30, tzinfo=UTC)
    assert sms.values["ended_at"] == sms.values["started_at"]
    assert sms.values["answered_at"] is None
    assert sms.values["duration_seconds"] == 0
    assert sms.values["served_msisdn"] is None  # the SIM subscriber has no MSISDN here
    assert isinstance(gprs, ParsedRecord)
    assert gprs.values["record_type"] == "data"
    assert gprs.values["started_at"] == datetime(2024, 11, 3, 22, 59, 59, tzinfo=UTC)
    assert gprs.values["ended_at"] == datetime(2024, 11, 3, 23, 59, 59, tzinfo=UTC)
    # incoming = to the mobile = downlink
    assert (gprs.values["uplink_bytes"], gprs.values["downlink_bytes"]) == (1_000_000, 5_000_000)
    assert gprs.values["data_volume_bytes"] == 6_000_000
    assert gprs.values["release_cause"] == "4"
    assert gprs.values["cell_id"] == "77-88"
    assert isinstance(suppl, RejectedRecord)
    assert suppl.reason == RejectReason.UNSUPPORTED_RECORD_TYPE
    assert isinstance(negative, RejectedRecord)
    assert negative.reason == RejectReason.INVALID_VOLUME
    assert "-2" in negative.detail


def test_reject_raw_text_is_the_event_as_read() -> None:
    data = _encode(_batch())
    suppl = _items(data)[3]
    assert isinstance(suppl, RejectedRecord)
    raw = bytes.fromhex(suppl.raw_text)
    assert raw[:1] == b"\x6b"  # [APPLICATION 11] constructed: SupplServiceEvent
    assert raw in data


def test_read_batch_scales_charges_exactly() -> None:
    batch = tap3.read_batch(_encode(_batch()))
    assert (batch.sender, batch.recipient, batch.file_sequence_number) == (
        "GBRTT",
        "USATL",
        "00042",
    )
    assert batch.file_available_at == datetime(2024, 11, 4, 1, 30, tzinfo=UTC)
    assert (batch.local_currency, batch.tap_currency, batch.tap_decimal_places) == (
        "GBP",
        "XDR",
        5,
    )
    # 10 ** (6 - 5) micros per TAP unit
    assert [e.charge_micros for e in batch.events] == [1_284_560, 20_000, 500_000, 10_000, 0]
    assert [e.tax_micros for e in batch.events] == [0, 4_000, 0, 0, 0]
    assert [e.discount_micros for e in batch.events] == [0, 0, 1_000, 0, 0]
    assert batch.declared == tap3.AuditTotals(5, 1_814_560, 4_000, 1_000)
    assert batch.computed == batch.declared
    assert batch.audit_mismatches() == []


def test_audit_mismatch_returns_the_whole_file() -> None:
    batch = _batch()
    batch["auditControlInfo"]["totalCharge"] = 181457
    items = _items(_encode(batch))
    assert [i.record_number for i in items] == [1, 2, 3, 4, 5]
    assert all(isinstance(i, RejectedRecord) for i in items)
    assert {i.reason for i in items if isinstance(i, RejectedRecord)} == {
        RejectReason.AUDIT_MISMATCH
    }
    first = items[0]
    assert isinstance(first, RejectedRecord)
    assert "totalCharge declared 181457, computed 181456" in first.detail


def test_missing_audit_total_is_a_mismatch() -> None:
    batch = _batch()
    del batch["auditControlInfo"]["callEventDetailsCount"]
    items = _items(_encode(batch))
    assert len(items) == 5
    first = items[0]
    assert isinstance(first, RejectedRecord)
    assert "callEventDetailsCount declared None, call events found 5" in first.detail


def test_unknown_utc_offset_code_rejects_the_event() -> None:
    batch = _batch()
    batch["callEventDetails"][0][1]["basicCallInformation"]["callEventStartTimeStamp"] = _stamp(
        "20241103093015", 9
    )
    first = _items(_encode(batch))[0]
    assert isinstance(first, RejectedRecord)
    assert first.reason == RejectReason.INVALID_TIMESTAMP


@pytest.mark.parametrize(
    ("change", "detail"),
    [
        (lambda b: b["accountingInfo"].update(tapDecimalPlaces=7), "tapDecimalPlaces 7"),
        (lambda b: b["batchControlInfo"].update(releaseVersionNumber=11), "TAP 3.11"),
        (lambda b: b["batchControlInfo"].update(sender=b"gbr12"), "not a TADIG code"),
    ],
)
def test_fatal_header_errors_refuse_the_file(change: Any, detail: str) -> None:
    batch = _batch()
    change(batch)
    items = _items(_encode(batch))
    assert len(items) == 1
    assert items[0].record_number == 0
    assert isinstance(items[0], RejectedRecord)
    assert items[0].reason == RejectReason.UNREADABLE_FILE
    assert detail in items[0].detail


def test_empty_and_garbage_files() -> None:
    for data, reason in (
        (b"", RejectReason.EMPTY_FILE),
        (b"\x00\x01", RejectReason.UNREADABLE_FILE),
    ):
        [item] = _items(data)
        assert isinstance(item, RejectedRecord)
        assert (item.record_number, item.reason) == (0, reason)


# --- RAP -------------------------------------------------------------------------------


def test_build_rap_decodes_back() -> None:
    batch_value = _batch()
    batch_value["auditControlInfo"]["totalCharge"] = 181457
    batch = tap3.read_batch(_encode(batch_value))
    created = datetime(2024, 11, 5, 9, 0, tzinfo=timezone(timedelta(hours=-6)))
    rap = tap3.build_rap(batch, "audit_mismatch", rap_file_sequence_number=3, created_at=created)
    kind, value = tap3.read_rap(rap)
    assert kind == "returnBatch"
    control = value["rapBatchControlInfoRap"]
    assert (control["sender"], control["recipient"]) == (b"USATL", b"GBRTT")
    assert control["rapFileSequenceNumber"] == b"00003"
    assert control["rapFileCreationTimeStamp"] == _long_stamp("20241105090000", "-0600")
    assert (control["rapSpecificationVersionNumber"], control["rapReleaseVersionNumber"]) == (1, 5)
    [(detail_kind, fatal)] = value["returnDetails"]
    assert detail_kind == "fatalReturn"
    assert fatal["fileSequenceNumber"] == b"00042"
    error = fatal["auditControlInfoError"]
    assert error["auditControlInfo"] == batch_value["auditControlInfo"]
    [detail] = error["errorDetail"]
    assert detail["errorCode"] == 100
    assert [c["pathItemId"] for c in detail["errorContext"]] == [1, 15, 415]
    assert value["rapAuditControlInfo"] == {"totalSevereReturnValue": 0, "returnDetailsCount": 1}
    # Fed back to the TAP parser, a RAP is named as such.
    [refused] = _items(rap)
    assert isinstance(refused, RejectedRecord)
    assert "a RAP file" in refused.detail


def test_build_rap_refuses_a_reconciling_batch() -> None:
    batch = tap3.read_batch(_encode(_batch()))
    with pytest.raises(ValueError, match="reconciles"):
        tap3.build_rap(batch, "x", rap_file_sequence_number=1, created_at=datetime.now(UTC))


# --- real files (../shared/samples/tap3, from gsauthof/libxfsx) -------------------------


def _xml_events(name: str) -> tuple[ET.Element, list[ET.Element]]:
    root = ET.fromstring(_sample(name).decode())
    event_list = root.find("CallEventDetailList")
    assert event_list is not None
    return root, list(event_list)


def _xml_total_charge(events: list[ET.Element]) -> int:
    """Sum of the Charge of every ChargeDetail whose ChargeType is 00 (TD.57 totalCharge)."""
    return sum(
        int(detail.findtext("Charge", "0"))
        for event in events
        for detail in event.iter("ChargeDetail")
        if detail.findtext("ChargeType") == "00"
    )


def test_valid_sample_fails_its_audit_with_totals_from_the_xml() -> None:
    data = _sample("tap_3_12_valid.ber")
    root, events = _xml_events("tap_3_12_valid.xml")
    declared_charge = root.findtext("AuditControlInfo/TotalCharge")
    declared_count = root.findtext("AuditControlInfo/CallEventDetailsCount")
    computed = _xml_total_charge(events)
    assert (declared_charge, declared_count, computed, len(events)) == ("2300", "4", 71200, 4)
    items = _items(data)
    assert [i.record_number for i in items] == list(range(1, len(events) + 1))
    for item in items:
        assert isinstance(item, RejectedRecord)
        assert item.reason == RejectReason.AUDIT_MISMATCH
        assert f"totalCharge declared {declared_charge}, computed {computed}" in item.detail
        assert "callEventDetailsCount" not in item.detail  # 4 declared, 4 found
    # Each reject carries its event's bytes, at the offset the XML dump gives.
    for item, event in zip(items, events, strict=True):
        assert isinstance(item, RejectedRecord)
        assert data.find(bytes.fromhex(item.raw_text)) == int(event.get("off", "-1"))


def test_valid_sample_fields_match_the_xml() -> None:
    data = _sample("tap_3_12_valid.ber")
    root, events = _xml_events("tap_3_12_valid.xml")
    offsets = {
        info.findtext("UtcTimeOffsetCode"): info.findtext("UtcTimeOffset")
        for info in root.iter("UtcTimeOffsetInfo")
    }
    places = int(root.findtext("AccountingInfo/TapDecimalPlaces", "-1"))
    batch = tap3.read_batch(data)
    assert (batch.sender, batch.recipient, batch.file_sequence_number) == (
        root.findtext("BatchControlInfo/Sender"),
        root.findtext("BatchControlInfo/Recipient"),
        root.findtext("BatchControlInfo/FileSequenceNumber"),
    )
    assert batch.local_currency == root.findtext("AccountingInfo/LocalCurrency")
    assert batch.tap_decimal_places == places
    for event, xml in zip(batch.events, events, strict=True):
        charge = sum(
            int(d.findtext("Charge", "0"))
            for d in xml.iter("ChargeDetail")
            if d.findtext("ChargeType") == "00"
        )
        assert event.charge_micros == charge * 10 ** (6 - places)
    rows = list(tap3.decode_events(data))
    for row, xml in zip(rows, events, strict=True):
        if not isinstance(row, ParsedRecord):
            assert xml.tag == "SupplServiceEvent"
            assert isinstance(row, RejectedRecord)
            assert row.reason == RejectReason.UNSUPPORTED_RECORD_TYPE
            continue
        assert row.values["served_imsi"] == xml.findtext(".//Imsi")
        stamp = xml.find(".//CallEventStartTimeStamp")
        assert stamp is not None
        local = datetime.strptime(stamp.findtext("LocalTimeStamp", ""), "%Y%m%d%H%M%S")
        offset = offsets[stamp.findtext("UtcTimeOffsetCode")]
        assert offset is not None
        sign = -1 if offset[0] == "-" else 1
        shift = timedelta(hours=int(offset[1:3]), minutes=int(offset[3:5])) * sign
        assert row.values["started_at"] == (local - shift).replace(tzinfo=UTC)
        assert row.values["duration_seconds"] == int(xml.findtext(".//TotalCallEventDuration", ""))
        if xml.tag == "GprsCall":
            assert row.values["downlink_bytes"] == int(xml.findtext(".//DataVolumeIncoming", ""))
            assert row.values["uplink_bytes"] == int(xml.findtext(".//DataVolumeOutgoing", ""))
        else:
            area, cell = xml.findtext(".//LocationArea"), xml.findtext(".//CellId")
            assert row.values["cell_id"] == f"{area}-{cell}"


def test_timestamps_sample_totals_match_libxfsx_compute_aci() -> None:
    # libxfsx's own test computes this file's AuditControlInfo: 5 events, TotalCharge 71200;
    # the file declares 4 and 2300.
    items = _items(_sample("tap_3_12_timestamps.ber"))
    assert len(items) == 5
    for item in items:
        assert isinstance(item, RejectedRecord)
        assert item.reason == RejectReason.AUDIT_MISMATCH
        assert "callEventDetailsCount declared 4, call events found 5" in item.detail
        assert "totalCharge declared 2300, computed 71200" in item.detail


def test_timestamps_sample_resolves_each_offset_code() -> None:
    mtc, moc, *_ = tap3.decode_events(_sample("tap_3_12_timestamps.ber"))
    assert isinstance(mtc, ParsedRecord)
    assert isinstance(moc, ParsedRecord)
    # NetworkInfo: code 1 = +0200, code 2 = -0500; both calls start under code 1.
    assert mtc.values["started_at"] == datetime(2014, 3, 1, 12, 3, 42, tzinfo=UTC)
    assert moc.values["started_at"] == datetime(2014, 3, 1, 13, 2, tzinfo=UTC)
    batch = _batch()
    batch["callEventDetails"][1][1]["basicCallInformation"]["callEventStartTimeStamp"] = _stamp(
        "20240101003000", 2
    )
    batch["networkInfo"]["utcTimeOffsetInfo"][1]["utcTimeOffset"] = b"-0500"
    sms = _items(_encode(batch))[1]
    assert isinstance(sms, ParsedRecord)
    assert sms.values["started_at"] == datetime(2024, 1, 1, 5, 30, tzinfo=UTC)


def test_negative_volume_sample() -> None:
    items = _items(_sample("tap_3_12_negative_volume.ber"))
    # One GPRS event, declared 4 events and 2300: the audit fails before the volume is read.
    [item] = items
    assert isinstance(item, RejectedRecord)
    assert item.reason == RejectReason.AUDIT_MISMATCH
    assert "callEventDetailsCount declared 4, call events found 1" in item.detail
    assert "totalCharge declared 2300, computed 66600" in item.detail
    [row] = tap3.decode_events(_sample("tap_3_12_negative_volume.ber"))
    assert isinstance(row, RejectedRecord)
    assert row.reason == RejectReason.INVALID_VOLUME


def test_trailing_eoc_sample_is_unreadable() -> None:
    valid, padded = _sample("tap_3_12_valid.ber"), _sample("tap_3_12_trailing_eoc_invalid.ber")
    assert padded == valid + b"\x00\x00"
    [item] = _items(padded)
    assert isinstance(item, RejectedRecord)
    assert (item.record_number, item.reason) == (0, RejectReason.UNREADABLE_FILE)
    assert "2 octet(s) after the DataInterChange" in item.detail


def test_notification_sample_yields_nothing() -> None:
    data = _sample("tap_notification.ber")
    assert _items(data) == []
    with pytest.raises(tap3.TapFileError, match=r"Notification .* from ABC08 to XYZ15"):
        tap3.read_batch(data)


@pytest.mark.parametrize(
    ("name", "detail"),
    [
        ("rap_mini.ber", "a RAP file (ReturnBatch), not TAP"),
        ("rap_ack.ber", "a RAP acknowledgement file, not TAP"),
        ("nrt_2_1.ber", "an NRTRDE file"),
        ("asn1c_sample-DataInterChange-1.ber", "TAP 3.10; this parser reads TAP 3.12 only"),
    ],
)
def test_other_formats_are_unreadable_files(name: str, detail: str) -> None:
    [item] = _items(_sample(name))
    assert isinstance(item, RejectedRecord)
    assert (item.record_number, item.reason) == (0, RejectReason.UNREADABLE_FILE)
    assert detail in item.detail


def test_rap_samples_break_rap_1_5_constraints() -> None:
    # Both libxfsx RAP samples are minimal hand-made files, and pycrate's RAP 1.5 module
    # refuses each for a reason their XML dumps show: rap_ack's RapFileSequenceNumber "123"
    # is not 5 digits, rap_mini has no ReturnDetails (mandatory).
    xml = ET.fromstring(_sample("rap_ack.xml").decode())
    assert xml.findtext("RapFileSequenceNumber") == "123"
    with pytest.raises(tap3.TapFileError, match="rapFileSequenceNumber: value out of size"):
        tap3.read_rap(_sample("rap_ack.ber"))
    mini = ET.fromstring(_sample("rap_mini.xml").decode())
    assert [child.tag for child in mini] == ["RapBatchControlInfo"]
    with pytest.raises(tap3.TapFileError, match="missing mandatory component, returnDetails"):
        tap3.read_rap(_sample("rap_mini.ber"))


# --- never raises ------------------------------------------------------------------------


def _check_items(data: bytes) -> None:
    items = list(tap3.parse_file(data, CONTEXT))
    numbers = [i.record_number for i in items]
    assert len(set(numbers)) == len(numbers)
    if 0 in numbers:
        assert numbers == [0]  # a refused file yields its file-level reject alone
    for item in items:
        if isinstance(item, ParsedRecord):
            assert set(item.values) == set(PARSER_COLUMNS)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=400))
def test_random_bytes_never_raise(data: bytes) -> None:
    _check_items(data)


_SEEDS = [_encode(_batch())] + [
    (SAMPLES / name).read_bytes()
    for name in ("tap_3_12_valid.ber", "tap_3_12_timestamps.ber", "tap_notification.ber")
    if (SAMPLES / name).exists()
]


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.sampled_from(_SEEDS),
    st.lists(st.tuples(st.integers(0, 10_000), st.integers(0, 255)), max_size=6),
    st.integers(0, 10_000),
)
def test_mutated_files_never_raise(seed: bytes, flips: list[tuple[int, int]], cut: int) -> None:
    data = bytearray(seed)
    for position, value in flips:
        data[position % len(data)] = value
    _check_items(bytes(data[: len(data) - cut % 8]))
