"""Fuzzing the Asterisk parsers: cdr_csv (row parser vs the Numba columnar path), cdr_custom
in the sample layout, and cdr_custom.conf mappings turned into parsers (docs/fuzzing.md)."""

from __future__ import annotations

from fuzz_targets import ci_test

test_cdr_csv_row_and_columnar_agree_on_any_input = ci_test("asterisk_cdr_csv", 600)
test_cdr_custom_never_crashes = ci_test("asterisk_cdr_custom", 300)
test_cdr_custom_conf_is_read_or_refused = ci_test("asterisk_cdr_custom_conf", 300)
