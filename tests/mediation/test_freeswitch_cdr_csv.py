import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from switch_lines import freeswitch_line as cdr

from pipelines.mediation.freeswitch_cdr_csv import (
    BUILTIN_DEFAULT_COLUMNS,
    EXAMPLE_COLUMNS,
    TemplateError,
    make_parser,
    parse_file,
    parse_template,
)
from pipelines.mediation.records import (
    PARSER_COLUMNS,
    FileContext,
    ParsedRecord,
    RejectedRecord,
)
from pipelines.schema import RejectReason

FIXTURE = Path(__file__).parents[1] / "fixtures" / "freeswitch" / "Master.csv"
SAMPLES = Path(__file__).parents[2] / ".." / "shared" / "samples" / "freeswitch"
CHICAGO = FileContext("Master.csv", "fs-chi-01", "America/Chicago")
UUID = "6f1c0e2a-3b7d-4c1e-9a52-0000000000"

Item = ParsedRecord | RejectedRecord


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def parse(data: bytes, context: FileContext = CHICAGO) -> list[Item]:
    return list(parse_file(data, context))


def outcome(item: Item) -> object:
    return item.reason if isinstance(item, RejectedRecord) else "parsed"


# Hand-computed: Chicago is UTC-5 (CDT) in July; 2024-11-03 falls back from 02:00 CDT to
# 01:00 CST (UTC-6); 2024-03-10 springs forward from 02:00 CST to 03:00 CDT.
FIXTURE_EXPECTED: dict[int, dict[str, object]] = {
    1: dict(
        record_key=UUID + "01", record_type="voice_mo", direction="outbound",
        served_msisdn="13125550101", other_party_number="12125550199",
        started_at=utc("2024-07-01 17:00:00"), answered_at=utc("2024-07-01 17:00:05"),
        ended_at=utc("2024-07-01 17:01:05"), duration_seconds=60, is_answered=True,
        release_cause="NORMAL_CLEARING",
    ),
    2: dict(
        record_key=UUID + "02", record_type="voice_mt", direction="inbound",
        served_msisdn="13125550102", other_party_number="447700900123",
        started_at=utc("2024-07-01 17:10:00"), answered_at=None,
        ended_at=utc("2024-07-01 17:10:30"), duration_seconds=0, is_answered=False,
        release_cause="ORIGINATOR_CANCEL",
    ),
    # 01:50:00 CDT = 06:50:00Z; 01:10:10 CST = 07:10:10Z: the 1210 s the row says.
    3: dict(
        record_key=UUID + "03", record_type="voice_mo", direction="outbound",
        served_msisdn="13125550104", other_party_number="13125550103",
        started_at=utc("2024-11-03 06:50:00"), answered_at=utc("2024-11-03 06:50:10"),
        ended_at=utc("2024-11-03 07:10:10"), duration_seconds=1200, is_answered=True,
        release_cause="NORMAL_CLEARING",
    ),
    # 01:59:50 CST = 07:59:50Z; 03:00:10 CDT = 08:00:10Z: 20 s across the gap.
    4: dict(
        record_key=UUID + "04", record_type="voice_mt", direction="inbound",
        served_msisdn="13125550103", other_party_number=None,
        started_at=utc("2024-03-10 07:59:50"), answered_at=utc("2024-03-10 07:59:55"),
        ended_at=utc("2024-03-10 08:00:10"), duration_seconds=15, is_answered=True,
        release_cause="NORMAL_CLEARING",
    ),
    5: dict(
        record_key=UUID + "05", record_type="voice_mo", direction="outbound",
        served_msisdn="13125550104", other_party_number="911",
        started_at=utc("2024-07-01 17:20:00"), answered_at=utc("2024-07-01 17:20:01"),
        ended_at=utc("2024-07-01 17:22:01"), duration_seconds=120, is_answered=True,
        release_cause="NORMAL_CLEARING",
    ),
    # Answered, hung up within the second: an answer time but nothing to bill.
    9: dict(
        record_key=UUID + "09", record_type="voice_mo", direction="outbound",
        served_msisdn="13125550101", other_party_number="12125550198",
        started_at=utc("2024-07-01 18:00:00"), answered_at=utc("2024-07-01 18:00:04"),
        ended_at=utc("2024-07-01 18:00:04"), duration_seconds=0, is_answered=False,
        release_cause="NORMAL_CLEARING",
    ),
}  # fmt: skip


