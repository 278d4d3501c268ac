"""Fuzzing the OpenSIPS flatstore parser: row parser vs the Numba columnar path
(docs/fuzzing.md)."""

from __future__ import annotations

from fuzz_targets import ci_test

test_flatstore_row_and_columnar_agree_on_any_input = ci_test("opensips_flatstore", 200)
