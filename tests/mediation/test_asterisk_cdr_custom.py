import re
from datetime import UTC, datetime
from pathlib import Path

import pytest

from pipelines.mediation import asterisk_cdr_csv
from pipelines.mediation.asterisk_cdr_custom import (
    SAMPLE_MASTER_COLUMNS,
    MappingError,
    make_parser,
    parse_file,
    parse_mappings,
)
from pipelines.mediation.records import FileContext, ParsedRecord, RejectedRecord
from pipelines.schema import RejectReason

SAMPLES = Path(__file__).parents[2] / ".." / "shared" / "samples" / "asterisk"
CHICAGO = FileContext("Master.csv", "ast-chi-01", "America/Chicago")


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def outcome(item: ParsedRecord | RejectedRecord) -> object:
    return item.reason if isinstance(item, RejectedRecord) else "parsed"


# --- reading cdr_custom.conf ---------------------------------------------------------

# Asterisk's cdr_custom.conf.sample with its first Master.csv mapping uncommented; the
# high-resolution variant (CDR(duration,f)) and Simple.csv stay commented out.
SAMPLE_CONF = """\
;
; Asterisk Call Detail Record Logging (CDR) - Custom DSV Backend
;
[mappings]
Master.csv => ${CSV_QUOTE(${CDR(clid)})},${CSV_QUOTE(${CDR(src)})},${CSV_QUOTE(${CDR(dst)})},\
${CSV_QUOTE(${CDR(dcontext)})},${CSV_QUOTE(${CDR(channel)})},${CSV_QUOTE(${CDR(dstchannel)})},\
${CSV_QUOTE(${CDR(lastapp)})},${CSV_QUOTE(${CDR(lastdata)})},${CSV_QUOTE(${CDR(start)})},\
${CSV_QUOTE(${CDR(answer)})},${CSV_QUOTE(${CDR(end)})},${CSV_QUOTE(${CDR(duration)})},\
${CSV_QUOTE(${CDR(billsec)})},${CSV_QUOTE(${CDR(disposition)})},\
${CSV_QUOTE(${CDR(amaflags)})},${CSV_QUOTE(${CDR(accountcode)})},\
${CSV_QUOTE(${CDR(uniqueid)})},${CSV_QUOTE(${CDR(userfield)})},${CDR(sequence)}
;Master.csv => ${CSV_QUOTE(${CDR(clid)})},${CSV_QUOTE(${CDR(duration,f)})}
;Simple.csv => ${CSV_QUOTE(${EPOCH})},${CSV_QUOTE(${CDR(src)})},${CSV_QUOTE(${CDR(dst)})}
"""

# An operator's own order: ids first, durations quoted, sequence bare. The conf also has a
# legacy mapping in the older quoting style, and an advanced mapping of the same order with
# a user variable in place of userfield.
CUSTOM_ORDER = [
    "uniqueid", "linkedid", "sequence", "start", "answer", "end", "src", "dst", "dcontext",
    "channel", "dstchannel", "disposition", "duration", "billsec", "userfield",
]  # fmt: skip
CUSTOM_CONF = """\
[mappings]
calls.csv => ${CSV_QUOTE(${CDR(uniqueid)})},${CSV_QUOTE(${CDR(linkedid)})},\
${CDR(sequence)},${CSV_QUOTE(${CDR(start)})},${CSV_QUOTE(${CDR(answer)})},\
${CSV_QUOTE(${CDR(end)})},${CSV_QUOTE(${CDR(Src)})},${CSV_QUOTE(${CDR(dst)})},\
${CSV_QUOTE(${CDR(dcontext)})},${CSV_QUOTE(${CDR(channel)})},\
${CSV_QUOTE(${CDR(dstchannel)})},${CSV_QUOTE(${CDR(disposition)})},\
${CSV_QUOTE(${CDR(duration)})},${CSV_QUOTE(${CDR(billsec)})},${CSV_QUOTE(${CDR(userfield)})}
old.csv => "${CDR(clid)}","${CDR(src)}",${cdr(dst)}  ; a comment

[billing.csv]
format = dsv
quoting_method = non_numeric  ; any quoting reads back as CSV
fields = uniqueid(noquote), linkedid, sequence, start, answer, end, SRC, dst, dcontext, \
channel, dstchannel, disposition, duration, billsec, ds_type(uservar^quote)
"""


