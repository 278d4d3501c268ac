"""Volume traffic goes through the real mediation and rating untouched.

The reference is the per-object generator's (a small operator, with its HLR gaps, fraud
lines, cancelled and suspended lines); the volume generator writes a day of traffic over it.
Then the real stages run: every record must be accepted (no rejects, no duplicates, every
data session complete), and rating must put nothing in suspense (0%: every record names a
line in service on a plan, calls a number the decks price, over a trunk group an agreement
covers). Asterisk rows are checked against the per-object generator's own row writer.
"""

from __future__ import annotations

import hashlib
import shutil
from dataclasses import replace
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import polars as pl
import pytest

from pipelines.config import OPERATOR_TIMEZONE, Layout
from pipelines.formats.ts32297 import decode_file_header
from pipelines.generate import generate_operator
from pipelines.generate.asterisk_writer import format_cdr_row
from pipelines.generate.customers import CITIES, Account, Subscriber
from pipelines.generate.traffic import AsteriskCall, Outcome, Party, TrafficBuilder
from pipelines.generate.volume.traffic import VolumeTraffic, write_volume_traffic
from pipelines.generate.volume.traffic_events import (
    DISPOSITIONS,
    EventCounts,
    active_lines,
    fixed_calls,
)
from pipelines.generate.volume.traffic_files import asterisk_rows
from pipelines.generate.volume.traffic_lines import PARTY_KINDS, TEXTS, read_network
from pipelines.generate.volume.traffic_plan import PARTIAL_RECORD_SECONDS
from pipelines.lake import read_table
from pipelines.mediation.consolidate import consolidate_period
from pipelines.mediation.stage import landing_partitions, mediate_partition
from pipelines.rating.stage import rate_period
from pipelines.schema import Feed

