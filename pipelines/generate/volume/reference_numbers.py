"""Numbers, IMSIs and cells of a volume operator, drawn by number block.

Every NANP number lives in a block (``1`` + NPA + NXX, 10,000 numbers, as the LERG assigns
them), and libphonenumber's US metadata decides validity by block, so each block is
checked once (``valid_blocks``) and every number of a valid block is valid:

- our lines' numbers fill blocks we hold, half full at most, in their city's area codes;
  those blocks are in no reference file (``number_blocks.csv`` lists the networks we hand
  calls to, as the per-object generator's does);
- the domestic numbers our subscribers call are in other blocks of the area codes
  ``traffic.DOMESTIC_AREA_CODES`` (three per line, as ``traffic.build_number_pools``
  draws, up to DOMESTIC_POOL_MAX); each block is held by the LEC or the mobile network
  (half each, as the per-object generator draws a number's network), 8% of the numbers are
  ported away from the holder and 2% ported and back before the month (``porting``'s
  shares and dates). Unlike the per-object generator, a block's other numbers are not
  ported by a collision, so the porting database stays at a tenth of the numbers called.

IMSIs are the home PLMN ``310260`` and 9 distinct digits. Cells: each city has one cell per
LINES_PER_CELL of its mobile lines, 20 at least, in its 20 location areas.
"""

from __future__ import annotations

import functools
import math
from datetime import date

import numpy as np
import phonenumbers
import polars as pl

from pipelines.generate.catalog import MSC_NUMBER, SMSC_NUMBER
from pipelines.generate.customers import CELL_IDENTITIES, CITIES, LOCATION_AREA_SPAN
from pipelines.generate.numbering import HOME_PLMN
from pipelines.generate.porting import (
    BLOCK_DIGITS,
    NETWORKS,
    PORTED_BACK_DAYS_BEFORE,
    PORTED_BACK_FOR_DAYS,
    PORTED_BACK_SHARE,
    PORTED_DAYS_BEFORE,
    PORTED_SHARE,
)
from pipelines.generate.traffic import DOMESTIC_AREA_CODES
from pipelines.generate.volume.reference_columns import NO_DATE, dates, day_number, pick

BLOCK_SIZE = 10_000
#: Blocks nobody's lines or called numbers are drawn in: the networks' LRN blocks (listed
#: as theirs) and the block of our MSC and SMSC numbers.
RESERVED_BLOCKS = frozenset(
    int(number[:BLOCK_DIGITS])
    for number in (*(network.lrn for network in NETWORKS), MSC_NUMBER, SMSC_NUMBER)
)
#: Our blocks are filled to half at most, as an operator's are, so numbers spread out.
OWN_BLOCK_FILL = 5_000
#: Domestic numbers called: three per line and 50 (traffic.build_number_pools), at most
#: DOMESTIC_POOL_MAX, which keeps the porting database (a tenth of them) bounded at any
#: scale while their blocks cover nearly every exchange of the area codes.
DOMESTIC_PER_LINE = 3
DOMESTIC_POOL_MAX = 1_000_000
#: Mobile lines per cell (a sector serves a few hundred subscribers).
LINES_PER_CELL = 400
#: The MCC and MNC as cell ids carry them (``310-260-<LAC>-<CI>``).
CELL_PLMN = f"{HOME_PLMN[:3]}-{HOME_PLMN[3:]}"


@functools.cache
def valid_blocks(area_code: str) -> np.ndarray:
    """The blocks (``1`` + NPA + NXX as an integer) of ``area_code`` whose numbers
    libphonenumber accepts, reserved blocks and the 555 exchange (fiction and directory
    services) left out. One number is checked per block: the US metadata's patterns go
    no deeper than the exchange."""

    def valid(national: str) -> bool:
        number = phonenumbers.PhoneNumber(country_code=1, national_number=int(national))
        return bool(phonenumbers.is_valid_number_for_region(number, "US"))

    blocks = [
        int(f"1{area_code}{exchange}")
        for exchange in range(200, 1000)
        if exchange != 555 and valid(f"{area_code}{exchange}0000")
    ]
    return np.array(sorted(set(blocks) - RESERVED_BLOCKS), dtype=np.int64)


