"""Inputs for the fuzz targets: valid seeds of every format and the ways to break them.

Every target draws from three kinds of input (docs/fuzzing.md):

- random bytes;
- a valid seed mutated at the byte level: a byte flipped, bytes inserted (NUL, CR, LF,
  CRLF, quotes, separators, invalid UTF-8, a BOM), a range deleted or repeated, the input
  truncated at any byte;
- a valid seed mutated with knowledge of its structure: for text formats one field of one
  line replaced by a hostile value (huge numbers, NUL, invalid UTF-8, non-ASCII digits,
  CRLF, impossible or DST-skipped times, a field past the CSV field limit), lines repeated
  or swapped; for BER (TS 32.298 CDRs, TAP files) one element of the TLV tree given a
  length that overflows or runs past its parent, an indefinite length, nesting thousands
  deep, a huge or empty INTEGER, another tag, dropped or repeated, and the file re-framed
  so the mutation reaches the decoder rather than the framing.

Seeds are built here from the project's own writers and the committed fixtures, plus the
public samples when ../shared/samples is present.
"""

from __future__ import annotations

import copy
import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from fractions import Fraction
from pathlib import Path
from zoneinfo import ZoneInfo

from hypothesis import strategies as st
from mobile_cdrs import T0, mobile_cdr
from switch_lines import asterisk_line, freeswitch_line

from pipelines.formats import ts32298
from pipelines.formats.ts32297 import Ts32297Error, decode_file_header, encode_file, iter_cdrs
from pipelines.mediation import freeswitch_cdr_csv
from pipelines.mediation.asterisk_cdr_custom import SAMPLE_MASTER_COLUMNS
from pipelines.roaming import tap_file

TESTS = Path(__file__).resolve().parents[1]
FIXTURES = TESTS / "fixtures"
SAMPLES = TESTS.parents[1] / "shared" / "samples"

# --- hostile values -----------------------------------------------------------------------

#: Bytes that break text formats: NUL, line ends, quotes, separators, invalid or unusual
#: UTF-8 (a lone lead byte, an invalid continuation, a surrogate, a BOM, U+2028, NEL), and
#: the ASCII controls str.splitlines() treats as line breaks.
HOSTILE_BYTES = (
    b"\x00",
    b"\r",
    b"\n",
    b"\r\n",
    b'"',
    b",",
    b"|",
    b";",
    b"\t",
    b" ",
    b"\xff",
    b"\xc3",
    b"\xc3\x28",
    b"\xed\xa0\x80",
    b"\xef\xbb\xbf",
    b"\xe2\x80\xa8",
    b"\xc2\x85",
    b"\x0b",
    b"\x0c",
    b"\x1c",
)
#: Field values that break a field's own rules.
HOSTILE_FIELDS = (
    b"",
    b" ",
    b"0",
    b"-1",
    b"-0",
    b"+1",
    b"1e9",
    b"0x1f",
    b"1.5",
    b"NaN",
    b"9" * 18,
    b"9" * 19,
    b"18446744073709551616",
    b"9" * 400,
    b"9" * 4301,
    "٣١٢٥٥٥٠١٠١".encode(),  # Arabic-Indic digits: str.isdigit() says yes, [0-9] no
    "３１２５５５０１０１".encode(),  # fullwidth digits
    "1²".encode(),
    b"\x00",
    b"\xff\xfe",
    b'"',
    b'""',
    b'a"b',
    b"a,b",
    b"a|b",
    b"\r\n",
    b"\n",
    "\u2028".encode(),
    "\ufeff3125550101".encode(),
    b"9999-12-31 23:59:59",
    b"0001-01-01 00:00:00",
    b"0000-00-00 00:00:00",
    b"2024-02-30 12:00:00",
    b"2024-03-10 02:30:00",  # skipped by Chicago's spring-forward
    b"2024-11-03 01:30:00",  # repeated at Chicago's fall-back
    b"1970-01-01 00:00:00",
    b"0",
    b"253402300800",  # one second past datetime's range, as epoch seconds
    b"99999999999999",
    b"anonymous",
    b"+",
    b"()",
    b"x" * 140_000,  # past csv.field_size_limit()
)

