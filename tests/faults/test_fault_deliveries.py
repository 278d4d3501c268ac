"""Bad deliveries into mediation: each file is either read, or refused whole with a reason,
and every file's records in = accepted + rejected (with a reason) + duplicates.

Compressed files, text in UTF-16, schema drift (an extra field in a headerless Asterisk
CSV; Cisco CUCM columns reordered and a new one added), empty files of every feed and a
20 MB line. The same file twice, a late file and files out of order are in
test_fault_deliveries_billed.py; docs/faults.md lists them all with the older tests.
"""

from __future__ import annotations

import bz2
import csv
import gzip
import io
import shutil
import subprocess
import sys
from collections import Counter
from datetime import date
from pathlib import Path

import pytest

from pipelines.config import Layout
from pipelines.lake import read_partition, read_table
from pipelines.mediation.stage import MAX_RAW_TEXT, mediate_partition

FIXTURES = Path(__file__).parents[1] / "fixtures"
FEED = "asterisk_cdr_csv"
DAY = date(2024, 11, 3)
GOOD = "Master_ast-chi-01_2024110304_000001.csv"  # 7 good calls (fixtures/mediation/README)


def fixture_operator(root: Path) -> Layout:
    shutil.copytree(FIXTURES / "mediation" / "reference", root / "reference")
    shutil.copytree(FIXTURES / "mediation" / "landing", root / "landing")
    return Layout(root)


def one_switch(root: Path, feed: str, switch_id: str, timezone: str = "UTC") -> Path:
    """A data root whose only switch is ``switch_id`` of ``feed``; returns its landing."""
    layout = Layout(root)
    layout.reference.mkdir(parents=True)
    (layout.reference / "switches.csv").write_text(
        f"switch_id,feed,timezone,description\n{switch_id},{feed},{timezone},test switch\n"
    )
    landing = layout.landing / feed / switch_id
    landing.mkdir(parents=True)
    return landing


def registry(layout: Layout, feed: str, day: date) -> dict[str, dict]:
    values = {"feed": feed, "file_date": day.isoformat()}
    return {r["file_name"]: r for r in read_partition(layout, "file_registry", values).to_pylist()}


def assert_every_file_conserves(layout: Layout, feed: str, day: date) -> None:
    """Records in = accepted + rejected + duplicates for every file, and the usage and
    reject rows are those counts (recounted here from the rows, not the stage's sums)."""
    values = {"feed": feed, "file_date": day.isoformat()}
    usage = Counter(r["file_name"] for r in read_table(layout, "usage", values).to_pylist())
    rejects = Counter(
        r["file_name"]
        for r in read_partition(layout, "rejects", values).to_pylist()
        if r["record_number"] > 0
    )
    for name, row in registry(layout, feed, day).items():
        assert row["records_in"] == (
            row["records_accepted"] + row["records_rejected"] + row["records_duplicate"]
        ), name
        assert usage[name] == row["records_accepted"], name
        assert rejects[name] == row["records_rejected"], name


def file_rejects(layout: Layout, feed: str, day: date, name: str) -> list[tuple[int, str, str]]:
    values = {"feed": feed, "file_date": day.isoformat()}
    return [
        (r["record_number"], r["reason_code"], r["reason_detail"])
        for r in read_partition(layout, "rejects", values).to_pylist()
        if r["file_name"] == name
    ]


def usage_bytes(layout: Layout) -> dict[str, bytes]:
    return {
        str(p.relative_to(layout.lake)): p.read_bytes()
        for p in sorted(layout.lake_table("usage").rglob("*.parquet"))
    }


def test_compressed_files_are_refused_whole_and_the_rest_of_the_day_is_untouched(
    tmp_path: Path,
) -> None:
    plain = fixture_operator(tmp_path / "plain")
    mediate_partition(plain, FEED, DAY)

    layout = fixture_operator(tmp_path / "compressed")
    folder = layout.landing / FEED / "ast-chi-01"
    good = (folder / GOOD).read_bytes()
    compressed = {
        "Master_ast-chi-01_2024110310_000009.csv.gz": ("gzip", gzip.compress(good)),
        # Cut short in transfer: still gzip, still refused whole, never half-read.
        "Master_ast-chi-01_2024110311_000010.gz": ("gzip", gzip.compress(good)[:-25]),
        "Master_ast-chi-01_2024110312_000011.csv.bz2": ("bzip2", bz2.compress(good)),
    }
    for name, (_, data) in compressed.items():
        (folder / name).write_bytes(data)

    result = mediate_partition(layout, FEED, DAY)

    files = registry(layout, FEED, DAY)
    for name, (kind, _) in compressed.items():
        row = files[name]
        assert (row["file_status"], row["records_in"]) == ("unreadable", 0), name
        ((number, reason, detail),) = file_rejects(layout, FEED, DAY, name)
        assert (number, reason) == (0, "unreadable_file")
        assert f"a {kind}-compressed file" in detail and "decompress it" in detail
    assert result.rejects_by_reason["unreadable_file"] == 3
    assert_every_file_conserves(layout, FEED, DAY)
    # The day's other files give exactly what they give without the compressed ones.
    assert usage_bytes(layout) == usage_bytes(plain)
    plain_files = registry(plain, FEED, DAY)
    assert {name: files[name] for name in plain_files} == plain_files


