"""The fuzz checks themselves: each one fails on a parser that breaks its property, the
mutators change what they say, and the campaign script reports tallies and crashes."""

from __future__ import annotations

import argparse
import dataclasses
import importlib.util
import sys
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from fuzz_harness import ContractViolation, Outcome
from fuzz_inputs import (
    Mutation,
    TreeMutation,
    apply_mutations,
    asterisk_files,
    ber_records,
    mutate_tree,
    read_tlvs,
)
from fuzz_targets import CONTEXT, TARGETS, Target, disagreement, one_per_line, row_parser_run
from hypothesis import strategies as st

from pipelines.mediation import asterisk_cdr_csv, asterisk_cdr_csv_columnar
from pipelines.mediation.records import FileContext, ParsedBatch, ParsedRecord, RejectedRecord
from pipelines.schema import RejectReason

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "fuzz_parsers.py"
FILE = asterisk_files()[1] + asterisk_files()[2]  # a 21- and an 18-column CDR


def parse(data: bytes, context: FileContext) -> list[ParsedRecord | RejectedRecord]:
    return list(asterisk_cdr_csv.parse_file(data, context))


def run_broken(parser: Any, columnar: Any = None) -> Outcome:
    return row_parser_run(parser, one_per_line, columnar=columnar)(FILE)


def test_the_real_parser_passes() -> None:
    outcome = run_broken(parse, asterisk_cdr_csv_columnar.parse_file_columnar)
    assert (outcome.records, outcome.accepted, outcome.fast_path) == (2, 2, "read")


def with_values(item: Any, **values: Any) -> Any:
    return ParsedRecord(item.record_number, {**item.values, **values})


@pytest.mark.parametrize(
    ("broken", "message"),
    [
        (lambda d, c: parse(d, c)[1:], "record numbers"),  # a record dropped silently
        (lambda d, c: parse(d, c) + parse(d, c)[:1], "record number repeats"),
        (
            lambda d, c: [with_values(i, started_at=datetime(2024, 7, 1)) for i in parse(d, c)],
            "UTC",
        ),
        (lambda d, c: [with_values(i, duration_seconds=-1) for i in parse(d, c)], "negative"),
        (lambda d, c: [with_values(i, record_key="") for i in parse(d, c)], "record_key"),
        (lambda d, c: [with_values(i, ended_at=None) for i in parse(d, c)], "missing"),
        (lambda d, c: [with_values(i, cell_id=7) for i in parse(d, c)], "usage columns"),
        (
            lambda d, c: [
                RejectedRecord(i.record_number, RejectReason.MALFORMED_ROW, " ", "")
                for i in parse(d, c)
            ],
            "without a detail",
        ),
        (lambda d, c: [dataclasses.replace(i, values={}) for i in parse(d, c)], "columns"),
    ],
)
def test_a_broken_parser_is_caught(broken: Any, message: str) -> None:
    with pytest.raises(ContractViolation, match=message):
        run_broken(broken)


def test_a_parser_answering_differently_twice_is_caught() -> None:
    calls = iter(range(100))

    def flaky(data: bytes, context: FileContext) -> list:
        items = parse(data, context)
        return items if next(calls) % 2 == 0 else items[::-1]

    with pytest.raises(ContractViolation, match="second run"):
        run_broken(flaky)


def test_a_columnar_path_that_differs_is_caught() -> None:
    def columnar(data: bytes, context: FileContext) -> ParsedBatch | None:
        batch = asterisk_cdr_csv_columnar.parse_file_columnar(data, context)
        assert batch is not None
        return ParsedBatch(batch.records.slice(1), batch.rejects)

    with pytest.raises(ContractViolation, match="columnar fast path vs row parser"):
        run_broken(parse, columnar)


def test_a_crash_is_not_swallowed() -> None:
    def crashing(data: bytes, context: FileContext) -> Iterator:
        yield from parse(data, context)[:2]
        raise KeyError("start")

    with pytest.raises(KeyError):
        run_broken(crashing)


def test_field_mutation_keeps_the_quotes_and_reaches_the_field() -> None:
    line = asterisk_files()[1]
    # Fields are split at the separator, quoted or not: lastdata "PJSIP/x,60" makes two.
    changed = apply_mutations(line, [Mutation("field", 0, 13, b"-5")], b",")
    assert changed.split(b",")[13] == b"-5"  # duration is written bare
    changed = apply_mutations(line, [Mutation("field", 0, 1, b"\xff")], b",")
    assert changed.split(b",")[1] == b'"\xff"'
    (item,) = parse(changed, CONTEXT)
    assert isinstance(item, RejectedRecord) and item.reason == RejectReason.INVALID_ENCODING