# --- byte-level mutations -----------------------------------------------------------------


@dataclass(frozen=True)
class Mutation:
    """One change to an input: kind, where (any int: taken modulo the size), and what."""

    kind: str
    where: int
    other: int = 0
    value: bytes = b""


def apply_mutations(data: bytes, mutations: Sequence[Mutation], separator: bytes) -> bytes:
    """``data`` with each mutation applied in turn (``separator`` splits a line's fields)."""
    for mutation in mutations:
        data = _MUTATORS[mutation.kind](data, mutation, separator)
    return data


def _replace(data: bytes, m: Mutation, _: bytes) -> bytes:
    if not data:
        return m.value
    at = m.where % len(data)
    return data[:at] + m.value[:1] + data[at + 1 :]


def _insert(data: bytes, m: Mutation, _: bytes) -> bytes:
    at = m.where % (len(data) + 1)
    return data[:at] + m.value + data[at:]


def _delete(data: bytes, m: Mutation, _: bytes) -> bytes:
    if not data:
        return data
    at = m.where % len(data)
    return data[:at] + data[at + 1 + m.other % 64 :]


def _truncate(data: bytes, m: Mutation, _: bytes) -> bytes:
    return data[: m.where % (len(data) + 1)]


def _repeat(data: bytes, m: Mutation, _: bytes) -> bytes:
    if not data:
        return data
    at = m.where % len(data)
    piece = data[at : at + 1 + m.other % 256]
    return data[:at] + piece + piece + data[at + len(piece) :]


def _field(data: bytes, m: Mutation, separator: bytes) -> bytes:
    lines = data.split(b"\n")
    line = m.where % len(lines)
    fields = lines[line].split(separator)
    column = m.other % len(fields)
    # Keep the field's quoting when it had some, so the value reaches the field's checks.
    quoted = fields[column].startswith(b'"') and fields[column].endswith(b'"')
    fields[column] = b'"' + m.value + b'"' if quoted else m.value
    lines[line] = separator.join(fields)
    return b"\n".join(lines)


def _line(data: bytes, m: Mutation, _: bytes) -> bytes:
    lines = data.split(b"\n")
    a, b = m.where % len(lines), m.other % len(lines)
    if m.value == b"swap":
        lines[a], lines[b] = lines[b], lines[a]
    else:
        lines.insert(b, lines[a])
    return b"\n".join(lines)


_MUTATORS: dict[str, Callable[[bytes, Mutation, bytes], bytes]] = {
    "replace": _replace,
    "insert": _insert,
    "delete": _delete,
    "truncate": _truncate,
    "repeat": _repeat,
    "field": _field,
    "line": _line,
}

_POSITION = st.integers(0, 1 << 20)
_BYTE_MUTATIONS = st.one_of(
    st.builds(Mutation, st.just("replace"), _POSITION, value=st.binary(min_size=1, max_size=1)),
    st.builds(
        Mutation,
        st.just("insert"),
        _POSITION,
        value=st.sampled_from(HOSTILE_BYTES) | st.binary(min_size=1, max_size=8),
    ),
    st.builds(Mutation, st.just("delete"), _POSITION, st.integers(0, 63)),
    st.builds(Mutation, st.just("truncate"), _POSITION),
    st.builds(Mutation, st.just("repeat"), _POSITION, st.integers(0, 255)),
)
_TEXT_MUTATIONS = st.one_of(
    _BYTE_MUTATIONS,
    st.builds(
        Mutation,
        st.just("field"),
        _POSITION,
        _POSITION,
        st.sampled_from(HOSTILE_FIELDS) | st.binary(max_size=12),
    ),
    st.builds(Mutation, st.just("line"), _POSITION, _POSITION, st.sampled_from([b"swap", b"dup"])),
)