def _numbers_in(rng: np.random.Generator, blocks: np.ndarray, count: int) -> np.ndarray:
    """``count`` distinct numbers drawn uniformly from ``blocks``, in random order."""
    slots = rng.choice(len(blocks) * BLOCK_SIZE, size=count, replace=False)
    return blocks[slots // BLOCK_SIZE] * BLOCK_SIZE + slots % BLOCK_SIZE


def assign_own_numbers(
    rng: np.random.Generator, area_code: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """A distinct number per line in its area code (``area_code``: NPA per line, 0 for a
    line without a number, which gets 0); returns the numbers and the blocks we hold."""
    numbers = np.zeros(len(area_code), dtype=np.int64)
    held = [np.zeros(0, dtype=np.int64)]
    for code in np.unique(area_code[area_code > 0]).tolist():
        rows = np.flatnonzero(area_code == code)
        free = valid_blocks(str(code))
        needed = math.ceil(len(rows) / OWN_BLOCK_FILL)
        if needed > len(free):
            raise ValueError(f"area code {code} has too few blocks for {len(rows)} lines")
        blocks = np.sort(rng.choice(free, size=needed, replace=False))
        numbers[rows] = _numbers_in(rng, blocks, len(rows))
        held.append(blocks)
    return numbers, np.sort(np.concatenate(held))


def number_portability(
    rng: np.random.Generator, subscribers: int, own_blocks: np.ndarray, month_start: date
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """number_blocks.csv and ported_numbers.csv of the distinct domestic numbers the
    ``subscribers`` lines call, drawn in blocks we do not hold: the blocks' holders (and
    each network's LRN block) and the numbers' porting history as of ``month_start``."""
    size = min(DOMESTIC_PER_LINE * subscribers + 50, DOMESTIC_POOL_MAX)
    counts = rng.multinomial(size, np.full(len(DOMESTIC_AREA_CODES), 1 / len(DOMESTIC_AREA_CODES)))
    drawn = [
        _numbers_in(rng, np.setdiff1d(valid_blocks(code), own_blocks), int(count))
        for code, count in zip(DOMESTIC_AREA_CODES, counts.tolist(), strict=True)
    ]
    numbers = np.sort(np.concatenate(drawn))
    blocks, block_index = np.unique(numbers // BLOCK_SIZE, return_inverse=True)
    lec, mobile = range(len(NETWORKS))
    holder = np.where(rng.random(len(blocks)) < 0.5, lec, mobile)
    # Each network holds its LRN's block too.
    lrn_blocks = np.array([int(network.lrn_block) for network in NETWORKS])
    all_blocks = np.concatenate([blocks, lrn_blocks])
    all_holders = np.concatenate([holder, np.arange(len(NETWORKS))])
    order = np.argsort(all_blocks)
    spids = tuple(network.spid for network in NETWORKS)
    number_blocks = pl.DataFrame(
        {
            "prefix": pl.Series(all_blocks[order]).cast(pl.String),
            "spid": pick(spids, all_holders[order]),
        }
    )

    holder_of = holder[block_index]
    other = len(NETWORKS) - 1 - holder_of
    draw = rng.random(len(numbers))
    away = draw < PORTED_SHARE
    back = ~away & (draw < PORTED_SHARE + PORTED_BACK_SHARE)
    start = day_number(month_start)
    since_away = start - rng.integers(*PORTED_DAYS_BEFORE, size=len(numbers))
    since_back = start - rng.integers(*PORTED_BACK_DAYS_BEFORE, size=len(numbers))
    until_back = since_back + rng.integers(*PORTED_BACK_FOR_DAYS, size=len(numbers))
    listed = away | back
    ported_numbers = pl.DataFrame(
        {
            "number": pl.Series(numbers[listed]).cast(pl.String),
            "lrn": pick(tuple(network.lrn for network in NETWORKS), other[listed]),
            "spid": pick(spids, other[listed]),
            "effective_from": dates(np.where(away, since_away, since_back)[listed], "from"),
            "effective_to": dates(np.where(away, NO_DATE, until_back)[listed], "to"),
        }
    )
    return number_blocks, ported_numbers


def draw_imsis(rng: np.random.Generator, count: int) -> pl.Series:
    """``count`` distinct IMSIs of the home network: MCC+MNC ``310260`` and a 9-digit MSIN."""
    msin = pl.Series(rng.choice(10**9, size=count, replace=False), dtype=pl.Int64)
    return pl.select(pl.lit(HOME_PLMN) + msin.cast(pl.String).str.zfill(9)).to_series()


def cell_ids(rng: np.random.Generator, mobile_lines: np.ndarray) -> list[str]:
    """The network's cells, ``310-260-<LAC>-<CI>``: per city (``mobile_lines``: its mobile
    lines, per ``customers.CITIES``) one per LINES_PER_CELL lines and LOCATION_AREA_SPAN
    at least, at distinct (LAC, CI) of its location areas; sorted within a city."""
    span = CELL_IDENTITIES[1] - CELL_IDENTITIES[0]
    cells: list[str] = []
    for city, lines in zip(CITIES, mobile_lines.tolist(), strict=True):
        count = max(LOCATION_AREA_SPAN, math.ceil(lines / LINES_PER_CELL))
        drawn = np.sort(rng.choice(LOCATION_AREA_SPAN * span, size=count, replace=False))
        cells.extend(
            f"{CELL_PLMN}-{city.location_area + cell // span}-{CELL_IDENTITIES[0] + cell % span}"
            for cell in drawn.tolist()
        )
    return cells