def test_parse_mappings_reads_the_sample_master_mapping() -> None:
    assert parse_mappings(SAMPLE_CONF) == {"Master.csv": list(SAMPLE_MASTER_COLUMNS)}
    assert len(SAMPLE_MASTER_COLUMNS) == 19


def test_parse_mappings_reads_legacy_and_advanced_mappings_in_their_order() -> None:
    assert parse_mappings(CUSTOM_CONF) == {
        "calls.csv": CUSTOM_ORDER,
        "old.csv": ["clid", "src", "dst"],
        "billing.csv": [*CUSTOM_ORDER[:-1], "ds_type"],
    }


@pytest.mark.parametrize(
    ("conf", "detail"),
    [
        ('[mappings]\na.csv => ${CDR(src)},"fixed text"', "a.csv: field '\"fixed text\"'"),
        ("[mappings]\na.csv => ${CSV_QUOTE(${EPOCH})},${CDR(src)}", "'${CSV_QUOTE(${EPOCH})}'"),
        ("[mappings]\na.csv => ${CSV_QUOTE(${CDR(duration,f)})}", "CDR(duration,f)"),
        ("[mappings]\na.csv => ${CDR(src)}, ${CDR(dst)}", "field ' ${CDR(dst)}'"),
        ('[a.csv]\nfields = clid,"Some Literal",src', "a.csv: field '\"Some Literal\"'"),
        ("[a.csv]\nfields = src, start(int64)", "field 'start(int64)' is not a plain"),
        ("[a.csv]\nformat = json\nfields = src", "format = json is not CSV"),
        ("[a.csv]\nseparator_character = \\t\nfields = src", "separator_character = \\t"),
        ("[a.csv]\nquoting_method = all", "a.csv: section has no fields"),
        ('#include "more_mappings.conf"\n', "line 1 is not read"),
        ("[mappings](!)\na.csv => ${CDR(src)}", "line 1 is not read"),
        ("a.csv => ${CDR(src)}", "line 1 is not read"),  # outside any section
    ],
)
def test_unreadable_mappings_are_mapping_errors(conf: str, detail: str) -> None:
    with pytest.raises(MappingError, match=re.escape(detail)):
        parse_mappings(conf)


def test_a_mapping_without_a_needed_column_fails_at_construction() -> None:
    with pytest.raises(MappingError, match="lacks dstchannel, billsec: uniqueid, "):
        make_parser([c for c in CUSTOM_ORDER if c not in {"dstchannel", "billsec"}])


# --- rows in a custom order read as the same CDR in cdr_csv ------------------------------

ANSWERED_OUT = dict(
    src="3125550101", dst="2125550199", dcontext="from-internal",
    channel="PJSIP/3125550101-00000001", dstchannel="PJSIP/tg_att_out-00000002",
    start="2024-07-01 12:00:00", answer="2024-07-01 12:00:05", end="2024-07-01 12:01:05",
    duration="65", billsec="60", disposition="ANSWERED",
    uniqueid="1719835200.1", linkedid="1719835200.0", sequence="3",
)  # fmt: skip
UNANSWERED_IN = {
    **ANSWERED_OUT,
    **dict(src="+447700900123", dst="3125550102", dcontext="from-trunk",
           channel="PJSIP/tg_bt_in-00000003", dstchannel="PJSIP/3125550102-00000004",
           answer="", end="2024-07-01 12:00:30", duration="30", billsec="0",
           disposition="NO ANSWER"),
}  # fmt: skip


def custom_line(call: dict[str, str]) -> bytes:
    """``call`` in CUSTOM_ORDER as cdr_custom writes it: CSV_QUOTE'd, even an empty answer."""
    c = call
    return (
        f'"{c["uniqueid"]}","{c["linkedid"]}",{c["sequence"]},"{c["start"]}","{c["answer"]}",'
        f'"{c["end"]}","{c["src"]}","{c["dst"]}","{c["dcontext"]}","{c["channel"]}",'
        f'"{c["dstchannel"]}","{c["disposition"]}","{c["duration"]}","{c["billsec"]}",""\n'
    ).encode()