def test_fixture_gives_one_item_per_line_as_computed_by_hand() -> None:
    items = parse(FIXTURE.read_bytes())

    # Line 7 is blank: no record.
    assert [(item.record_number, outcome(item)) for item in items] == [
        (1, "parsed"),
        (2, "parsed"),
        (3, "parsed"),
        (4, "parsed"),
        (5, "parsed"),
        (6, RejectReason.MALFORMED_ROW),  # caller name `Bob "The Builder"`, unescaped
        (8, RejectReason.INVALID_DURATION),  # billsec 70 > duration 65
        (9, "parsed"),
    ]
    for item in items:
        if isinstance(item, ParsedRecord):
            expected = FIXTURE_EXPECTED[item.record_number]
            assert set(item.values) == set(PARSER_COLUMNS)
            assert {key: item.values[key] for key in expected} == expected, item.record_number
            assert item.values["service"] == "voice"
            assert (item.values["served_imsi"], item.values["served_imei"]) == (None, None)
            assert item.values["cell_id"] is None
            assert item.values["outgoing_trunk_group"] is None
            assert item.values["incoming_trunk_group"] is None
            assert item.values["uplink_bytes"] == item.values["downlink_bytes"] == 0
            assert item.values["data_volume_bytes"] == 0


def test_rejects_keep_their_line_and_say_why() -> None:
    data = FIXTURE.read_bytes()
    lines = data.decode().split("\n")
    rejects = [item for item in parse(data) if isinstance(item, RejectedRecord)]
    assert [item.raw_text for item in rejects] == [lines[5], lines[7]]
    assert "CSV error" in rejects[0].detail
    assert rejects[1].detail.startswith("billsec 70 exceeds duration 65")


@pytest.mark.parametrize(
    ("line", "reason", "detail"),
    [
        (cdr()[:-1] + b',"extra"\n', RejectReason.UNKNOWN_COLUMN_LAYOUT, "16 columns"),
        (b'"a","b"\n', RejectReason.UNKNOWN_COLUMN_LAYOUT, "2 columns"),
        (cdr(caller="Jos\xe9").replace(b"Jos\xc3\xa9", b"Jos\xe9"),
         RejectReason.INVALID_ENCODING, "0xe9"),
        (b'"a"b,"c"\n', RejectReason.MALFORMED_ROW, "CSV error"),
        (cdr(destination=""), RejectReason.MISSING_FIELD, "destination_number"),
        (cdr(uuid=""), RejectReason.MISSING_FIELD, "uuid"),
        (cdr(context=""), RejectReason.MISSING_FIELD, "context"),
        (cdr(caller=""), RejectReason.MISSING_FIELD, "caller_id_number"),  # outbound
        (cdr(end=""), RejectReason.MISSING_FIELD, "end_stamp"),
        (cdr(billsec="6.5"), RejectReason.INVALID_DURATION, "whole number"),
        (cdr(duration="-5"), RejectReason.INVALID_DURATION, "negative"),
        # FreeSWITCH takes both from one clock: even one second over is impossible.
        (cdr(duration="60", billsec="61"), RejectReason.INVALID_DURATION, "exceeds"),
        (cdr(answer="", billsec="60"), RejectReason.INVALID_DURATION, "without an answer"),
        (cdr(start="2024/7/1 12:00"), RejectReason.INVALID_TIMESTAMP, "start_stamp"),
        (cdr(start="2024-02-30 12:00:00"), RejectReason.INVALID_TIMESTAMP, "start_stamp"),
        (cdr(end="2024-07-01 11:59:00"), RejectReason.INVALID_TIMESTAMP, "out of order"),
        (cdr(start="2024-03-10 02:30:00", answer="", end="2024-03-10 03:31:00", billsec="0"),
         RejectReason.INVALID_TIMESTAMP, "DST"),
        (cdr(end="9999-12-31 23:59:59"), RejectReason.INVALID_TIMESTAMP, "end_stamp"),
        (cdr(caller="1002"), RejectReason.INVALID_NUMBER, "1002"),  # an extension
        (cdr(destination="&"), RejectReason.INVALID_NUMBER, "&"),
        (cdr(caller="0000000000"), RejectReason.INVALID_NUMBER, "0000000000"),
    ],
)  # fmt: skip
def test_each_bad_field_has_its_reason(line: bytes, reason: RejectReason, detail: str) -> None:
    (item,) = parse(line)
    assert isinstance(item, RejectedRecord)
    assert (item.record_number, item.reason) == (1, reason)
    assert detail in item.detail