def mutated(seeds: Sequence[bytes], separator: bytes | None = None) -> st.SearchStrategy[bytes]:
    """A seed with up to four mutations: byte-level, and for a text format (``separator``
    given) field- and line-level."""
    kinds = _BYTE_MUTATIONS if separator is None else _TEXT_MUTATIONS
    return st.builds(
        lambda seed, changes: apply_mutations(seed, changes, separator or b","),
        st.sampled_from(list(seeds)),
        st.lists(kinds, min_size=1, max_size=4),
    )


def any_input(
    seeds: Sequence[bytes],
    separator: bytes | None = None,
    *,
    structured: st.SearchStrategy[bytes] | None = None,
) -> st.SearchStrategy[bytes]:
    """Random bytes, the seeds as they are, mutated seeds, and ``structured`` mutations."""
    options = [st.binary(max_size=512), st.sampled_from(list(seeds)), mutated(seeds, separator)]
    if structured is not None:
        options.append(structured)
    return st.one_of(options)


# --- BER: the TLV tree and its mutations ----------------------------------------------------


@dataclass
class Tlv:
    """One BER element: identifier octets and either content octets or child elements."""

    tag: bytes
    value: bytes | list[Tlv]
    length: bytes | None = None  # encoded length octets to write instead of the right ones
    indefinite: bool = False

    def encode(self) -> bytes:
        content = (
            self.value
            if isinstance(self.value, bytes)
            else b"".join(c.encode() for c in self.value)
        )
        if self.indefinite:
            return self.tag + b"\x80" + content + b"\x00\x00"
        return self.tag + (self.length or _length(len(content))) + content


def _length(n: int) -> bytes:
    if n < 0x80:
        return bytes([n])
    octets = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(octets)]) + octets


def read_tlvs(data: bytes, depth: int = 0) -> list[Tlv] | None:
    """The definite-length BER elements of ``data``, constructed ones with their children
    (up to 64 deep); None when ``data`` is not a sequence of such elements."""
    elements = []
    p = 0
    while p < len(data):
        first, start = data[p], p
        p += 1
        if first & 0x1F == 0x1F:
            while p < len(data) and data[p] & 0x80:
                p += 1
            p += 1
        if p >= len(data):
            return None
        tag, size = data[start:p], data[p]
        p += 1
        if size & 0x80:
            count = size & 0x7F
            if count == 0 or count > 4 or p + count > len(data):
                return None
            size = int.from_bytes(data[p : p + count], "big")
            p += count
        if p + size > len(data):
            return None
        content = data[p : p + size]
        p += size
        children = read_tlvs(content, depth + 1) if first & 0x20 and depth < 64 else None
        elements.append(Tlv(tag, content if children is None else children))
    return elements


def _walk(elements: list[Tlv]) -> list[tuple[list[Tlv], int]]:
    """(parent list, index) of every element, in document order."""
    places = []
    for index, element in enumerate(elements):
        places.append((elements, index))
        if isinstance(element.value, list):
            places.extend(_walk(element.value))
    return places


#: Length octets no decoder may trust: 2^32 - 1, 8- and 9-octet lengths, indefinite without
#: an end-of-contents, the reserved 0xFF, a non-minimal long form.
BAD_LENGTHS = (
    b"\x84\xff\xff\xff\xff",
    b"\x88" + b"\xff" * 8,
    b"\x89\x01" + b"\x00" * 8,
    b"\x80",
    b"\xff",
    b"\x82\x00\x05",
    b"\x7f",
    b"\x00",
)
#: INTEGER contents: empty, zero, -1, most negative one-octet, 72-bit values, 160 octets.
BAD_INTEGERS = (
    b"",
    b"\x00",
    b"\xff",
    b"\x80",
    b"\x7f" + b"\xff" * 8,
    b"\x00" * 9 + b"\x01",
    b"\xff" * 20,
    b"\x01" * 160,
)
#: Identifier octets: universal, application, context and private tags, short and long
#: form (up to a tag number past 2^32), primitive and constructed.
BAD_TAGS = (
    b"\x02",
    b"\x04",
    b"\x30",
    b"\x61",
    b"\x80",
    b"\xbf\x81\x00",
    b"\x9f\x8f\xff\xff\xff\x7f",
    b"\xdf\x7f",
    b"\x1f\x80\x80\x01",
    b"\x00",
)


