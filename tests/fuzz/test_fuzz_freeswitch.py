"""Fuzzing the FreeSWITCH parsers: mod_cdr_csv (row parser vs the pyarrow columnar path) and
cdr_csv.conf.xml templates turned into parsers; and the input fuzzing found that broke the
columnar path (docs/fuzzing.md)."""

from __future__ import annotations

import csv

from fuzz_targets import CONTEXT, TARGETS, ci_test
from switch_lines import freeswitch_line

from pipelines.mediation import freeswitch_cdr_csv, freeswitch_cdr_csv_columnar
from pipelines.mediation.records import RejectedRecord
from pipelines.schema import RejectReason

test_cdr_csv_row_and_columnar_agree_on_any_input = ci_test("freeswitch_cdr_csv", 600)
test_template_is_read_or_refused = ci_test("freeswitch_template", 300)


def test_a_value_past_the_csv_field_limit_is_left_to_the_row_parser() -> None:
    # Found by fuzzing: a caller name of 140,000 characters. The row parser's csv module
    # refuses a field past csv.field_size_limit() (131,072), pyarrow does not: the columnar
    # path accepted the call the row parser rejects.
    line = freeswitch_line(name="x" * 140_000)
    assert freeswitch_cdr_csv_columnar.parse_file_columnar(line, CONTEXT) is None
    (item,) = freeswitch_cdr_csv.parse_file(line, CONTEXT)
    assert isinstance(item, RejectedRecord) and item.reason == RejectReason.MALFORMED_ROW
    assert "field larger than field limit" in item.detail


def test_a_value_at_the_csv_field_limit_is_read_by_both() -> None:
    line = freeswitch_line(name="x" * csv.field_size_limit())
    outcome = TARGETS["freeswitch_cdr_csv"].run(line)
    assert (outcome.accepted, outcome.fast_path) == (1, "read")