def cdr_csv_line(call: dict[str, str]) -> bytes:
    """``call`` in the 21-column cdr_csv layout: numbers bare, an empty answer unquoted."""
    c = call
    answer = f'"{c["answer"]}"' if c["answer"] else ""
    return (
        f'"","{c["src"]}","{c["dst"]}","{c["dcontext"]}","","{c["channel"]}",'
        f'"{c["dstchannel"]}","Dial","","{c["start"]}",{answer},"{c["end"]}",'
        f'{c["duration"]},{c["billsec"]},"{c["disposition"]}","DOCUMENTATION",'
        f'"{c["uniqueid"]}","","","{c["linkedid"]}",{c["sequence"]}\n'
    ).encode()


def read_custom(data: bytes) -> list[ParsedRecord | RejectedRecord]:
    return list(make_parser(CUSTOM_ORDER)(data, CHICAGO))


def read_cdr_csv(data: bytes) -> list[ParsedRecord | RejectedRecord]:
    return list(asterisk_cdr_csv.parse_file(data, CHICAGO))


@pytest.mark.parametrize("call", [ANSWERED_OUT, UNANSWERED_IN], ids=["answered", "inbound"])
def test_a_custom_order_row_maps_as_the_same_cdr_csv_row(call: dict[str, str]) -> None:
    (custom,) = read_custom(custom_line(call))
    (csv,) = read_cdr_csv(cdr_csv_line(call))
    assert isinstance(custom, ParsedRecord) and isinstance(csv, ParsedRecord)
    assert custom.values == csv.values


def test_a_custom_order_row_has_the_values_of_its_call() -> None:
    # 12:00 CDT = 17:00Z; the key is uniqueid#sequence, the session the linkedid.
    (out,) = read_custom(custom_line(ANSWERED_OUT))
    (inbound,) = read_custom(custom_line(UNANSWERED_IN))
    assert isinstance(out, ParsedRecord) and isinstance(inbound, ParsedRecord)
    assert {k: out.values[k] for k in ("record_key", "session_key", "record_type")} == {
        "record_key": "1719835200.1#3", "session_key": "1719835200.0", "record_type": "voice_mo",
    }  # fmt: skip
    assert (out.values["started_at"], out.values["answered_at"]) == (
        utc("2024-07-01 17:00:00"),
        utc("2024-07-01 17:00:05"),
    )
    assert (out.values["duration_seconds"], out.values["is_answered"]) == (60, True)
    assert out.values["outgoing_trunk_group"] == "tg_att_out"
    # answer written as "": unanswered, not a bad timestamp.
    assert (inbound.values["answered_at"], inbound.values["is_answered"]) == (None, False)
    assert inbound.values["served_msisdn"] == "13125550102"
    assert inbound.values["incoming_trunk_group"] == "tg_bt_in"


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (dict(billsec="67"), RejectReason.INVALID_DURATION),  # > duration + 1
        (dict(billsec="60", answer=""), RejectReason.INVALID_DURATION),
        (dict(duration=" 65 "), "parsed"),  # padding is stripped, as in cdr_csv
        (dict(dst=""), RejectReason.MISSING_FIELD),
        (dict(src="client1"), RejectReason.INVALID_NUMBER),
        (dict(start="2024-03-10 02:30:00"), RejectReason.INVALID_TIMESTAMP),  # DST gap
    ],
)
def test_a_custom_order_row_is_rejected_as_the_same_cdr_csv_row(
    change: dict[str, str], reason: object
) -> None:
    call = {**ANSWERED_OUT, **change}
    (custom,) = read_custom(custom_line(call))
    (csv,) = read_cdr_csv(cdr_csv_line(call))
    assert outcome(custom) == outcome(csv) == reason
    if isinstance(custom, RejectedRecord) and isinstance(csv, RejectedRecord):
        assert custom.detail == csv.detail