@dataclass(frozen=True)
class TreeMutation:
    """One change to a BER tree: kind, which element (modulo their number), and a choice."""

    kind: str
    element: int
    choice: int = 0
    octets: bytes = b""


def mutate_tree(data: bytes, mutations: Sequence[TreeMutation]) -> bytes:
    """``data`` (BER elements) with each mutation applied, re-encoded so that every length
    but a deliberately wrong one is right; ``data`` unchanged when it is not BER."""
    elements = read_tlvs(data)
    if not elements:
        return data
    for mutation in mutations:
        places = _walk(elements)
        if not places:
            break
        parent, index = places[mutation.element % len(places)]
        _TREE_MUTATORS[mutation.kind](parent, index, mutation)
    return b"".join(element.encode() for element in elements)


def _bad_length(parent: list[Tlv], index: int, m: TreeMutation) -> None:
    parent[index].length = BAD_LENGTHS[m.choice % len(BAD_LENGTHS)]


def _indefinite(parent: list[Tlv], index: int, m: TreeMutation) -> None:
    element = parent[index]
    if isinstance(element.value, list):  # BER allows it on constructed elements only
        element.indefinite = True
    else:
        element.value = element.value + b"\x00\x00"
        element.length = b"\x80"


def _nest(parent: list[Tlv], index: int, m: TreeMutation) -> None:
    # Built as octets: a tree thousands deep would exhaust Python's recursion here.
    inner = parent[index].encode()
    for _ in range((10, 100, 1000, 4000)[m.choice % 4] - 1):
        inner = b"\xa0" + _length(len(inner)) + inner
    parent[index] = Tlv(b"\xa0", inner)


def _integer(parent: list[Tlv], index: int, m: TreeMutation) -> None:
    parent[index].value = BAD_INTEGERS[m.choice % len(BAD_INTEGERS)]


def _octets(parent: list[Tlv], index: int, m: TreeMutation) -> None:
    parent[index].value = m.octets


def _tag(parent: list[Tlv], index: int, m: TreeMutation) -> None:
    parent[index].tag = BAD_TAGS[m.choice % len(BAD_TAGS)]


def _drop(parent: list[Tlv], index: int, m: TreeMutation) -> None:
    del parent[index]


def _twice(parent: list[Tlv], index: int, m: TreeMutation) -> None:
    parent.insert(index, copy.deepcopy(parent[index]))


def _flip_constructed(parent: list[Tlv], index: int, m: TreeMutation) -> None:
    element = parent[index]
    element.tag = bytes([element.tag[0] ^ 0x20]) + element.tag[1:]
    if isinstance(element.value, list):
        element.value = b"".join(child.encode() for child in element.value)


_TREE_MUTATORS: dict[str, Callable[[list[Tlv], int, TreeMutation], None]] = {
    "length": _bad_length,
    "indefinite": _indefinite,
    "nest": _nest,
    "integer": _integer,
    "octets": _octets,
    "tag": _tag,
    "drop": _drop,
    "twice": _twice,
    "constructed": _flip_constructed,
}

TREE_MUTATIONS = st.builds(
    TreeMutation,
    st.sampled_from(sorted(_TREE_MUTATORS)),
    _POSITION,
    st.integers(0, 15),
    st.binary(max_size=24),
)


def ber_mutated(seeds: Sequence[bytes]) -> st.SearchStrategy[bytes]:
    """A BER seed with one to three tree mutations."""
    return st.builds(
        mutate_tree, st.sampled_from(list(seeds)), st.lists(TREE_MUTATIONS, min_size=1, max_size=3)
    )