@pytest.mark.parametrize("caller", ["", "anonymous", "0000000000", "Restricted"])
def test_an_inbound_caller_may_be_withheld(caller: str) -> None:
    (item,) = parse(cdr(caller=caller, destination="3125550101", context="public"))
    assert isinstance(item, ParsedRecord)
    assert item.values["served_msisdn"] == "13125550101"
    assert item.values["other_party_number"] is None


def test_inbound_contexts_are_configurable() -> None:
    carrier = make_parser(EXAMPLE_COLUMNS, inbound_contexts={"from-carrier"})
    (item,) = carrier(cdr(caller="2125550199", destination="3125550101",
                          context="from-carrier"), CHICAGO)  # fmt: skip
    (public,) = carrier(cdr(context="public"), CHICAGO)
    assert isinstance(item, ParsedRecord) and isinstance(public, ParsedRecord)
    assert (item.values["record_type"], item.values["served_msisdn"]) == (
        "voice_mt",
        "13125550101",
    )
    assert public.values["record_type"] == "voice_mo"  # `public` is no longer inbound


def test_the_switch_time_zone_is_the_contexts() -> None:
    new_york = FileContext("Master.csv", "fs-nyc-01", "America/New_York")
    (item,) = parse(cdr(), new_york)  # 12:00 EDT = 16:00Z
    assert isinstance(item, ParsedRecord)
    assert item.values["started_at"] == utc("2024-07-01 16:00:00")


@pytest.mark.parametrize("data", [b"", b"\n", b"\r\n\n  \n"])
def test_a_file_without_records_is_one_empty_file_reject(data: bytes) -> None:
    (item,) = parse(data)
    assert isinstance(item, RejectedRecord)
    assert (item.record_number, item.reason) == (0, RejectReason.EMPTY_FILE)


def test_crlf_and_a_last_line_without_newline_are_read() -> None:
    data = cdr().replace(b"\n", b"\r\n") + cdr().rstrip(b"\n")
    assert [(item.record_number, outcome(item)) for item in parse(data)] == [
        (1, "parsed"),
        (2, "parsed"),
    ]


# --- templates ------------------------------------------------------------------------

CONF = """<configuration name="cdr_csv.conf" description="CDR CSV Format">
  <settings><param name="default-template" value="epochs"/></settings>
  <templates>
    <template name="epochs">${uuid},${caller_id_number},${destination_number},${context},\
${start_epoch},${answer_epoch},${end_epoch},${duration},${billsec},${hangup_cause},\
${sip_hangup_disposition}</template>
    <template name="no_destination">"${caller_id_number}","${context}","${start_stamp}",\
"${answer_stamp}","${end_stamp}","${duration}","${billsec}","${hangup_cause}","${uuid}"\
</template>
    <template name="literal">"${uuid}","fixed text"</template>
    <template name="two_lines">"${uuid}"
"${billsec}"</template>
  </templates>
</configuration>
"""
EPOCHS = parse_template(CONF, "epochs")