PERIOD = "2026-10"
DAY = date(2026, 10, 1)
RECORDS_PER_LINE = 40.0
#: Small enough that the busiest hours rotate into several files.
MAX_RECORDS_PER_FILE = 250
TZ = ZoneInfo(OPERATOR_TIMEZONE)


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The reference data of a small generated operator (only its reference/ is used)."""
    root = tmp_path_factory.mktemp("volume-reference")
    generate_operator(Layout(root), seed=11, subscribers=150, month=PERIOD, days=2)
    return root / "reference"


def _operator(reference: Path, root: Path) -> Layout:
    shutil.copytree(reference, root / "reference")
    return Layout(root)


@pytest.fixture(scope="module")
def day(reference: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Layout, VolumeTraffic]:
    layout = _operator(reference, tmp_path_factory.mktemp("volume-day"))
    written = write_volume_traffic(
        layout,
        records_per_line_day=RECORDS_PER_LINE,
        month=PERIOD,
        max_records_per_file=MAX_RECORDS_PER_FILE,
    )
    return layout, written


def _landed(layout: Layout) -> dict[str, bytes]:
    return {
        str(path.relative_to(layout.landing)): path.read_bytes()
        for path in sorted(layout.landing.rglob("*"))
        if path.is_file()
    }


def test_a_day_holds_exactly_the_records_asked_for(day: tuple[Layout, VolumeTraffic]) -> None:
    layout, written = day
    lines = pl.read_csv(layout.reference / "subscribers.csv", infer_schema=False).height
    assert written.lines == lines
    assert written.total_records == round(RECORDS_PER_LINE * lines)
    assert sum(written.records.values()) == written.total_records
    # Data sessions fill what calls and SMS leave, and are the bulk of it.
    assert written.records["data"] > written.total_records / 2
    assert min(written.records.values()) > 0


def test_files_follow_the_landing_contract(day: tuple[Layout, VolumeTraffic]) -> None:
    layout, written = day
    for feed, suffix in ((Feed.TS32298_BER, ".ber"), (Feed.ASTERISK_CDR_CSV, ".csv")):
        paths = sorted(layout.landing.glob(f"{feed.value}/*/*"))
        assert len(paths) == written.files[feed.value]
        sequences = [int(path.name.removesuffix(suffix).rsplit("_", 1)[1]) for path in paths]
        assert sequences == list(range(1, len(paths) + 1))  # in hour order, as the names sort
        hours = [path.name.removesuffix(suffix).rsplit("_", 2)[1] for path in paths]
        assert all(hour.startswith("20261001") for hour in hours)
        if feed is Feed.ASTERISK_CDR_CSV:
            continue
        counts = []
        for path in paths:
            data = path.read_bytes()
            frame = decode_file_header(data)
            assert frame.file_length == len(data)
            counts.append(frame.header.cdr_count)
        assert max(counts) == MAX_RECORDS_PER_FILE  # a busy hour rotates by size
        assert len(set(hours)) < len(hours)
        assert sum(counts) == written.records_by_feed[feed.value]


def test_mediation_accepts_every_record_and_rating_suspends_none(
    day: tuple[Layout, VolumeTraffic],
) -> None:
    layout, written = day
    accepted = 0
    for feed, file_date in landing_partitions(layout):
        assert file_date == DAY
        result = mediate_partition(layout, feed, file_date)
        assert (result.rejected, result.duplicates, result.duplicate_files) == (0, 0, 0)
        assert result.accepted == result.records_in == written.records_by_feed[feed]
        accepted += result.accepted
    assert accepted == written.total_records
    # The PGW cut every session every PARTIAL_RECORD_SECONDS until its last record.
    data = pl.from_arrow(read_table(layout, "usage", {"feed": Feed.TS32298_BER.value}))
    assert isinstance(data, pl.DataFrame)
    partials = data.filter(pl.col("record_type") == "data")
    going_on = partials.filter(pl.col("is_last_partial").not_())
    assert going_on.height > 0
    assert set(going_on["duration_seconds"]) == {PARTIAL_RECORD_SECONDS}
    assert set(going_on["release_cause"]) == {"timeLimit"}
    assert partials["duration_seconds"].max() <= PARTIAL_RECORD_SECONDS
    assert set(partials.filter(pl.col("is_last_partial"))["release_cause"]) == {"normalRelease"}
    for feed in written.records_by_feed:
        consolidated = consolidate_period(layout, feed, PERIOD)
        statuses = consolidated.sessions_by_status
        assert statuses["incomplete"] == statuses["held"] == 0
    rated = rate_period(layout, PERIOD)
    assert rated.status_counts["suspense"] == 0
    assert sum(rated.suspense_by_reason.values()) == 0
    assert sum(rated.interconnect_suspense_by_reason.values()) == 0
    assert rated.status_counts["rated"] > 0


def test_same_arguments_write_the_same_bytes(
    reference: Path, tmp_path: Path, day: tuple[Layout, VolumeTraffic]
) -> None:
    layout, written = day
    again = _operator(reference, tmp_path)
    rewritten = write_volume_traffic(
        again,
        records_per_line_day=RECORDS_PER_LINE,
        month=PERIOD,
        max_records_per_file=MAX_RECORDS_PER_FILE,
    )
    assert rewritten == written
    digest = {name: hashlib.sha256(data).hexdigest() for name, data in _landed(layout).items()}
    assert digest == {
        name: hashlib.sha256(data).hexdigest() for name, data in _landed(again).items()
    }


def test_two_days_carry_sessions_over_midnight(reference: Path, tmp_path: Path) -> None:
    layout = _operator(reference, tmp_path)
    written = write_volume_traffic(layout, days=2, records_per_line_day=20.0, month=PERIOD)
    assert written.total_records == 2 * round(20.0 * written.lines)
    dates = {file_date for _, file_date in landing_partitions(layout)}
    assert dates == {DAY, date(2026, 10, 2)}


def test_too_few_records_for_the_calls_alone_is_refused(reference: Path, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="calls and SMS alone"):
        write_volume_traffic(_operator(reference, tmp_path), records_per_line_day=1.0)


def _party(kind: str, number: str, trunk: int, outbound: bool, callee: Subscriber | None) -> Party:
    name = TEXTS[trunk] if trunk >= 0 else None
    return Party(kind, number, name if outbound else None, None if outbound else name, callee)


def test_asterisk_rows_are_the_row_writers(reference: Path, tmp_path: Path) -> None:
    """Each rendered row equals ``asterisk_writer.format_cdr_row`` of the same call, built
    by the per-object generator's own TrafficBuilder (outbound and inbound rows)."""
    layout = _operator(reference, tmp_path)
    network = read_network(layout, np.random.default_rng(3), TZ, DAY)
    hour = int(datetime(2026, 10, 1, 9, tzinfo=TZ).timestamp())
    active = active_lines(network.fixed, hour - 9 * 3600, weekend=False)
    counts = EventCounts(400, 220, np.array([40, 130, 10, 35, 5]))
    calls = fixed_calls(np.random.default_rng(5), network, active, counts, hour, hour + 86400, 0.1)
    calls = calls.take(np.argsort(calls.started, kind="stable"))
    sequence = np.arange(len(calls), dtype=np.int64) + 1000
    calls = replace(calls, sequence=sequence)
    rendered = asterisk_rows(calls, network, TZ).splitlines(keepends=True)
    builder = TrafficBuilder(np.random.default_rng(0), TZ, None)  # type: ignore[arg-type]
    fixed = network.fixed

    def subscriber(row: int) -> Subscriber:
        account = Account(
            fixed.account_id[row], fixed.account_name[row], "consumer", "", DAY, CITIES[0]
        )
        return Subscriber(
            "",
            account,
            "fixed_voip",
            fixed.msisdn[row],
            "",
            "",
            "",
            "",
            None,
            DAY,
            None,
            "active",
            (),
        )

    for n, row in enumerate(rendered):
        line = subscriber(int(calls.line[n]))
        number = str(calls.other[n]).zfill(int(calls.other_digits[n]))
        kind = PARTY_KINDS[calls.kind[n]]
        callee = subscriber(int(calls.callee[n])) if calls.callee[n] >= 0 else None
        party = _party(kind, number, int(calls.trunk[n]), bool(calls.outbound[n]), callee)
        start, answer, end = int(calls.started[n]), int(calls.answered[n]), int(calls.ended[n])
        outcome = Outcome(
            DISPOSITIONS[calls.disposition[n]],
            (answer if answer >= 0 else end) - start,
            end - answer if answer >= 0 else 0,
        )
        if calls.outbound[n]:
            call: AsteriskCall = builder.fixed_outbound(line, start, party, outcome)
        else:
            call = builder.fixed_inbound(line, start, party, outcome)
        channel = 2 * int(sequence[n])  # Asterisk's two channels of the call
        call = replace(
            call, channel_number=channel, dstchannel_number=channel + 1, sequence=int(sequence[n])
        )
        assert row == format_cdr_row(call, TZ), (n, row)