def cdr_file_mutated(files: Sequence[bytes]) -> st.SearchStrategy[bytes]:
    """A TS 32.297 file with tree mutations in one of its CDRs, re-framed (CDR and file
    lengths right) so the decoder, not the framing, meets the mutation."""
    return st.builds(
        _mutate_cdr,
        st.sampled_from(list(files)),
        _POSITION,
        st.lists(TREE_MUTATIONS, min_size=1, max_size=3),
    )


def _mutate_cdr(data: bytes, which: int, mutations: list[TreeMutation]) -> bytes:
    try:
        frame = decode_file_header(data)
        cdrs = [(cdr.header, cdr.payload) for cdr in iter_cdrs(data, frame.header_length)]
    except Ts32297Error:
        return data
    if not cdrs:
        return data
    index = which % len(cdrs)
    header, payload = cdrs[index]
    cdrs[index] = (header, mutate_tree(payload, mutations))
    try:
        return encode_file(frame.header, cdrs)
    except ValueError:  # a payload past 65,535 octets: no CDR header can frame it
        return data


# --- seeds -----------------------------------------------------------------------------------


def _samples(folder: str, pattern: str) -> list[bytes]:
    return [path.read_bytes() for path in sorted((SAMPLES / folder).glob(pattern))]


@functools.cache
def asterisk_files() -> tuple[bytes, ...]:
    """cdr_csv files: every layout, inbound and outbound, answered or not, a DST hour."""
    lines = [
        asterisk_line(),
        asterisk_line(columns=18),
        asterisk_line(columns=16, uniqueid=""),
        asterisk_line(dcontext="from-trunk", src="anonymous", dst="3125550101"),
        asterisk_line(answer="", billsec="0", disposition="NO ANSWER", uniqueid="1719835200.2"),
        asterisk_line(
            start="2024-11-03 01:30:00",
            answer="2024-11-03 01:30:05",
            end="2024-11-03 01:31:05",
            uniqueid="1730615400.3",
        ),
        asterisk_line(dst="011447700900123", dstchannel="Local/100@ctx-0001;2", uniqueid="9.4"),
    ]
    landing = FIXTURES / "mediation" / "landing" / "asterisk_cdr_csv"
    fixtures = [path.read_bytes() for path in sorted(landing.glob("*/*.csv"))]
    return (b"".join(lines), *lines[:2], *fixtures, *_samples("asterisk", "*.csv"))


@functools.cache
def asterisk_long_file() -> bytes:
    """200 CDRs the columnar path reads in columns: one mutated line in it is left to the
    row parser's own code (under 1% of the file), so the merge of the two is fuzzed too."""
    return (asterisk_line() + asterisk_line(columns=18)) * 100


@functools.cache
def cdr_custom_files() -> tuple[bytes, ...]:
    """Files in cdr_custom.conf.sample's Master.csv order."""
    values = {
        **dict.fromkeys(SAMPLE_MASTER_COLUMNS, ""),
        "clid": '"Alice" <3125550101>',
        "src": "3125550101",
        "dst": "2125550199",
        "dcontext": "from-internal",
        "channel": "PJSIP/3125550101-00000001",
        "dstchannel": "PJSIP/tg_att_out-00000002",
        "start": "2024-07-01 12:00:00",
        "answer": "2024-07-01 12:00:05",
        "end": "2024-07-01 12:01:05",
        "duration": "65",
        "billsec": "60",
        "disposition": "ANSWERED",
        "uniqueid": "1719835200.1",
        "sequence": "1",
    }
    line = ",".join('"' + values[c].replace('"', '""') + '"' for c in SAMPLE_MASTER_COLUMNS)
    return (line.encode() + b"\n", *_samples("asterisk", "cdr_custom_order_Master.csv"))


#: A cdr_custom.conf with a legacy and an advanced mapping.
CDR_CUSTOM_CONF = (
    "[mappings]\n"
    "Master.csv => "
    + ",".join(f"${{CSV_QUOTE(${{CDR({c})}})}}" for c in SAMPLE_MASTER_COLUMNS)
    + "\n\n[Simple.csv]\nformat = dsv\nseparator_character = ,\n"
    "fields = clid, src, dst, dcontext, channel, dstchannel, lastapp, lastdata, start, answer, "
    "end, duration, billsec, disposition, amaflags, accountcode, uniqueid(noquote), userfield, "
    "sequence\n"
).encode()