def test_parse_template_reads_a_template_s_variables() -> None:
    assert EPOCHS == [
        "uuid", "caller_id_number", "destination_number", "context", "start_epoch",
        "answer_epoch", "end_epoch", "duration", "billsec", "hangup_cause",
        "sip_hangup_disposition",
    ]  # fmt: skip
    # Not in this file: mod_cdr_csv's compiled-in `default` applies.
    assert parse_template(CONF, "default") == list(BUILTIN_DEFAULT_COLUMNS)


@pytest.mark.parametrize(
    ("xml_text", "name", "detail"),
    [
        (CONF, "literal", "'\"fixed text\"' is not a single"),
        (CONF, "two_lines", "several lines"),
        (CONF, "missing", "no template 'missing'"),
        ("<configuration><templates>", "example", "not well-formed"),
    ],
)
def test_unusable_templates_are_template_errors(xml_text: str, name: str, detail: str) -> None:
    with pytest.raises(TemplateError, match=re.escape(detail)):
        parse_template(xml_text, name)


def test_a_template_without_a_needed_variable_fails_at_construction() -> None:
    with pytest.raises(TemplateError, match="lacks destination_number"):
        make_parser(parse_template(CONF, "no_destination"))
    with pytest.raises(TemplateError, match="answer_epoch or answer_stamp"):
        make_parser([c for c in EXAMPLE_COLUMNS if c != "answer_stamp"])


def test_epoch_templates_are_utc_and_answer_epoch_zero_is_unanswered() -> None:
    parser = make_parser(EPOCHS)
    # 1719835200 = 2024-07-01 12:00:00Z (19905 days after 1970-01-01, plus 12 h).
    answered = b"u1,3125550101,2125550199,default,1719835200,1719835205,1719835265,65,60,"
    answered += b"NORMAL_CLEARING,send_bye\n"
    unanswered = b"u2,2125550199,3125550101,public,1719835200,0,1719835230,30,0,"
    unanswered += b"NO_ANSWER,recv_cancel\n"
    zero_start = b"u3,3125550101,2125550199,default,0,0,1719835230,30,0,NO_ANSWER,x\n"
    first, second, third = parser(answered + unanswered + zero_start, CHICAGO)
    assert isinstance(first, ParsedRecord) and isinstance(second, ParsedRecord)
    assert first.values["started_at"] == utc("2024-07-01 12:00:00")  # no Chicago offset
    assert first.values["answered_at"] == utc("2024-07-01 12:00:05")
    assert first.values["ended_at"] == utc("2024-07-01 12:01:05")
    assert (first.values["duration_seconds"], first.values["is_answered"]) == (60, True)
    assert second.values["answered_at"] is None
    assert (second.values["record_type"], second.values["is_answered"]) == ("voice_mt", False)
    assert isinstance(third, RejectedRecord)
    assert third.reason == RejectReason.INVALID_TIMESTAMP
    assert "time 0" in third.detail


def test_an_epoch_that_is_not_whole_seconds_is_an_invalid_timestamp() -> None:
    line = b"u1,3125550101,2125550199,default,1719835200.5,0,1719835230,30,0,NO_ANSWER,x\n"
    (item,) = make_parser(EPOCHS)(line, CHICAGO)
    assert isinstance(item, RejectedRecord)
    assert item.reason == RejectReason.INVALID_TIMESTAMP
    assert "start_epoch '1719835200.5'" in item.detail


def test_an_answer_stamp_at_time_0_is_unanswered() -> None:
    # Releases before answer_stamp was left empty formatted answer time 0 in local time:
    # 1970-01-01 00:00:00Z is 1969-12-31 18:00:00 in Chicago.
    (item,) = parse(cdr(answer="1969-12-31 18:00:00", billsec="0"))
    assert isinstance(item, ParsedRecord)
    assert (item.values["answered_at"], item.values["is_answered"]) == (None, False)


def test_a_row_of_another_template_s_length_is_an_unknown_layout() -> None:
    (item,) = make_parser(EPOCHS)(cdr(), CHICAGO)  # 15 example columns, 11 expected
    assert isinstance(item, RejectedRecord)
    assert item.reason == RejectReason.UNKNOWN_COLUMN_LAYOUT


# --- real files (../shared/samples/freeswitch) -------------------------------------------