def test_byte_mutations() -> None:
    assert apply_mutations(b"abcdef", [Mutation("truncate", 3)], b",") == b"abc"
    assert apply_mutations(b"abcdef", [Mutation("insert", 2, value=b"\r\n")], b",") == b"ab\r\ncdef"
    assert apply_mutations(b"abcdef", [Mutation("delete", 1, 1)], b",") == b"adef"
    assert apply_mutations(b"abcdef", [Mutation("repeat", 4, 1)], b",") == b"abcdefef"
    assert apply_mutations(b"a\nb", [Mutation("line", 0, 1, b"swap")], b",") == b"b\na"


def test_tree_mutations_reach_the_element_and_keep_the_other_lengths() -> None:
    record = ber_records()[0]
    assert mutate_tree(record, []) == record
    # Element 1 is recordType, the first field inside the record.
    longer = mutate_tree(record, [TreeMutation("integer", 1, 7)])
    (outer,) = read_tlvs(longer) or []
    assert outer.value[0].value == b"\x01" * 160  # type: ignore[index,union-attr]
    # A bad length on recordType: the record around it keeps its right length.
    (outer,) = read_tlvs(mutate_tree(record, [TreeMutation("length", 1, 0)])) or []
    assert isinstance(outer.value, bytes)
    assert outer.value.startswith(b"\x80\x84\xff\xff\xff\xff\x00")
    deep = mutate_tree(record, [TreeMutation("nest", 1, 1)])
    assert deep.count(b"\xa0") >= 100


def load_script() -> Any:
    spec = importlib.util.spec_from_file_location("fuzz_parsers_script", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def campaign_args(out: Path) -> argparse.Namespace:
    return argparse.Namespace(examples=40, seconds=None, seed=1, out=out, engine="hypothesis")


def test_campaign_tallies_a_target(tmp_path: Path) -> None:
    script = load_script()
    tally = script._hypothesis_target(campaign_args(tmp_path), TARGETS["ts32297_framing"])
    assert tally.inputs == 40 and tally.crashes == []
    assert tally.parsed_inputs + tally.refused_inputs == 40
    assert tally.records == tally.accepted + sum(tally.rejects_by_reason.values())
    report = script._report(campaign_args(tmp_path), datetime(2026, 1, 1), {"x": tally})
    assert report["totals"]["inputs"] == 40
    assert "| x | 40 |" in script._markdown(report)


def test_campaign_reports_a_crash_with_its_minimal_input(tmp_path: Path) -> None:
    def run(data: bytes) -> Outcome:
        if len(data) > 3:
            raise IndexError("kernel read past the end")
        return Outcome(records=1, accepted=1)

    target = Target("crashy", "crashes past 3 bytes", st.binary(max_size=20), run)
    script = load_script()
    tally = script._hypothesis_target(campaign_args(tmp_path), target)
    assert [crash["error"] for crash in tally.crashes] == ["IndexError: kernel read past the end"]
    assert Path(tally.crashes[0]["saved_as"]).read_bytes() == b"\x00" * 4  # shrunk
    report = script._report(campaign_args(tmp_path), datetime(2026, 1, 1), {"crashy": tally})
    assert "crashy: IndexError: kernel read past the end" in script._markdown(report)


def test_decoder_comparison_skips_what_one_decoder_left_out_but_not_differences() -> None:
    # Found by atheris: asn1tools, knowing only the subset, skips an element it does not
    # know (cAMELSMSCAddress) and every one after it in the SET; pycrate decodes them.
    ours = {"cAMELSMSInformation": {"cAMELSMSCAddress": b"!D", "smsReferenceNumber": b"\x03"}}
    assert disagreement(ours, {"cAMELSMSInformation": {}}, "mtSMSRecord") is None
    theirs = {"cAMELSMSInformation": {"smsReferenceNumber": b"\x04"}}
    assert disagreement(ours, theirs, "mtSMSRecord") == (
        "mtSMSRecord.cAMELSMSInformation.smsReferenceNumber: b'\\x03' vs b'\\x04'"
    )
    assert disagreement({"list": [1, 2]}, {"list": (1,)}, "r") == "r.list: 2 vs 1 items"
