"""The operator sizes the benchmark runs: usage records per day, and lines to make them."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

#: The billing period benched and its one day of traffic.
BENCH_PERIOD = "2026-10"
BENCH_DAY = date(2026, 10, 1)
#: Usage records a line makes a day at every scale: subscribers = records / this.
RECORDS_PER_LINE_DAY = 100
DEFAULT_SCALE = "1M"

_MULTIPLIERS = {"K": 1_000, "M": 1_000_000, "G": 1_000_000_000}
_NAME = re.compile(r"([0-9]+)([KMG]?)")


@dataclass(frozen=True)
class Scale:
    """One day of an operator making ``records`` usage records (``name``: 1M, 10M, ...)."""

    name: str
    records: int

    @property
    def subscribers(self) -> int:
        return max(1, self.records // RECORDS_PER_LINE_DAY)


#: The scales of issue #10's table; ``make bench`` runs DEFAULT_SCALE unless told otherwise.
STANDARD_SCALES = ("1M", "10M", "100M", "200M")


def parse_scale(text: str) -> Scale:
    """``10M`` -> Scale("10M", 10_000_000); K, M and G multiply, a bare number is records."""
    match = _NAME.fullmatch(text.strip().upper())
    if match is None or int(match[1]) == 0:
        raise ValueError(f"a scale is a record count such as 1M, 10M or 250K, not {text!r}")
    records = int(match[1]) * _MULTIPLIERS.get(match[2], 1)
    return Scale(match[1] + match[2], records)


def parse_scales(values: list[str] | None) -> list[Scale]:
    """Scales from repeated and comma-separated options, in order, each once."""
    names = [part for value in values or [DEFAULT_SCALE] for part in value.split(",") if part]
    scales: dict[str, Scale] = {}
    for name in names:
        scale = parse_scale(name)
        scales.setdefault(scale.name, scale)
    return list(scales.values())