@pytest.mark.parametrize(
    ("encoding", "bom"), [("utf-16", "with a BOM"), ("utf-16-le", "no BOM")], ids=str
)
def test_a_utf16_file_is_refused_whole_and_a_latin1_byte_rejects_its_record_alone(
    tmp_path: Path, encoding: str, bom: str
) -> None:
    layout = fixture_operator(tmp_path)
    folder = layout.landing / FEED / "ast-chi-01"
    text = (folder / GOOD).read_text()
    wide = "Master_ast-chi-01_2024110310_000009.csv"
    (folder / wide).write_bytes(text.encode(encoding))
    # One caller name in Latin-1 in an otherwise UTF-8 file (new calls: other uniqueids):
    # that record only.
    lines = text.replace('"17306', '"27306').splitlines(keepends=True)
    latin = "Master_ast-chi-01_2024110311_000010.csv"
    wrong = lines[2].replace("Dan", "José").encode("latin-1")
    (folder / latin).write_bytes(lines[0].encode() + wrong)

    mediate_partition(layout, FEED, DAY)

    files = registry(layout, FEED, DAY)
    assert (files[wide]["file_status"], files[wide]["records_in"]) == ("unreadable", 0)
    ((_, reason, detail),) = file_rejects(layout, FEED, DAY, wide)
    assert reason == "unreadable_file" and "UTF-16" in detail and "as UTF-8" in detail
    row = files[latin]
    assert (row["records_in"], row["records_rejected"]) == (2, 1)
    assert [r[:2] for r in file_rejects(layout, FEED, DAY, latin)] == [(2, "invalid_encoding")]
    assert_every_file_conserves(layout, FEED, DAY)


def test_an_extra_field_in_headerless_asterisk_rows_rejects_each_row_with_its_layout(
    tmp_path: Path,
) -> None:
    layout = fixture_operator(tmp_path)
    folder = layout.landing / FEED / "ast-chi-01"
    drifted = "Master_ast-chi-01_2024110310_000009.csv"
    # A switch upgrade appends a column: cdr_csv has no header to say what it is, so the
    # rows cannot be read as any known layout until the switch's layout is configured.
    rows = (folder / GOOD).read_text().replace('"17306', '"37306').splitlines()
    (folder / drifted).write_text("".join(f'{row},"new-field"\n' for row in rows))

    mediate_partition(layout, FEED, DAY)

    row = registry(layout, FEED, DAY)[drifted]
    assert (row["records_in"], row["records_accepted"], row["records_rejected"]) == (7, 0, 7)
    reasons = file_rejects(layout, FEED, DAY, drifted)
    assert [(n, r) for n, r, _ in reasons] == [(n, "unknown_column_layout") for n in range(1, 8)]
    assert all("22 columns" in detail for _, _, detail in reasons)
    assert_every_file_conserves(layout, FEED, DAY)


CUCM = "cdr_telco-chi_01_202407011640_000123"


def test_cucm_columns_reordered_and_a_new_one_are_read_by_their_names(tmp_path: Path) -> None:
    original = (FIXTURES / "cisco_cucm" / CUCM).read_text()
    header, *lines = original.splitlines(keepends=True)
    width = len(next(csv.reader([header])))
    # Columns reversed, and one this release does not know appended. The fixture's bad rows
    # (a CMR of 20 columns, a row cut off inside a quote) stay as they were.
    order = list(reversed(range(width)))
    drifted = io.StringIO()
    writer = csv.writer(drifted, lineterminator="\n")
    for number, line in enumerate([header, *lines]):
        row = next(csv.reader([line]), [])
        if len(row) != width:
            drifted.write(line)
        else:
            extra = ["newVendorField", "INTEGER", "7"][min(number, 2)]
            writer.writerow([row[i] for i in order] + [extra])

    def mediated(root: Path, text: str) -> tuple[dict, list[dict]]:
        landing = one_switch(root, "cisco_cucm_cdr", "telco-chi", "America/Chicago")
        (landing / CUCM).write_text(text)
        mediate_partition(Layout(root), "cisco_cucm_cdr", date(2024, 7, 1))
        (row,) = registry(Layout(root), "cisco_cucm_cdr", date(2024, 7, 1)).values()
        usage = read_table(Layout(root), "usage", {"feed": "cisco_cucm_cdr"})
        identity = ["usage_id", "file_id"]  # the bytes differ, so the file's id does
        return row, usage.drop_columns(identity).to_pylist()

    before, before_usage = mediated(tmp_path / "before", original)
    after, after_usage = mediated(tmp_path / "after", drifted.getvalue())

    counts = ("records_in", "records_accepted", "records_rejected", "records_duplicate")
    assert [after[c] for c in counts] == [before[c] for c in counts] == [8, 6, 2, 0]
    assert after_usage == before_usage