@functools.cache
def freeswitch_files() -> tuple[bytes, ...]:
    lines = [
        freeswitch_line(),
        freeswitch_line(context="public", caller="anonymous", destination="3125550101"),
        freeswitch_line(answer="", billsec="0", cause="NO_ANSWER", uuid="b-2"),
        freeswitch_line(name='Smith, "Al"', uuid="c-3"),
    ]
    fixture = (FIXTURES / "freeswitch" / "Master.csv").read_bytes()
    return (b"".join(lines), lines[0], fixture, *_samples("freeswitch", "*.csv"))


@functools.cache
def freeswitch_configs() -> tuple[bytes, ...]:
    example = (
        '<configuration name="cdr_csv.conf"><templates><template name="example">'
        + ",".join(f'"${{{name}}}"' for name in freeswitch_cdr_csv.EXAMPLE_COLUMNS)
        + "</template></templates></configuration>"
    )
    return (example.encode(), *_samples("freeswitch", "*.xml"))


@functools.cache
def cucm_files() -> tuple[bytes, ...]:
    fixture = (FIXTURES / "cisco_cucm" / "cdr_telco-chi_01_202407011640_000123").read_bytes()
    head = b"\n".join(fixture.split(b"\n")[:3]) + b"\n"
    return (fixture, head)


@functools.cache
def opensips_files() -> tuple[bytes, ...]:
    fixture = (FIXTURES / "opensips" / "acc_cgrates_layout.log").read_bytes()
    samples = [
        sample.replace(b"|1001|", b"|13125551001|").replace(b"|1002|", b"|13125551002|")
        for sample in _samples("opensips", "*.psv")
    ]
    call = (
        b"INVITE|a1|b1|call-1@10.0.0.1|200|OK|1720000000|*postpaid|13125550101|12125550199||1:1\n"
        b"BYE|b1|a1|call-1@10.0.0.1|200|OK|1720000065|||||1:1\n"
    )
    return (call, fixture, *samples)


CDR_KINDS = ("voice_mo", "voice_mt", "sms_mo", "sms_mt", "data")


def cdr_file(items: Sequence[object]) -> bytes:
    """A TS 32.297 file of MobileCdr values or raw CDR payloads."""
    return ts32298.encode_cdr_file(
        items,  # type: ignore[arg-type]
        node_address="10.1.2.3",
        file_sequence_number=7,
        opened_at=T0,
        closed_at=T0 + timedelta(hours=1),
        utc_offset_minutes=-360,
        recording_entity="13125550000",
        service_centre="13125550001",
    )


@functools.cache
def ber_records() -> tuple[bytes, ...]:
    """CDR payloads: every mapped record type, partials, an unanswered call, trunk groups."""
    cdrs = [
        *(mobile_cdr(kind) for kind in CDR_KINDS),
        mobile_cdr("data", record_sequence_number=2, release_cause="timeLimit"),
        mobile_cdr("voice_mo", record_sequence_number=3, outgoing_trunk_group="TG-1"),
        mobile_cdr("voice_mt", answered_at=None, incoming_trunk_group="TG-2"),
    ]
    return tuple(
        ts32298.encode_call_event_record(
            cdr,
            recording_entity="13125550000",
            service_centre="13125550001",
            node_address="10.1.2.3",
            utc_offset_minutes=-360,
        )
        for cdr in cdrs
    )


@functools.cache
def ber_files() -> tuple[bytes, ...]:
    records = ber_records()
    return (cdr_file(list(records)), cdr_file(list(records[:1])), cdr_file(list(records[5:])))


