"""The TAP 3.12 writer against the TAP parser: whatever events and header it is given, the
parser reads back every value it maps and every charge to the micro, and the audit totals
reconcile. Hypothesis draws the events; the numbers are valid ones, as a network's are."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from fractions import Fraction
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipelines.mediation import tap3
from pipelines.mediation.records import ParsedRecord
from pipelines.roaming import tap_file

NUMBERS = ("13125550123", "525512345678", "4915112345678", "4930123456", "15145550123")
SHORT_CODES = ("911", "112")
ZONES = ("America/Chicago", "Europe/Berlin", "Asia/Kolkata", "UTC", "America/St_Johns")


@st.composite
def events(draw: st.DrawFn) -> tap_file.TapCallEvent:
    record_type = draw(st.sampled_from(tap_file.RECORD_TYPES))
    data, sms = record_type == "data", record_type.startswith("sms")
    located = draw(st.booleans())
    return tap_file.TapCallEvent(
        record_type=record_type,
        imsi=draw(st.from_regex(r"[0-9]{6,15}", fullmatch=True)),
        msisdn=draw(st.none() | st.sampled_from(NUMBERS)),
        imei=draw(st.none() | st.from_regex(r"[0-9]{14,15}", fullmatch=True)),
        other_party_number=None
        if data
        else draw(st.none() | st.sampled_from(NUMBERS + SHORT_CODES)),
        started_at=draw(
            st.datetimes(datetime(2020, 1, 1), datetime(2030, 12, 31), timezones=st.just(UTC))
        ).replace(microsecond=0),
        duration_seconds=0 if sms else draw(st.integers(0, 10**6)),
        uplink_bytes=draw(st.integers(0, 10**12)) if data else 0,
        downlink_bytes=draw(st.integers(0, 10**12)) if data else 0,
        recording_entity=2 if data else 1,
        location_area=draw(st.integers(0, 65535)) if located else None,
        cell_id=draw(st.integers(0, 65535)) if located else None,
        charge=draw(st.integers(0, 10**12)),
        chargeable_units=draw(st.integers(0, 10**9)),
        charged_units=draw(st.integers(0, 10**9)),
        apn=draw(st.none() | st.just("internet")) if data else None,
        charging_id=draw(st.none() | st.integers(0, 2**32 - 1)) if data else None,
    )


def header(zone: str, places: int, sequence: int) -> tap_file.BatchHeader:
    created = datetime(2026, 11, 1, 7, tzinfo=UTC)
    return tap_file.BatchHeader(
        sender="USAZ9",
        recipient="DEUZ1",
        file_sequence_number=sequence,
        created_at=created,
        available_at=created + timedelta(minutes=1),
        cut_off_at=created - timedelta(hours=2),
        zone=ZoneInfo(zone),
        national_prefix="1",
        local_currency="USD",
        tap_currency="EUR",
        tap_decimal_places=places,
        exchange_rate=Fraction("1.0925"),
        recording_entities=(
            tap_file.RecordingEntity(1, tap_file.MSC_ENTITY, "msc-chi-01"),
            tap_file.RecordingEntity(2, tap_file.GATEWAY_ENTITY, "msc-chi-01"),
        ),
    )


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(events(), min_size=1, max_size=6),
    st.sampled_from(ZONES),
    st.integers(0, 6),
    st.integers(1, 99_999),
)
def test_what_is_written_reads_back_exactly(
    written: list[tap_file.TapCallEvent], zone: str, places: int, sequence: int
) -> None:
    data = tap_file.transfer_batch(header(zone, places, sequence), written)
    batch = tap3.read_batch(data)
    assert (batch.sender, batch.recipient) == ("USAZ9", "DEUZ1")
    assert batch.file_sequence_number == f"{sequence:05d}"
    assert (batch.tap_currency, batch.tap_decimal_places) == ("EUR", places)
    assert batch.file_creation_at == datetime(2026, 11, 1, 7, tzinfo=UTC)
    assert batch.audit_mismatches() == []
    scale = 10 ** (6 - places)
    assert batch.declared.total_charge_micros == sum(e.charge for e in written) * scale
    read = list(tap3.decode_events(data))
    for number, (event, item, money) in enumerate(
        zip(written, read, batch.events, strict=True), start=1
    ):
        assert money.charge_micros == event.charge * scale
        assert isinstance(item, ParsedRecord), item
        values = item.values
        assert values["record_key"] == f"USAZ9:DEUZ1:{sequence:05d}:{number}"
        assert values["record_type"] == event.record_type
        assert values["served_imsi"] == event.imsi
        assert values["served_msisdn"] == event.msisdn
        assert values["served_imei"] == event.imei
        assert values["other_party_number"] == event.other_party_number
        assert values["started_at"] == event.started_at
        assert values["duration_seconds"] == event.duration_seconds
        assert values["uplink_bytes"] == event.uplink_bytes
        assert values["downlink_bytes"] == event.downlink_bytes
        cell = f"{event.location_area}-{event.cell_id}" if event.location_area is not None else None
        assert values["cell_id"] == cell


def test_offset_codes_follow_the_clock_changes() -> None:
    # Chicago leaves daylight time on 2026-11-01: two offsets, two codes.
    zone = "America/Chicago"
    before = datetime(2026, 10, 31, 12, tzinfo=UTC)
    after = datetime(2026, 11, 2, 12, tzinfo=UTC)
    made = [
        tap_file.TapCallEvent(
            "sms_mo", "334990000000001", None, None, "911", moment, 0, 0, 0, 1, None, None, 1, 1, 1
        )
        for moment in (before, after)
    ]
    value = tap_file.transfer_batch_value(header(zone, 3, 1), made)
    assert value["networkInfo"]["utcTimeOffsetInfo"] == [
        {"utcTimeOffsetCode": 0, "utcTimeOffset": b"-0600"},
        {"utcTimeOffsetCode": 1, "utcTimeOffset": b"-0500"},
    ]
    stamps = [
        detail["basicCallInformation"]["callEventStartTimeStamp"]
        for _, detail in value["callEventDetails"]
    ]
    assert stamps == [
        {"localTimeStamp": b"20261031070000", "utcTimeOffsetCode": 1},
        {"localTimeStamp": b"20261102060000", "utcTimeOffsetCode": 0},
    ]


@pytest.mark.parametrize(
    ("rate", "expected"),
    [(Fraction(1), (0, 1)), (Fraction("1.0925"), (4, 10925)), (Fraction(1, 3), (6, 333333))],
)
def test_exchange_rate_digits(rate: Fraction, expected: tuple[int, int]) -> None:
    assert tap_file.exchange_rate_digits(rate) == expected


def test_a_batch_needs_an_event_and_a_valid_sequence() -> None:
    with pytest.raises(ValueError, match="send a notification"):
        tap_file.transfer_batch(header("UTC", 3, 1), [])
    with pytest.raises(ValueError, match=r"not in 1\.\.99999"):
        tap_file.notification(header("UTC", 3, 100_000))
    assert tap_file.file_name("USAZ9", "MEXZ1", 42) == "CDUSAZ9MEXZ100042"
    event = tap_file.TapCallEvent(
        "sms_mo",
        "334990000000001",
        None,
        None,
        None,
        datetime(2026, 10, 1, 0, 0, 0, 500_000, tzinfo=UTC),
        0,
        0,
        0,
        1,
        None,
        None,
        1,
        1,
        1,
    )
    with pytest.raises(ValueError, match="not a whole second"):
        tap_file.transfer_batch(header("UTC", 3, 1), [event])
