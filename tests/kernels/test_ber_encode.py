"""The Numba TS 32.298 encoder writes pycrate's bytes, and our decoders read them back.

The reference is ``pipelines.formats.ts32298`` (pycrate's compiled 32.298 modules): for
seeded random records of every kind (partial records, unanswered calls, later partials,
short codes and long numbers, trunk groups present or not, volumes up to 2**40, charging
ids up to 2**32 - 1, both UTC offsets of America/Chicago, IPv4 and IPv6 gateways) the
kernel's file must equal pycrate's byte for byte; the library parser and the columnar fast
path must then read every record to the values it was made of, computed here by hand.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pytest

from kernels.ber_encode_api import (
    RECORD_KINDS,
    RECORD_ROOM,
    RELEASE,
    VERSION,
    CallCause,
    Digits,
    MobileCdrColumns,
    RecordClosingCause,
    TextTable,
    cell_table,
    encode_cdr_file,
    encode_cdrs,
)
from pipelines.formats import ts32298
from pipelines.formats.cdr_events import MobileCdr
from pipelines.mediation import ts32298_ber, ts32298_ber_fast
from pipelines.mediation.records import FileContext, ParsedRecord

MSC = "13122600001"
SMSC = "13122600100"
GATEWAYS = ("10.20.0.11", "2001:db8::11")
#: America/Chicago: CDT (-05:00) and CST (-06:00).
OFFSETS = (-300, -360)
CELLS = ("310-260-4101-12345", "310-260-4719-65535", "310-26-0-1", "722-310-65535-0")
#: An APN has 1 to 63 characters (AccessPointNameNI); a trunk group name has no limit.
TEXTS = ("internet", "tg_lec_out", "tg_intl", "tg_mob", "ims", "x" * 140, "a" * 63)
APNS = (0, 4, 6)
TRUNKS = (1, 2, 3, 5)
#: A TimeStamp's year has two digits, read as 20YY: local times from 2000 to 2099 round-trip.
FIRST = datetime(2000, 1, 1, 6, tzinfo=UTC)
SPAN_SECONDS = int((datetime(2099, 12, 1, tzinfo=UTC) - FIRST).total_seconds())
#: Instants where a calendar or clock edge meets the offset: leap days, year ends, the
#: start of the century, DST changes in Chicago.
EDGES = (
    datetime(2000, 1, 1, 6, 0, 0, tzinfo=UTC),
    datetime(2000, 2, 29, 23, 59, 59, tzinfo=UTC),
    datetime(2024, 2, 29, 5, 0, 0, tzinfo=UTC),
    datetime(2025, 12, 31, 23, 59, 59, tzinfo=UTC),
    datetime(2026, 3, 8, 8, 0, 0, tzinfo=UTC),
    datetime(2026, 11, 1, 6, 59, 59, tzinfo=UTC),
)
CALL_CAUSES = ("normalRelease", "partialRecord", "unsuccessfulCallAttempt", "abnormalRelease")
CLOSING_CAUSES = ("normalRelease", "timeLimit", "volumeLimit", "abnormalRelease")


def _number(rng: np.random.Generator, low: int, high: int) -> str:
    length = int(rng.integers(low, high + 1))
    return "".join(str(d) for d in rng.integers(0, 10, size=length))


def _instant(rng: np.random.Generator) -> datetime:
    if rng.random() < 0.1:
        return EDGES[int(rng.integers(len(EDGES)))]
    return FIRST + timedelta(seconds=int(rng.integers(0, SPAN_SECONDS)))


def random_cdr(rng: np.random.Generator, call_reference: int) -> MobileCdr:
    """A record of a random kind with values drawn across each field's range."""
    record_type = ("voice_mo", "voice_mt", "sms_mo", "sms_mt", "data")[int(rng.integers(5))]
    started = _instant(rng)
    length = timedelta(seconds=int(rng.choice([0, 1, 59, 3600, 200_000])))
    fields: dict[str, Any] = {
        "record_type": record_type,
        "served_imsi": _number(rng, 5, 16),
        "served_imei": _number(rng, 15, 16),
        "served_msisdn": _number(rng, 1, 16),
        "other_party_number": None,
        "started_at": started,
        "answered_at": None,
        "ended_at": started,
        "release_cause": "normalRelease",
        "cell_id": CELLS[int(rng.integers(len(CELLS)))],
        "call_reference": call_reference,
    }
    if record_type.startswith("voice"):
        answered = rng.random() < 0.6
        sequence = [None, 1, 2, 7, 2**31 - 1][int(rng.integers(5))]
        trunk = [None, *(TEXTS[t] for t in TRUNKS)]
        fields.update(
            other_party_number=_number(rng, 1, 18),
            answered_at=started + timedelta(seconds=int(rng.integers(0, 30))) if answered else None,
            ended_at=started + timedelta(seconds=30) + length,
            release_cause=CALL_CAUSES[int(rng.integers(len(CALL_CAUSES)))],
            record_sequence_number=sequence,
            incoming_trunk_group=trunk[int(rng.integers(len(trunk)))],
            outgoing_trunk_group=trunk[int(rng.integers(len(trunk)))],
        )
    elif record_type.startswith("sms"):
        fields["other_party_number"] = _number(rng, 1, 18)
    else:
        volumes = [0, 1, 127, 128, 65_535, 4_000_000_000, 2**40]
        fields.update(
            ended_at=started + length,
            release_cause=CLOSING_CAUSES[int(rng.integers(len(CLOSING_CAUSES)))],
            record_sequence_number=[None, 1, 2, 300][int(rng.integers(4))],
            uplink_bytes=volumes[int(rng.integers(len(volumes)))],
            downlink_bytes=volumes[int(rng.integers(len(volumes)))],
            apn=TEXTS[APNS[int(rng.integers(len(APNS)))]],
            charging_id=int(rng.choice([0, 255, 700_000_001, 2**32 - 1])),
        )
    return MobileCdr(**fields)