EMPTY_FILES = {
    "asterisk_cdr_csv": "Master_sw-1_2024070112_000001.csv",
    "freeswitch_cdr_csv": "Master_sw-1_2024070112_000001.csv",
    "cisco_cucm_cdr": "cdr_sw-1_01_202407011200_000001",
    "opensips_flatstore": "acc_sw-1_2024070112_000001.log",
    "ts32298_ber": "CDR_sw-1_2024070112_000001.ber",
    "tap3": "CDGBRVFUSA01_2024070112_000001.ber",
}


# Every feed's 0-byte file; for the text feeds, a file of blank lines too.
EMPTY_CASES = [(feed, b"") for feed in EMPTY_FILES] + [
    (feed, b"\n\n  \r\n") for feed in EMPTY_FILES if feed not in ("ts32298_ber", "tap3")
]


@pytest.mark.parametrize(("feed", "content"), EMPTY_CASES)
def test_an_empty_file_of_any_feed_is_empty_with_one_reject(
    tmp_path: Path, feed: str, content: bytes
) -> None:
    landing = one_switch(tmp_path, feed, "sw-1")
    name = EMPTY_FILES[feed]
    (landing / name).write_bytes(content)

    result = mediate_partition(Layout(tmp_path), feed, date(2024, 7, 1))

    (row,) = registry(Layout(tmp_path), feed, date(2024, 7, 1)).values()
    assert (row["file_status"], row["records_in"]) == ("empty", 0)
    assert [r[:2] for r in file_rejects(Layout(tmp_path), feed, date(2024, 7, 1), name)] == [
        (0, "empty_file")
    ]
    assert (result.records_in, result.accepted, result.rejected) == (0, 0, 0)


# Mediates a file with one huge line between good ones in a fresh process, and prints the
# process's peak memory before and after (KiB): the growth is what the huge line cost.
HUGE_LINE_RUN = """
import resource, sys
from datetime import date
from pathlib import Path
from pipelines.config import Layout
from pipelines.mediation.stage import mediate_partition
root, warm = Path(sys.argv[1]), Path(sys.argv[2])
mediate_partition(Layout(warm), "asterisk_cdr_csv", date(2024, 11, 3))  # imports, caches
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
mediate_partition(Layout(root), "asterisk_cdr_csv", date(2024, 11, 3))
print(before, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""
HUGE = 20_000_000


def test_a_20_mb_line_is_rejected_in_bounded_memory_and_the_rest_of_the_file_is_read(
    tmp_path: Path,
) -> None:
    warm = one_switch(tmp_path / "warm", FEED, "ast-chi-01", "America/Chicago")
    good = (FIXTURES / "mediation" / "landing" / FEED / "ast-chi-01" / GOOD).read_bytes()
    (warm / GOOD).write_bytes(good)
    landing = one_switch(tmp_path / "huge", FEED, "ast-chi-01", "America/Chicago")
    lines = good.splitlines(keepends=True)
    runaway = lines[3].replace(b"Alice", b"Alice" + b"X" * HUGE)  # a runaway caller name
    (landing / GOOD).write_bytes(b"".join([*lines[:3], runaway, *lines[4:]]))

    done = subprocess.run(
        [sys.executable, "-c", HUGE_LINE_RUN, str(tmp_path / "huge"), str(tmp_path / "warm")],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    before, after = (int(kib) * 1024 for kib in done.stdout.split())

    layout = Layout(tmp_path / "huge")
    (row,) = registry(layout, FEED, DAY).values()
    assert (row["records_in"], row["records_accepted"], row["records_rejected"]) == (7, 6, 1)
    ((number, reason, _),) = file_rejects(layout, FEED, DAY, GOOD)
    assert (number, reason) == (4, "malformed_row")
    values = {"feed": FEED, "file_date": DAY.isoformat()}
    (reject,) = read_partition(layout, "rejects", values).to_pylist()
    # The lake keeps the record's head and its size; the landing file keeps all of it.
    assert len(reject["raw_text"]) < MAX_RAW_TEXT + 200
    assert f"{len(runaway) - 1} characters in all" in reject["raw_text"]
    # The file is held in memory once and the line a few times over while it is parsed and
    # refused: bounded by the line, not by anything that copies it per column or per row.
    assert after - before < 6 * HUGE, f"peak memory grew {(after - before) / HUGE:.1f}x the line"