def test_record_keys_follow_the_columns_the_mapping_has() -> None:
    # CUSTOM_ORDER without linkedid and sequence, and without any id (fields 0-2).
    fields = custom_line(ANSWERED_OUT).split(b",")
    uniqueid_only = make_parser([CUSTOM_ORDER[0], *CUSTOM_ORDER[3:]])
    without_ids = make_parser(CUSTOM_ORDER[3:])
    (by_uniqueid,) = uniqueid_only(b",".join(fields[:1] + fields[3:]), CHICAGO)
    first, second = without_ids(b",".join(fields[3:]) * 2, CHICAGO)
    assert isinstance(by_uniqueid, ParsedRecord)
    assert by_uniqueid.values["record_key"] == "1719835200.1"
    assert by_uniqueid.values["session_key"] is None
    assert isinstance(first, ParsedRecord) and isinstance(second, ParsedRecord)
    assert first.values["record_key"].startswith("row:")
    assert first.values["record_key"] == second.values["record_key"]  # the same CDR twice


def test_a_line_of_another_width_is_an_unknown_layout() -> None:
    (item,) = read_custom(cdr_csv_line(ANSWERED_OUT))
    assert isinstance(item, RejectedRecord)
    assert item.reason == RejectReason.UNKNOWN_COLUMN_LAYOUT
    assert item.detail == "21 columns; the cdr_custom mapping has 15"


@pytest.mark.parametrize("data", [b"", b"\n", b"\r\n\n  \n"])
def test_a_file_without_records_is_one_empty_file_reject(data: bytes) -> None:
    (item,) = read_custom(data)
    assert isinstance(item, RejectedRecord)
    assert (item.record_number, item.reason) == (0, RejectReason.EMPTY_FILE)


# --- the public sample (../shared/samples/asterisk) --------------------------------------


def sample(name: str) -> bytes:
    path = SAMPLES / name
    if not path.is_file():
        pytest.skip(f"sample {name} not available")
    return path.read_bytes()


def test_sample_cdr_custom_rows_are_extension_names_not_numbers() -> None:
    # A two-phone lab PBX: client1 dials 6789, client2 dials 1234; src is a SIP user name,
    # which no subscriber number can be read from.
    data = sample("cdr_custom_order_Master.csv")
    items = list(parse_file(data, CHICAGO))
    assert [item.record_number for item in items] == list(range(1, 15))
    callers = [line.split(b",")[1].strip(b'"').decode() for line in data.splitlines()]
    for item, caller in zip(items, callers, strict=True):
        assert isinstance(item, RejectedRecord)
        assert item.reason == RejectReason.INVALID_NUMBER
        assert item.detail.startswith(f"'{caller}' is not a dialled number")
    # Read by column count instead, the 19 columns are no cdr_csv layout.
    assert {outcome(item) for item in read_cdr_csv(data)} == {RejectReason.UNKNOWN_COLUMN_LAYOUT}


def test_sample_cdr_custom_rows_parse_once_numbered() -> None:
    # Rows 1 (answered) and 2 (NO ANSWER, answer "") with routable numbers for the names.
    first, second = sample("cdr_custom_order_Master.csv").splitlines()[:2]
    first = first.replace(b'"client1","6789"', b'"3125550101","2125550199"')
    second = second.replace(b'"client2","1234"', b'"3125550102","2125550198"')
    answered, unanswered = parse_file(first + b"\n" + second, CHICAGO)
    assert isinstance(answered, ParsedRecord) and isinstance(unanswered, ParsedRecord)
    # 01:51:32 CDT = 06:51:32Z. The row says duration 31 but end - start is 32 s: Asterisk
    # truncates sub-seconds; the durations are billed as written.
    assert {key: answered.values[key] for key in (
        "record_key", "started_at", "answered_at", "ended_at", "duration_seconds",
        "is_answered", "outgoing_trunk_group", "session_key",
    )} == {
        "record_key": "1690325492.2#2", "started_at": utc("2023-07-26 06:51:32"),
        "answered_at": utc("2023-07-26 06:51:50"), "ended_at": utc("2023-07-26 06:52:04"),
        "duration_seconds": 13, "is_answered": True,
        "outgoing_trunk_group": "client2",  # a peer name that is not 10 digits
        "session_key": None,  # the sample mapping has no linkedid
    }  # fmt: skip
    assert unanswered.values["record_key"] == "1690325531.5#4"
    assert (unanswered.values["answered_at"], unanswered.values["is_answered"]) == (None, False)
    assert unanswered.values["release_cause"] == "NO ANSWER"