def _epoch(at: datetime | None) -> int:
    return -1 if at is None else int(at.timestamp())


def _cause_code(cdr: MobileCdr) -> int:
    # pycrate's own tables, so the codes do not come from the module under test.
    if cdr.record_type.startswith("sms"):
        return 0
    if cdr.record_type.startswith("voice"):
        return ts32298._CAUSE_FOR_TERM[cdr.release_cause]
    return ts32298._CAUSE_FOR_REC_CLOSING[cdr.release_cause]


def columns_of(
    cdrs: Sequence[MobileCdr], cells: Sequence[str] = CELLS, texts: Sequence[str] = TEXTS
) -> MobileCdrColumns:
    """The kernel's columns of ``cdrs``, cell and text rows against ``cells`` and ``texts``."""

    def ints(values: list[int], dtype: type = np.int64) -> np.ndarray:
        return np.array(values, dtype=dtype)

    def _text_row(text: str | None) -> int:
        return -1 if text is None else list(texts).index(text)

    return MobileCdrColumns(
        record_type=ints([RECORD_KINDS[c.record_type] for c in cdrs], np.int8),
        served_imsi=Digits.of([c.served_imsi for c in cdrs]),
        served_imei=Digits.of([c.served_imei for c in cdrs]),
        served_msisdn=Digits.of([c.served_msisdn for c in cdrs]),
        other_party=Digits.of([c.other_party_number for c in cdrs]),
        started_at=ints([_epoch(c.started_at) for c in cdrs]),
        answered_at=ints([_epoch(c.answered_at) for c in cdrs]),
        ended_at=ints([_epoch(c.ended_at) for c in cdrs]),
        cause=ints([_cause_code(c) for c in cdrs]),
        cell=ints([list(cells).index(c.cell_id) for c in cdrs], np.int32),
        call_reference=ints([c.call_reference for c in cdrs]),
        sequence=ints(
            [-1 if c.record_sequence_number is None else c.record_sequence_number for c in cdrs]
        ),
        uplink_bytes=ints([c.uplink_bytes for c in cdrs]),
        downlink_bytes=ints([c.downlink_bytes for c in cdrs]),
        charging_id=ints([c.charging_id or 0 for c in cdrs]),
        apn=ints([_text_row(c.apn) for c in cdrs], np.int32),
        incoming_trunk=ints([_text_row(c.incoming_trunk_group) for c in cdrs], np.int32),
        outgoing_trunk=ints([_text_row(c.outgoing_trunk_group) for c in cdrs], np.int32),
    )


def _file_arguments(offset: int, gateway: str, sequence: int) -> dict[str, Any]:
    opened = datetime(2026, 10, 1, 5, tzinfo=UTC)
    return {
        "node_address": gateway,
        "file_sequence_number": sequence,
        "opened_at": opened,
        "closed_at": opened + timedelta(seconds=3599),
        "utc_offset_minutes": offset,
        "recording_entity": MSC,
        "service_centre": SMSC,
    }


def _kernel_file(cdrs: Sequence[MobileCdr], arguments: dict[str, Any]) -> bytes:
    return bytes(
        encode_cdr_file(columns_of(cdrs), cell_table(CELLS), TextTable.of(TEXTS), **arguments)
    )