#: A TAP batch's events: a call each way, SMS each way, a data session.
_TAP_EVENTS = tuple(
    tap_file.TapCallEvent(
        record_type=kind,
        imsi="310260123456789",
        msisdn="13125550123",
        imei="490154203237518" if kind != "sms_mt" else None,
        other_party_number=None if kind == "data" else "447700900123",
        started_at=datetime(2026, 10, 3, 9, 30, 15, tzinfo=UTC) + timedelta(minutes=k),
        duration_seconds=0 if kind.startswith("sms") else 125,
        uplink_bytes=1000 if kind == "data" else 0,
        downlink_bytes=20000 if kind == "data" else 0,
        recording_entity=2 if kind == "data" else 1,
        location_area=1234,
        cell_id=5678,
        charge=12345 * (k + 1),
        chargeable_units=125,
        charged_units=180,
        apn="internet" if kind == "data" else None,
        charging_id=777 if kind == "data" else None,
    )
    for k, kind in enumerate(tap_file.RECORD_TYPES)
)


def tap_header(sequence: int = 42) -> tap_file.BatchHeader:
    created = datetime(2026, 11, 1, 7, tzinfo=UTC)
    return tap_file.BatchHeader(
        sender="DEUZ1",
        recipient="USAZ9",
        file_sequence_number=sequence,
        created_at=created,
        available_at=created + timedelta(minutes=1),
        cut_off_at=created - timedelta(hours=2),
        zone=ZoneInfo("Europe/Berlin"),
        national_prefix="49",
        local_currency="EUR",
        tap_currency="EUR",
        tap_decimal_places=5,
        exchange_rate=Fraction("1.0925"),
        recording_entities=(
            tap_file.RecordingEntity(1, tap_file.MSC_ENTITY, "4917000000"),
            tap_file.RecordingEntity(2, tap_file.GATEWAY_ENTITY, "10.9.8.7"),
        ),
    )


@functools.cache
def tap_files() -> tuple[bytes, ...]:
    """A transfer batch of every event kind, one of one event, a notification, samples."""
    return (
        tap_file.transfer_batch(tap_header(), _TAP_EVENTS),
        tap_file.transfer_batch(tap_header(43), _TAP_EVENTS[:1]),
        tap_file.notification(tap_header(44)),
        *_samples("tap3", "tap_*.ber"),
        *_samples("tap3", "asn1c_*.ber"),
    )


@functools.cache
def rap_files() -> tuple[bytes, ...]:
    """A RAP return of a batch whose audit fails, and the RAP samples."""
    from pipelines.mediation import tap3

    value = tap_file.transfer_batch_value(tap_header(), _TAP_EVENTS)
    value["auditControlInfo"]["callEventDetailsCount"] += 1
    batch = tap3.read_batch(tap_file.encode("transferBatch", value))
    created = datetime(2026, 11, 2, 8, tzinfo=ZoneInfo("America/Chicago"))
    rap = tap3.build_rap(batch, "audit", rap_file_sequence_number=1, created_at=created)
    return (rap, *_samples("tap3", "rap_*.ber"))


INVOICE_HEADER = (
    "record_type,invoice_number,carrier_id,billing_period,invoice_date,currency,traffic_date,"
    "destination_code,destination_name,batch_id,calls,minutes,rate,amount"
)
_INVOICE_ROWS = (
    "detail,INV-1,CR-A,2026-10,2026-11-03,USD,2026-10-05,44,United Kingdom,B-1,2,2.5,0.0205,"
    "0.05125",
    "detail,INV-1,CR-A,2026-10,2026-11-03,USD,2026-10-06,44,United Kingdom,B-2,1,1.0167,0.0205,"
    "0.0208",
    'summary,INV-1,CR-A,2026-10,2026-11-03,USD,,44,"United Kingdom, GB",,3,3.5167,,0.07205',
    "total,INV-1,CR-A,2026-10,2026-11-03,USD,,,,,,,,0.07205",
)


@functools.cache
def invoice_files() -> tuple[bytes, ...]:
    """A carrier invoice (CR-A, 2026-10, USD): details, a summary, a total."""
    text = "\n".join([INVOICE_HEADER, *_INVOICE_ROWS]) + "\n"
    return (text.encode(), text.replace("\n", "\r\n").encode(), ("\ufeff" + text).encode())
