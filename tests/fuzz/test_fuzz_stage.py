"""The final guard: any bytes in a landing file of any feed are mediated or rejected with a
reason, and records in = accepted + rejected + duplicates; and the file names fuzzing found
that stopped a partition (docs/fuzzing.md)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from fuzz_targets import STAGE_FEEDS, ci_test

from pipelines.config import Layout
from pipelines.mediation.stage import mediate_partition, quarantine_unplaceable_files


@pytest.mark.parametrize("feed", sorted(STAGE_FEEDS))
def test_any_landing_file_is_mediated_or_rejected_with_a_reason(feed: str) -> None:
    ci_test(f"stage_{feed}", 40)()


@pytest.mark.parametrize(
    ("feed", "name"),
    [
        # Found by fuzzing CUCM file names: a sequence number of 4,301 digits made int()
        # raise a bare ValueError; of 19 digits and more it placed the file, then failed
        # the whole partition writing it to the registry's BIGINT (OverflowError).
        ("asterisk_cdr_csv", f"Master_sw_2024070112_{'9' * 19}.csv"),
        ("cisco_cucm_cdr", f"cdr_telco-chi_01_202407011640_{'9' * 19}"),
    ],
)
def test_a_sequence_number_past_64_bits_is_an_unplaceable_name(
    tmp_path: Path, feed: str, name: str
) -> None:
    layout = Layout(tmp_path)
    layout.reference.mkdir(parents=True)
    (layout.reference / "switches.csv").write_text(
        f"switch_id,feed,timezone,description\nsw,{feed},America/Chicago,test\n"
    )
    (layout.landing / feed / "sw").mkdir(parents=True)
    (layout.landing / feed / "sw" / name).write_bytes(b"")
    (unplaceable,) = quarantine_unplaceable_files(layout)
    assert unplaceable.file.name == name
    assert mediate_partition(layout, feed, date(2024, 7, 1)).files == 0