def _first_difference(cdrs: Sequence[MobileCdr], arguments: dict[str, Any]) -> str:
    """Which record the kernel writes differently, for a readable failure."""
    for n, cdr in enumerate(cdrs):
        ours = _kernel_file([cdr], arguments)
        theirs = ts32298.encode_cdr_file([cdr], **arguments)
        if ours != theirs:
            return f"record {n} {cdr}:\n ours   {ours.hex()}\n pycrate {theirs.hex()}"
    return "the records are equal one by one; the file framing differs"


def _generated_files() -> list[tuple[list[MobileCdr], dict[str, Any]]]:
    rng = np.random.default_rng(20261001)
    files = []
    reference = 0
    for sequence in range(1, 9):
        count = int(rng.integers(1, 150))
        cdrs = []
        for _ in range(count):
            reference = reference + 1 if rng.random() < 0.5 else int(rng.integers(0, 2**63 - 1))
            cdrs.append(random_cdr(rng, reference))
        offset, gateway = OFFSETS[sequence % 2], GATEWAYS[(sequence // 2) % 2]
        files.append((cdrs, _file_arguments(offset, gateway, sequence)))
    return files


FILES = _generated_files()


@pytest.mark.parametrize("index", range(len(FILES)))
def test_kernel_file_equals_pycrate_byte_for_byte(index: int) -> None:
    cdrs, arguments = FILES[index]
    theirs = ts32298.encode_cdr_file(cdrs, **arguments)
    ours = _kernel_file(cdrs, arguments)
    assert ours == theirs, _first_difference(cdrs, arguments)


def test_file_header_names_pycrates_release_and_the_closure_reason_given() -> None:
    cdrs, arguments = FILES[0]
    assert (RELEASE, VERSION) == (ts32298.RELEASE, ts32298.VERSION)
    closed_by_size = encode_cdr_file(
        columns_of(cdrs), cell_table(CELLS), TextTable.of(TEXTS), closure_reason=1, **arguments
    )
    header = ts32298_ber.read_header(bytes(closed_by_size))
    assert header is not None
    assert header.header.closure_reason == 1
    assert header.header.cdr_count == len(cdrs)
    assert header.file_length == closed_by_size.size


def test_cause_codes_are_pycrates() -> None:
    for cause in CallCause:
        assert ts32298._CAUSE_FOR_TERM[_camel(cause.name)] == cause
    for closing in RecordClosingCause:
        assert ts32298._CAUSE_FOR_REC_CLOSING[_camel(closing.name)] == closing


def _camel(name: str) -> str:
    head, *rest = name.lower().split("_")
    return head + "".join(part.capitalize() for part in rest)


def _largest(record_type: str) -> MobileCdr:
    """A record with every field at its longest: the most octets one can take."""
    at = datetime(2099, 12, 31, 23, 59, 59, tzinfo=UTC)
    first = datetime(2000, 1, 1, 6, tzinfo=UTC)
    return MobileCdr(
        record_type=record_type,  # type: ignore[arg-type]
        served_imsi="9" * 16,
        served_msisdn="9" * 16,
        served_imei="9" * 16,
        other_party_number=None if record_type == "data" else "9" * 18,
        started_at=first,
        answered_at=first if record_type.startswith("voice") else None,
        ended_at=at,
        release_cause="timeLimit" if record_type == "data" else "normalRelease",
        cell_id="999-999-65535-65535",
        call_reference=2**63 - 1,
        outgoing_trunk_group="x" * 300 if record_type.startswith("voice") else None,
        incoming_trunk_group="y" * 300 if record_type.startswith("voice") else None,
        record_sequence_number=2**62,
        uplink_bytes=2**63 - 1,
        downlink_bytes=2**63 - 1,
        apn="z" * 63 if record_type == "data" else None,
        charging_id=2**32 - 1 if record_type == "data" else None,
    )


@pytest.mark.parametrize("record_type", sorted(RECORD_KINDS))
def test_the_largest_record_of_each_kind_fits_its_room(record_type: str) -> None:
    cdr = _largest(record_type)
    texts = ("x" * 300, "y" * 300, "z" * 63)
    columns = columns_of([cdr], [cdr.cell_id], texts)
    body = encode_cdrs(
        columns,
        cell_table([cdr.cell_id]),
        TextTable.of(texts),
        recording_entity="9" * 18,
        service_centre="9" * 18,
        node_address=GATEWAYS[1],
        utc_offset_minutes=-360,
    )
    expected = ts32298.encode_call_event_record(
        cdr,
        recording_entity="9" * 18,
        service_centre="9" * 18,
        node_address=GATEWAYS[1],
        utc_offset_minutes=-360,
    )
    assert bytes(body[5:]) == expected
    assert body.size <= RECORD_ROOM + sum(len(t) for t in texts)


def expected_values(cdr: MobileCdr, gateway: str) -> dict[str, Any]:
    """The canonical values a parser must read from ``cdr``'s record, worked out from the
    field mapping of docs/formats/ts32298.md."""
    kind = cdr.record_type
    voice, data = kind.startswith("voice"), kind == "data"
    sequence = cdr.record_sequence_number
    if data:
        key = f"{gateway}-{cdr.charging_id}"
        last = cdr.release_cause not in ("timeLimit", "volumeLimit")
    else:
        key = f"{MSC}-{cdr.call_reference}"
        last = cdr.release_cause not in ("partialRecord",)
    answered = cdr.answered_at is not None or (voice and (sequence or 0) > 1)
    if voice and cdr.answered_at is not None:
        duration = int((cdr.ended_at - cdr.answered_at).total_seconds())
    elif (voice and answered) or data:
        duration = int((cdr.ended_at - cdr.started_at).total_seconds())
    else:
        duration = 0
    partial = sequence is not None and not kind.startswith("sms")
    return {
        "record_type": kind,
        "record_key": f"{key}-{sequence if partial else 0}",
        "served_imsi": cdr.served_imsi,
        "served_imei": cdr.served_imei,
        "served_msisdn": cdr.served_msisdn,
        "other_party_number": cdr.other_party_number,
        "started_at": cdr.started_at,
        "answered_at": cdr.answered_at if voice else None,
        "ended_at": cdr.ended_at,
        "duration_seconds": duration,
        "uplink_bytes": cdr.uplink_bytes,
        "downlink_bytes": cdr.downlink_bytes,
        "data_volume_bytes": cdr.uplink_bytes + cdr.downlink_bytes,
        "is_answered": answered or not voice,
        "release_cause": cdr.release_cause,
        "outgoing_trunk_group": cdr.outgoing_trunk_group,
        "incoming_trunk_group": cdr.incoming_trunk_group,
        "cell_id": cdr.cell_id,
        "session_key": key if partial else None,
        "partial_sequence": sequence if partial else None,
        "is_last_partial": last if partial else None,
    }


@pytest.mark.parametrize("index", range(len(FILES)))
def test_our_parsers_read_the_kernels_records_back(index: int) -> None:
    cdrs, arguments = FILES[index]
    data = _kernel_file(cdrs, arguments)
    context = FileContext("msc_2026100100_000001.ber", "msc-chi-01", "America/Chicago")
    items = list(ts32298_ber.parse_file(data, context))
    assert all(isinstance(item, ParsedRecord) for item in items), items
    expected = [expected_values(c, arguments["node_address"]) for c in cdrs]
    library = [{k: item.values.get(k) for k in expected[0]} for item in items]  # type: ignore[union-attr]
    assert library == expected
    batch = ts32298_ber_fast.parse_file_columnar(data, context)
    assert batch is not None and not batch.rejects
    columnar = batch.records.select(list(expected[0])).to_pylist()
    assert columnar == expected


def test_validation_refuses_what_the_record_cannot_hold() -> None:
    cdrs, _ = FILES[0]
    columns = columns_of(cdrs)
    cells, texts = cell_table(CELLS), TextTable.of(TEXTS)
    switch = {
        "recording_entity": MSC,
        "service_centre": SMSC,
        "node_address": GATEWAYS[0],
        "utc_offset_minutes": -300,
    }
    narrow_times = replace(columns, started_at=columns.started_at.astype(np.int32))
    with pytest.raises(TypeError, match="started_at"):
        encode_cdrs(narrow_times, cells, texts, **switch)
    short_imei = replace(columns, served_imei=Digits.of(["1234"] * len(cdrs)))
    with pytest.raises(ValueError, match="served_imei"):
        encode_cdrs(short_imei, cells, texts, **switch)
    unknown_cell = replace(columns, cell=np.full(len(cdrs), len(CELLS), dtype=np.int32))
    with pytest.raises(ValueError, match="cell"):
        encode_cdrs(unknown_cell, cells, texts, **switch)
    with pytest.raises(ValueError, match="digits"):
        Digits.of(["12a"])
    with pytest.raises(ValueError, match="MCC-MNC-LAC-CI"):
        cell_table(["310-260-1"])
