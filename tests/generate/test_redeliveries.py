"""Redelivered files: one clean file per switch, and none when the switch has no clean file."""

from __future__ import annotations

from zoneinfo import ZoneInfo

import numpy as np

from pipelines.generate.anomalies import plan_redeliveries
from pipelines.generate.landing import FileEntry, LandingFile
from pipelines.schema import Feed

CHICAGO = ZoneInfo("America/Chicago")
HOUR = 1_730_610_000  # 2024-11-03T05:00Z, a local hour start in Chicago


def asterisk_file(
    sequence: int, *, touched: bool = False, anomaly: str | None = None
) -> LandingFile:
    entry = FileEntry(payload="row", record_key=f"1730610600.{sequence}#1", anomaly=anomaly)
    return LandingFile(
        Feed.ASTERISK_CDR_CSV, "ast-chi-01", HOUR, [entry], sequence, touched=touched
    )


def test_a_switch_without_a_clean_file_redelivers_nothing() -> None:
    touched = [asterisk_file(1, touched=True), asterisk_file(2, anomaly="malformed_row")]
    clean = [asterisk_file(1, touched=True), asterisk_file(2)]
    pairs = plan_redeliveries(np.random.default_rng(7), [touched, clean], CHICAGO)
    assert [(original.sequence, copy.sequence) for original, copy in pairs] == [(2, 3)]
    ((original, copy),) = pairs
    assert original is clean[1] and original.touched
    assert copy.duplicate_of == original.name and copy.entries == original.entries
