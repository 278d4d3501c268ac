"""Fuzzing the Cisco CUCM parsers: CDR files (row parser vs the Numba columnar path) and
file names; and the file name fuzzing found that broke parse_file_name (docs/fuzzing.md;
test_fuzz_stage.py has what the same name did to the stage)."""

from __future__ import annotations

import pytest
from fuzz_targets import ci_test

from pipelines.mediation import cisco_cucm_cdr

test_cdr_file_row_and_columnar_agree_on_any_input = ci_test("cisco_cucm_cdr", 600)
test_file_name_is_read_or_refused = ci_test("cisco_cucm_file_name", 300)


def test_a_sequence_number_of_4301_digits_is_an_invalid_name() -> None:
    # Found by fuzzing: int() refused the sequence with a bare ValueError (Python's
    # 4,300-digit limit), not the InvalidFileNameError parse_file_name documents.
    with pytest.raises(cisco_cucm_cdr.InvalidFileNameError, match="is not cdr_"):
        cisco_cucm_cdr.parse_file_name(f"cdr_telco-chi_01_202407011640_{'9' * 4301}")
