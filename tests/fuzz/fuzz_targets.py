"""The fuzz targets: one per parser entry point, each with its inputs and its properties.

``TARGETS`` maps a target name to a ``Target``: what it parses, the strategy of its inputs
(fuzz_inputs.py) and ``run(data) -> Outcome``, which raises on any failure (fuzz_harness.py
says what counts as one). The CI tests (tests/fuzz/test_fuzz_*.py) run each target on a few
hundred derandomized inputs; scripts/fuzz_parsers.py runs them for longer, with random
seeds, and reports what they tried.

Where a parser has two implementations the target runs both and compares them (a
differential target): the columnar fast paths and their Numba kernels against the row
parsers, the BER fast path and its columnar form against the pycrate-based parser, the
kernels' BER framing against ts32297.iter_cdrs, our TS 32.298 decoder against asn1tools on
a subset of the ASN.1, the UTF-8 kernel against bytes.decode.
"""

from __future__ import annotations

import functools
import importlib.util
import re
import tempfile
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import fuzz_inputs as inputs
import numpy as np
from fuzz_harness import (
    Item,
    Outcome,
    batch_of,
    check,
    check_empty_file,
    check_numbers,
    check_same_batch,
    decoded,
    parser_outcome,
    refused,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kernels.ber_api import frame_cdrs
from kernels.utf8_nb import utf8_end_nb
from pipelines.config import Layout
from pipelines.formats import ts32298
from pipelines.formats.ts32297 import TruncatedCdrError, Ts32297Error, decode_file_header, iter_cdrs
from pipelines.interconnect.carrier_invoices import (
    InvoiceRejectReason,
    check_arithmetic,
    parse_invoice,
)
from pipelines.lake import read_partition, read_table
from pipelines.mediation import (
    asterisk_cdr_csv,
    asterisk_cdr_csv_columnar,
    asterisk_cdr_custom,
    cisco_cucm_cdr,
    cisco_cucm_cdr_columnar,
    freeswitch_cdr_csv,
    freeswitch_cdr_csv_columnar,
    opensips_flatstore,
    opensips_flatstore_columnar,
    tap3,
    ts32298_ber,
    ts32298_ber_fast,
)
from pipelines.mediation.records import FileContext, ParsedBatch
from pipelines.mediation.stage import PARSER_MODULES, mediate_partition
from pipelines.schema import FileStatus, RejectReason

CONTEXT = FileContext("fuzz_2024070112_000001.csv", "sw-fuzz", "America/Chicago", 1)

RowParser = Callable[[bytes, FileContext], Iterable[Item]]
ColumnarParser = Callable[[bytes, FileContext], ParsedBatch | None]


@dataclass(frozen=True)
class Target:
    """A parser entry point under fuzzing: its valid seeds and the inputs drawn from them."""

    name: str
    parses: str  # what it feeds the input to, for the report
    inputs: st.SearchStrategy[bytes]
    run: Callable[[bytes], Outcome]
    seeds: tuple[bytes, ...] = ()


# --- record counts the parsers must agree with --------------------------------------------


def _lines(data: bytes) -> list[bytes]:
    return [line.removesuffix(b"\r") for line in data.split(b"\n")]


def line_records(data: bytes) -> list[int]:
    """One record per non-blank line, numbered by line (Asterisk, FreeSWITCH: the format
    docs' rule)."""
    return [n for n, line in enumerate(_lines(data), start=1) if line.strip()]


def cucm_rows(data: bytes) -> list[int]:
    """CUCM: the non-blank lines after the two header lines, numbered from 1."""
    return list(range(1, 1 + sum(1 for line in _lines(data)[2:] if line.strip())))


# --- row parsers, with their columnar fast paths ------------------------------------------


RecordCheck = Callable[[bytes, list[Item], Outcome], None]


def one_per_line(data: bytes, items: list[Item], outcome: Outcome) -> None:
    """Asterisk, FreeSWITCH: one record per non-blank line, numbered by its line (the format
    docs' rule); a file without one gives one EMPTY_FILE reject."""
    expected = line_records(data)
    if expected:
        check_numbers(items, expected, "lines")
    else:
        check_empty_file(items, "lines")


def one_per_cucm_row(data: bytes, items: list[Item], outcome: Outcome) -> None:
    """CUCM: one record per non-blank line after the two header lines, numbered from 1; a
    file without one gives one file-level reject (empty, or why its header is unreadable)."""
    rows = cucm_rows(data)
    check_numbers(items, rows, "CUCM data rows")
    if not rows:
        check(sum(outcome.file_rejects.values()) == 1, "a file without rows needs one reject")


def one_per_call(data: bytes, items: list[Item], outcome: Outcome) -> None:
    """OpenSIPS: a call is numbered by its opening INVITE's line and its other lines join
    it, so the records are numbered by non-blank lines, and there is one if any line is."""
    lines = line_records(data)
    if not lines:
        check_empty_file(items, "flatstore lines")
        return
    numbers = {item.record_number for item in items if item.record_number > 0}
    check(numbers and numbers <= set(lines), f"calls numbered {sorted(numbers)[:8]}")


def row_parser_run(
    parse: RowParser,
    records: RecordCheck,
    *,
    columnar: ColumnarParser | None = None,
    context: FileContext = CONTEXT,
) -> Callable[[bytes], Outcome]:
    """A run that parses twice (the answers must be equal), checks the contract and the
    records against ``records``, and compares the columnar fast path's batch, when it does
    not decline, with the row parser's."""

    def run(data: bytes) -> Outcome:
        items = list(parse(data, context))
        check(items == list(parse(data, context)), "a second run answered differently")
        outcome = parser_outcome(items)
        records(data, items, outcome)
        expected_batch = batch_of(items)
        if columnar is not None:
            batch = columnar(data, context)
            outcome.fast_path = "declined" if batch is None else "read"
            if batch is not None:
                check_same_batch(batch, expected_batch, "columnar fast path vs row parser")
        return outcome

    return run


def _cdr_custom_config_run(data: bytes) -> Outcome:
    """A fuzzed cdr_custom.conf: MappingError, or mappings whose parsers read the seeds."""
    text = data.decode("utf-8", errors="replace")
    try:
        mappings = asterisk_cdr_custom.parse_mappings(text)
    except asterisk_cdr_custom.MappingError as error:
        return refused(error)
    outcome = decoded()
    for columns in mappings.values():
        try:
            parser = asterisk_cdr_custom.make_parser(columns)
        except asterisk_cdr_custom.MappingError as error:
            refused(error)
            continue
        for seed in inputs.cdr_custom_files()[:1]:
            row_parser_run(parser, one_per_line)(seed)
    return outcome


def _freeswitch_template_run(data: bytes) -> Outcome:
    """A fuzzed cdr_csv.conf.xml: TemplateError, or a template whose parser reads seeds."""
    text = data.decode("utf-8", errors="replace")
    try:
        parser = freeswitch_cdr_csv.make_parser(freeswitch_cdr_csv.parse_template(text, "example"))
    except freeswitch_cdr_csv.TemplateError as error:
        return refused(error)
    for seed in inputs.freeswitch_files()[:2]:
        row_parser_run(parser, one_per_line)(seed)
    return decoded()


def _cucm_file_name_run(data: bytes) -> Outcome:
    name = data.decode("utf-8", errors="replace")
    try:
        parsed = cisco_cucm_cdr.parse_file_name(name)
    except cisco_cucm_cdr.InvalidFileNameError as error:
        return refused(error)
    check(parsed.closed_at.utcoffset() is not None, "closed_at is naive")
    check(parsed.sequence >= 0, f"sequence {parsed.sequence}")
    return decoded()


# --- TS 32.297 / TS 32.298 BER ------------------------------------------------------------


def ber_records(data: bytes) -> list[int]:
    """The CDRs ts32297 frames after a readable header, plus one for a truncated CDR."""
    try:
        frame = decode_file_header(data)
    except Ts32297Error:
        return []
    count = 0
    try:
        for _ in iter_cdrs(data, frame.header_length):
            count += 1
    except TruncatedCdrError:
        count += 1
    return list(range(1, count + 1))


def _ber_run(data: bytes) -> Outcome:
    """The pycrate-based parser, the Numba fast path and its columnar form: equal answers."""
    library = list(ts32298_ber.parse_file(data, CONTEXT))
    outcome = parser_outcome(library)
    expected = ber_records(data)
    check_numbers(library, expected, "TS 32.297 CDRs")
    if not expected:
        check(sum(outcome.file_rejects.values()) == 1, "a file without CDRs needs one reject")
    fast = list(ts32298_ber_fast.parse_file(data, CONTEXT))
    check(fast == library, f"fast path vs library: {_first_unequal(fast, library)}")
    batch = ts32298_ber_fast.parse_file_columnar(data, CONTEXT)
    outcome.fast_path = "declined" if batch is None else "read"
    if batch is not None:
        check_same_batch(batch, batch_of(library), "columnar BER vs library")
    return outcome


def _first_unequal(got: Sequence[Item], want: Sequence[Item]) -> str:
    for a, b in zip(got, want, strict=False):
        if a != b:
            return f"{a!r} != {b!r}"
    return f"{len(got)} items, expected {len(want)}"


def _ts32297_run(data: bytes) -> Outcome:
    """The file header, the CDR framing, and the Numba framing of the same bytes."""
    try:
        frame = decode_file_header(data)
    except Ts32297Error as error:
        return refused(error)
    check(52 <= frame.header_length <= len(data), f"header length {frame.header_length}")
    payloads, truncated_at = [], -1
    try:
        for cdr in iter_cdrs(data, frame.header_length):
            payloads.append((cdr.payload, cdr.header.data_record_format))
    except TruncatedCdrError as error:
        check(error.remaining == data[error.offset :], "remaining is not the rest of the file")
        truncated_at = error.offset
    frames = frame_cdrs(data, frame.header_length)
    check(frames.truncated_at == truncated_at, "kernel framing finds another truncation")
    kernel = [
        (data[start : start + length], data_format)
        for start, length, data_format in zip(
            frames.payload_start.tolist(),
            frames.payload_length.tolist(),
            frames.data_format.tolist(),
            strict=True,
        )
    ]
    check(kernel == payloads, "kernel framing finds other CDRs than iter_cdrs")
    return decoded()


@functools.cache
def _asn1tools_subset() -> Any:
    """tests/formats/test_ts32298.py's faithful subset of TS 32.298, compiled by asn1tools."""
    import asn1tools

    path = Path(__file__).resolve().parents[1] / "formats" / "test_ts32298.py"
    spec = importlib.util.spec_from_file_location("ts32298_asn1_subset", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return asn1tools.compile_string(module.SUBSET_ASN1, "ber")


def _ts32298_record_run(data: bytes) -> Outcome:
    """One CDR payload: pycrate's decoding, compared with asn1tools' where both decode."""
    try:
        alternative, record = ts32298.decode_call_event_record(data)
    except ts32298.UndecodableRecordError as error:
        return refused(error)
    try:
        other_alternative, other = _asn1tools_subset().decode("CallEventRecord", data)
    except Exception:  # the subset lacks fields and alternatives pycrate knows
        return decoded()
    check(alternative == other_alternative, f"{alternative} vs asn1tools {other_alternative}")
    difference = disagreement(record, other, alternative)
    check(difference is None, f"pycrate and asn1tools disagree: {difference}")
    return decoded()


def disagreement(ours: Any, theirs: Any, path: str) -> str | None:
    """Where two decodings of one value differ, comparing the fields both decoded: the
    subset leaves fields out, and asn1tools skips elements it does not know."""
    if isinstance(ours, dict) and isinstance(theirs, dict):
        for name in sorted(set(ours) & set(theirs)):
            found = disagreement(ours[name], theirs[name], f"{path}.{name}")
            if found is not None:
                return found
        return None
    if isinstance(ours, list | tuple) and isinstance(theirs, list | tuple):
        if len(ours) != len(theirs):
            return f"{path}: {len(ours)} vs {len(theirs)} items"
        for index, (a, b) in enumerate(zip(ours, theirs, strict=True)):
            found = disagreement(a, b, f"{path}[{index}]")
            if found is not None:
                return found
        return None
    return None if ours == theirs else f"{path}: {ours!r} vs {theirs!r}"


# --- TAP and RAP --------------------------------------------------------------------------


def _tap_run(data: bytes) -> Outcome:
    """parse_file, and read_batch and decode_events on the same bytes: roaming settlement
    reads every batch mediation accepted, so they must agree on which files are batches and
    how many events they hold."""
    items = list(tap3.parse_file(data, CONTEXT))
    check(items == list(tap3.parse_file(data, CONTEXT)), "a second run answered differently")
    outcome = parser_outcome(items)
    batch_of(items)
    numbers = [item.record_number for item in items]
    if 0 in numbers:
        check(numbers == [0], "a refused file yields its file-level reject alone")
    else:
        check(numbers == list(range(1, len(numbers) + 1)), "events numbered 1..n")
    try:
        batch = tap3.read_batch(data)
    except tap3.TapFileError as error:
        check(not outcome.records, f"read_batch refuses a file parse_file read: {error}")
        return outcome
    check(len(batch.events) == outcome.records, "read_batch and parse_file count other events")
    # Each event mapped without the audit check: most mutations of a batch break its
    # totals, and the events' mapping must hold up all the same.
    events = list(tap3.decode_events(data))
    batch_of(events)
    check(parser_outcome(events).records == outcome.records, "decode_events counts other events")
    return outcome


def _rap_run(data: bytes) -> Outcome:
    try:
        kind, value = tap3.read_rap(data)
    except tap3.TapFileError as error:
        return refused(error)
    check(kind in ("returnBatch", "acknowledgement"), f"RAP alternative {kind}")
    check(isinstance(value, dict), "RAP value is not a record")
    return decoded()


# --- carrier invoices ---------------------------------------------------------------------


def _physical_lines(data: bytes) -> list[str]:
    text = data.decode("utf-8", errors="replace")
    return re.split(r"\r\n|\r|\n", text.removeprefix("\ufeff"))


def _invoice_run(data: bytes) -> Outcome:
    """Every record after the header is a line or a reject with a reason, numbered by the
    physical line it starts on."""
    lines, rejects = parse_invoice(data, "CR-A", "2026-10", "USD")
    again = parse_invoice(data, "CR-A", "2026-10", "USD")
    check((lines, rejects) == again, "a second run answered differently")
    check_arithmetic(lines)
    reasons = {reason.value for reason in InvoiceRejectReason}
    for reject in rejects:
        check(reject["reason_code"] in reasons, f"reason {reject['reason_code']!r}")
        check(str(reject["reason_detail"]).strip(), f"line {reject['line_number']}: no detail")
    numbers = [row["line_number"] for row in [*lines, *rejects]]
    check(len(set(numbers)) == len(numbers), f"a line number repeats: {sorted(numbers)[:12]}")
    physical = _physical_lines(data)
    # The header is the first record: the first line that is not empty (the CSV reader
    # skips empty lines), or line 1 of a file that is not UTF-8 (read line by line).
    try:
        data.decode("utf-8")
        header = next((n for n, line in enumerate(physical, start=1) if line), 0)
    except UnicodeDecodeError:
        header = 1
    present = {n for n, line in enumerate(physical, start=1) if line and n > header}
    check(set(numbers) <= present, f"lines {sorted(set(numbers) - present)[:8]} are not records")
    if '"' not in "".join(physical):
        # Without quotes a record is a line: every line holding text is read.
        written = {n for n in present if physical[n - 1].strip()}
        check(written <= set(numbers), f"lines {sorted(written - set(numbers))[:8]} were lost")
    for line in lines:
        for column in ("calls", "billable_seconds", "rate_micros", "amount_micros"):
            value = line.get(column)
            # Never negative, and within the lake's BIGINT columns.
            check(
                value is None or 0 <= value < 2**63, f"line {line['line_number']}: {column} {value}"
            )
    return Outcome(
        records=len(numbers),
        accepted=len(lines),
        rejects=Counter(reject["reason_code"] for reject in rejects),
    )


# --- kernels ------------------------------------------------------------------------------


def _utf8_run(data: bytes) -> Outcome:
    """The UTF-8 kernel against bytes.decode on the first character of ``data``."""
    if not data or data[0] < 0x80:
        return Outcome()
    end = int(utf8_end_nb(np.frombuffer(data, np.uint8), 0, len(data)))
    expected = -1
    for size in range(2, min(4, len(data)) + 1):
        try:
            data[:size].decode("utf-8")
        except UnicodeDecodeError:
            continue
        expected = size
        break
    check(end == expected, f"utf8_end_nb says {end}, bytes.decode {expected}")
    return decoded() if end > 0 else Outcome(records=1, rejects=Counter({"not UTF-8": 1}))


# --- the mediation stage ------------------------------------------------------------------

#: Feed -> (landing file name, file date matching the seeds' times, seeds).
STAGE_FEEDS: dict[str, tuple[str, date, Callable[[], Sequence[bytes]]]] = {
    "asterisk_cdr_csv": (
        "Master_sw-fuzz_2024070112_000001.csv",
        date(2024, 7, 1),
        inputs.asterisk_files,
    ),
    "freeswitch_cdr_csv": (
        "Master_sw-fuzz_2024070112_000001.csv",
        date(2024, 7, 1),
        inputs.freeswitch_files,
    ),
    "cisco_cucm_cdr": (
        "cdr_telco-chi_01_202407011640_000123",
        date(2024, 7, 1),
        inputs.cucm_files,
    ),
    "opensips_flatstore": (
        "acc_sw-fuzz_2024070312_000001.log",
        date(2024, 7, 3),
        inputs.opensips_files,
    ),
    "ts32298_ber": ("MSC_sw-fuzz_2025030110_000007.ber", date(2025, 3, 1), inputs.ber_files),
    "tap3": ("CDDEUZ1USAZ900042_2026100312_000042.tap", date(2026, 10, 3), inputs.tap_files),
}
_STAGE_TABLES = ("usage", "rejects", "file_registry")


def stage_run(feed: str, scratch: Path | None = None) -> Callable[[bytes], Outcome]:
    """Mediate a partition whose one landing file holds the input: the file is registered,
    mediated or rejected with a reason, and records in = accepted + rejected + duplicates,
    recounted from the lake rows and equal to the feed parser's own count."""
    name, file_date, _ = STAGE_FEEDS[feed]
    parser = importlib.import_module(PARSER_MODULES[feed]).parse_file

    def run(data: bytes) -> Outcome:
        with tempfile.TemporaryDirectory(dir=scratch, prefix="fuzz-stage-") as root:
            layout = Layout(Path(root))
            layout.reference.mkdir(parents=True)
            (layout.reference / "switches.csv").write_text(
                f"switch_id,feed,timezone,description\nsw-fuzz,{feed},America/Chicago,fuzz\n"
            )
            landing = layout.landing / feed / "sw-fuzz"
            landing.mkdir(parents=True)
            (landing / name).write_bytes(data)
            result = mediate_partition(layout, feed, file_date)
            partition = {"feed": feed, "file_date": file_date.isoformat()}
            registry = read_partition(layout, "file_registry", partition).to_pylist()
            rejects = read_partition(layout, "rejects", partition).to_pylist()
            usage = read_table(layout, "usage", partition).num_rows
        check(len(registry) == 1, f"{len(registry)} registry rows for one file")
        (row,) = registry
        check(row["file_status"] in {s.value for s in FileStatus}, row["file_status"])
        records_in = row["records_in"]
        counted = row["records_accepted"] + row["records_rejected"] + row["records_duplicate"]
        check(records_in == counted, f"records_in {records_in} != {counted}")
        check(usage == row["records_accepted"], f"{usage} usage rows")
        record_rejects = [r for r in rejects if r["record_number"] > 0]
        check(len(record_rejects) == row["records_rejected"], "reject rows != records_rejected")
        check(
            all(r["reason_code"] in {reason.value for reason in RejectReason} for r in rejects),
            "unknown reason code",
        )
        check(
            (result.records_in, result.accepted, result.rejected)
            == (records_in, row["records_accepted"], row["records_rejected"]),
            "MediationResult disagrees with the registry",
        )
        file_level = Counter(r["reason_code"] for r in rejects if r["record_number"] == 0)
        if not records_in:
            check(file_level, f"status {row['file_status']} without a file-level reason")
        # The feed's parser counts the records; only a file the stage refuses whole before
        # parsing (compressed, UTF-16: docs/mediation.md) has none, and says so.
        context = FileContext(name, "sw-fuzz", "America/Chicago", 1)
        parsed = parser_outcome(list(parser(data, context)))
        refused_whole = (
            row["file_status"] == FileStatus.UNREADABLE
            and file_level[RejectReason.UNREADABLE_FILE] == 1
        )
        check(
            records_in == parsed.records or (records_in == 0 and refused_whole),
            f"records_in {records_in}, parser {parsed.records}, status {row['file_status']}",
        )
        return Outcome(
            records=records_in,
            accepted=row["records_accepted"],
            rejects=Counter(r["reason_code"] for r in record_rejects),
            file_rejects=file_level,
        )

    return run


# --- the registry -------------------------------------------------------------------------


def _target(
    name: str,
    parses: str,
    run: Callable[[bytes], Outcome],
    seeds: Sequence[bytes],
    separator: bytes | None = None,
    structured: st.SearchStrategy[bytes] | None = None,
) -> Target:
    strategy = inputs.any_input(seeds, separator, structured=structured)
    return Target(name, parses, strategy, run, tuple(seeds))


def _targets() -> dict[str, Target]:
    ber, records, raps = inputs.ber_files(), inputs.ber_records(), inputs.rap_files()
    tap = inputs.tap_files()
    targets = [
        _target(
            "asterisk_cdr_csv",
            "asterisk_cdr_csv.parse_file vs asterisk_cdr_csv_columnar (Numba kernel)",
            row_parser_run(
                asterisk_cdr_csv.parse_file,
                one_per_line,
                columnar=asterisk_cdr_csv_columnar.parse_file_columnar,
            ),
            inputs.asterisk_files(),
            b",",
            structured=inputs.mutated([inputs.asterisk_long_file()], b","),
        ),
        _target(
            "asterisk_cdr_custom",
            "asterisk_cdr_custom.parse_file (cdr_custom.conf.sample layout)",
            row_parser_run(asterisk_cdr_custom.parse_file, one_per_line),
            inputs.cdr_custom_files(),
            b",",
        ),
        _target(
            "asterisk_cdr_custom_conf",
            "asterisk_cdr_custom.parse_mappings + make_parser on a fuzzed cdr_custom.conf",
            _cdr_custom_config_run,
            [inputs.CDR_CUSTOM_CONF],
            b",",
        ),
        _target(
            "freeswitch_cdr_csv",
            "freeswitch_cdr_csv.parse_file vs freeswitch_cdr_csv_columnar (pyarrow)",
            row_parser_run(
                freeswitch_cdr_csv.parse_file,
                one_per_line,
                columnar=freeswitch_cdr_csv_columnar.parse_file_columnar,
            ),
            inputs.freeswitch_files(),
            b",",
        ),
        _target(
            "freeswitch_template",
            "freeswitch_cdr_csv.parse_template + make_parser on a fuzzed cdr_csv.conf.xml",
            _freeswitch_template_run,
            inputs.freeswitch_configs(),
            b",",
        ),
        _target(
            "cisco_cucm_cdr",
            "cisco_cucm_cdr.parse_file vs cisco_cucm_cdr_columnar (Numba kernel)",
            row_parser_run(
                cisco_cucm_cdr.parse_file,
                one_per_cucm_row,
                columnar=cisco_cucm_cdr_columnar.parse_file_columnar,
            ),
            inputs.cucm_files(),
            b",",
        ),
        _target(
            "cisco_cucm_file_name",
            "cisco_cucm_cdr.parse_file_name",
            _cucm_file_name_run,
            [b"cdr_telco-chi_01_202407011640_000123", b"cdr_StandAloneCluster_01_20240229"],
            b"_",
        ),
        _target(
            "opensips_flatstore",
            "opensips_flatstore.parse_file vs opensips_flatstore_columnar (Numba kernel)",
            row_parser_run(
                opensips_flatstore.parse_file,
                one_per_call,
                columnar=opensips_flatstore_columnar.parse_file_columnar,
            ),
            inputs.opensips_files(),
            b"|",
        ),
        _target(
            "ts32298_ber",
            "ts32298_ber.parse_file vs ts32298_ber_fast.parse_file and parse_file_columnar",
            _ber_run,
            ber,
            structured=inputs.cdr_file_mutated(ber),
        ),
        _target(
            "ts32297_framing",
            "ts32297.decode_file_header + iter_cdrs vs kernels.ber_api.frame_cdrs",
            _ts32297_run,
            ber,
        ),
        _target(
            "ts32298_record",
            "ts32298.decode_call_event_record (pycrate) vs asn1tools on the TS 32.298 subset",
            _ts32298_record_run,
            records,
            structured=inputs.ber_mutated(records),
        ),
        _target(
            "tap3",
            "tap3.parse_file and tap3.read_batch",
            _tap_run,
            tap,
            structured=inputs.ber_mutated(tap),
        ),
        _target("rap", "tap3.read_rap", _rap_run, raps, structured=inputs.ber_mutated(raps)),
        _target(
            "carrier_invoice",
            "interconnect.carrier_invoices.parse_invoice + check_arithmetic",
            _invoice_run,
            inputs.invoice_files(),
            b",",
        ),
        Target(
            "utf8_kernel",
            "kernels.utf8_nb.utf8_end_nb vs bytes.decode",
            st.binary(min_size=1, max_size=5).map(lambda b: bytes([0x80 | b[0]]) + b[1:])
            | st.binary(max_size=5),
            _utf8_run,
            ("é".encode(), "€".encode(), "𝄞".encode()),
        ),
    ]
    for feed, (_, _, seeds) in STAGE_FEEDS.items():
        targets.append(
            _target(
                f"stage_{feed}",
                f"mediation.stage.mediate_partition on a {feed} landing file",
                stage_run(feed),
                seeds(),
                {"ts32298_ber": None, "tap3": None, "opensips_flatstore": b"|"}.get(feed, b","),
            )
        )
    return {target.name: target for target in targets}


TARGETS = _targets()


def ci_test(name: str, examples: int) -> Callable[[], None]:
    """A test that runs target ``name`` on ``examples`` inputs, the same ones every run
    (derandomized: CI stays reproducible; scripts/fuzz_parsers.py draws fresh ones)."""
    target = TARGETS[name]

    @settings(
        max_examples=examples,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(target.inputs)
    def test(data: bytes) -> None:
        target.run(data)

    return test