def sample(name: str) -> bytes:
    path = SAMPLES / name
    if not path.is_file():
        pytest.skip(f"sample {name} not available")
    return path.read_bytes()


def test_sample_conf_templates() -> None:
    conf = sample("cdr_csv.conf.xml").decode()
    assert parse_template(conf, "example") == list(EXAMPLE_COLUMNS)
    for usable in ("snom", "linksys", "asterisk"):
        make_parser(parse_template(conf, usable))
    for unusable in ("sql", "opencdrrate"):  # an INSERT statement; a ${regex(...)} call
        with pytest.raises(TemplateError, match="not a single"):
            parse_template(conf, unusable)


def test_sample_snom_template_row_with_a_space_after_a_comma_parses() -> None:
    # The vanilla snom template writes `"${bleg_uuid}", "${accountcode}"`.
    snom = make_parser(parse_template(sample("cdr_csv.conf.xml").decode(), "snom"))
    line = cdr().rstrip(b"\n").replace(b'"",""', b'"", ""', 1) + b',"snom","","","",""\n'
    (item,) = snom(line, CHICAGO)
    assert isinstance(item, ParsedRecord)
    assert item.values["duration_seconds"] == 60


def test_sample_spreadsheet_mangled_rows_are_invalid_timestamps() -> None:
    # Re-saved by a spreadsheet: stamps became `2020/2/10 22:41` (seconds lost), so no row
    # can say when its call started to the second. All ten are rejected, none lost.
    data = sample("spreadsheet_mangled_Master.csv")
    items = parse(data)
    assert [(item.record_number, outcome(item)) for item in items] == [
        (number, RejectReason.INVALID_TIMESTAMP) for number in range(1, 11)
    ]
    lines = data.decode().splitlines()
    for item, line in zip(items, lines, strict=True):
        assert isinstance(item, RejectedRecord)
        assert item.raw_text == line
        assert item.detail.startswith("start_stamp '20")


def test_sample_spreadsheet_rows_with_stamps_restored_have_extension_numbers() -> None:
    # Behind the timestamps lies the next fault: the numbers are PBX extensions (1002,
    # 1004), a bare `0`, and `&` as destination, none a number we can bill.
    data = re.sub(
        rb"(\d{4})/(\d{1,2})/(\d{1,2}) (\d{1,2}):(\d{2})",
        lambda m: b"%s-%02d-%02d %02d:%s:00" % (m[1], int(m[2]), int(m[3]), int(m[4]), m[5]),
        sample("spreadsheet_mangled_Master.csv"),
    )
    items = parse(data)
    assert [outcome(item) for item in items] == [RejectReason.INVALID_NUMBER] * 10
    callers = [item.detail.split("'")[1] for item in items if isinstance(item, RejectedRecord)]
    assert callers == ["1002", "1002", "0", "1002", "1002", "1004", "1002", "1004", "1004",
                       "1004"]  # fmt: skip


# --- robustness --------------------------------------------------------------------------


def check_items(items: list[Item]) -> None:
    assert items, "every input yields at least one item"
    assert all(isinstance(item, ParsedRecord | RejectedRecord) for item in items)
    numbers = [item.record_number for item in items]
    assert numbers == sorted(set(numbers))
    if 0 in numbers:
        assert len(items) == 1 and outcome(items[0]) == RejectReason.EMPTY_FILE


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=600))
def test_random_bytes_never_raise(data: bytes) -> None:
    check_items(parse(data))


FIELD_TEXT = st.one_of(
    st.sampled_from(["", "0", "-1", "60", "3125550101", "2024-11-03 01:30:00", "public",
                     "2024-03-10 02:30:00", '"', ",", "\r", "\x00", "9" * 30]),
    st.text(max_size=12),
)  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(st.lists(st.lists(FIELD_TEXT, min_size=13, max_size=16), max_size=6))
def test_random_rows_never_raise(rows: list[list[str]]) -> None:
    data = "\n".join(",".join(f'"{field}"' for field in row) for row in rows)
    check_items(parse(data.encode()))
