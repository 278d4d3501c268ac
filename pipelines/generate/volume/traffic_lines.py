"""The lines and numbers a day of volume traffic is drawn over, read from the reference CSVs.

Only files and columns the per-object generator writes too are read (docs/data-contracts.md),
so the traffic runs over either generator's reference: ``subscribers.csv``,
``hlr_snapshot.csv``, ``accounts.csv``, ``service_addresses.csv``, ``cell_sites.csv``,
``number_blocks.csv``, ``ported_numbers.csv``, ``rate_deck.csv``. What the reference does not
hold is drawn here from the traffic's number stream: each mobile line's handset (IMEI) and
the three cells of its city it is usually seen in, and the numbers it calls.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import numpy as np
import polars as pl

from kernels.ber_encode_api import Digits
from pipelines.config import Layout
from pipelines.generate.catalog import (
    DESTINATIONS,
    TOLL_FREE_CODES,
    TRUNK_INTERNATIONAL,
    TRUNK_LEC_IN,
    TRUNK_LEC_OUT,
    TRUNK_MOBILE,
    TRUNK_SATELLITE,
)
from pipelines.generate.customers import HANDSET_TACS
from pipelines.generate.numbering import random_nanp_number
from pipelines.generate.porting import NETWORKS
from pipelines.generate.traffic import destination_party
from pipelines.reference import MissingReferenceError

#: The texts of the BER records: the APN of every data session, then the trunk groups.
#: A party's trunk groups are indexes into this table (-1: none, on-net).
TEXTS = (
    "internet",
    TRUNK_LEC_OUT,
    TRUNK_LEC_IN,
    TRUNK_MOBILE,
    TRUNK_INTERNATIONAL,
    TRUNK_SATELLITE,
)
APN = 0
NO_TRUNK = -1
#: Cells a mobile line is usually seen in (as the per-object generator gives each line).
CELLS_PER_LINE = 3
#: Numbers drawn per international destination (they are called over and over).
INTERNATIONAL_PER_DESTINATION = 200
#: Domestic numbers called: three per line, as the per-object generator's pool, capped.
DOMESTIC_PER_LINE = 3
DOMESTIC_POOL_MAX = 3_000_000
BLOCK_SIZE = 10_000

# Party kinds.
ONNET, DOMESTIC, TOLL_FREE, INTERNATIONAL, EMERGENCY = range(5)
PARTY_KINDS = ("onnet", "domestic", "toll_free", "international", "emergency")


@dataclass(frozen=True)
class Lines:
    """The lines of one service type that can have usage in the window (index = row).

    msisdn: E.164 digits; business: account class business or government (busy on
    weekdays); service_from / service_until: epoch seconds of local midnight of the
    activation and cancellation dates (until: far future when not cancelled); suspended
    lines are left out, as they never have usage.
    """

    msisdn: pl.Series
    msisdn_digits: Digits
    business: np.ndarray
    service_from: np.ndarray
    service_until: np.ndarray
    account_id: pl.Series
    account_name: pl.Series

    def __len__(self) -> int:
        return int(self.business.size)

    def active_on(self, day_start: int) -> np.ndarray:
        """Rows of the lines in service during the whole local day starting at ``day_start``
        (activation and cancellation take effect at a local midnight)."""
        return np.flatnonzero((self.service_from <= day_start) & (day_start < self.service_until))


@dataclass(frozen=True)
class MobileLines(Lines):
    """Mobile lines, with their identities and usual cells (rows of the cell table)."""

    imsi: Digits
    imei: Digits
    cells: np.ndarray  # int32 (n, CELLS_PER_LINE)

    def cell_of(self, rng: np.random.Generator, line: np.ndarray) -> np.ndarray:
        """A cell of each line's usual ones, drawn uniformly (for each record)."""
        return self.cells[line, rng.integers(0, self.cells.shape[1], line.size)]


@dataclass(frozen=True)
class Parties:
    """External numbers of one kind: E.164 digits, trunk groups towards them and their
    calls in (TEXTS rows), and the weight with which each is called."""

    number: Digits
    trunk_out: np.ndarray  # int8
    trunk_in: np.ndarray  # int8
    cdf: np.ndarray  # float64 cumulative weights

    def __len__(self) -> int:
        return int(self.trunk_out.size)

    def sample(self, rng: np.random.Generator, count: int) -> np.ndarray:
        """``count`` rows drawn by weight."""
        return np.searchsorted(self.cdf, rng.random(count) * self.cdf[-1], side="right")


@dataclass(frozen=True)
class NumberPools:
    domestic: Parties
    toll_free: Parties
    international: Parties
    emergency: Parties


@dataclass(frozen=True)
class Network:
    """Everything the traffic is drawn over."""

    lines: int  # rows of subscribers.csv, every service type
    mobile: MobileLines
    fixed: Lines
    cell_ids: tuple[str, ...]
    pools: NumberPools


def read_table(layout: Layout, name: str) -> pl.DataFrame:
    """A reference CSV, every column text, empty fields null; optional files too
    (cell_sites.csv, number_blocks.csv, ported_numbers.csv)."""
    path = layout.reference / name
    if not path.is_file():
        raise MissingReferenceError(f"missing reference file: {path}")
    return pl.read_csv(path, infer_schema=False)


def _midnights(dates: pl.Series, tz: ZoneInfo, missing: int) -> np.ndarray:
    """Epoch seconds of local midnight of each ISO date (``missing`` when empty); a
    Chicago midnight is never in a DST gap or fold (the clocks change at 02:00)."""
    midnight = (
        dates.str.to_date()
        .cast(pl.Datetime("us"))
        .dt.replace_time_zone(str(tz))
        .dt.epoch("s")
        .fill_null(missing)
    )
    return midnight.to_numpy().astype(np.int64)


def _lines(frame: pl.DataFrame, tz: ZoneInfo) -> dict[str, object]:
    far = int(datetime(9999, 1, 1, tzinfo=UTC).timestamp())
    return {
        "msisdn": frame["msisdn"],
        "msisdn_digits": Digits.of(frame["msisdn"].to_arrow()),
        "business": frame["account_class"].is_in(["business", "government"]).to_numpy(),
        "service_from": _midnights(frame["activated_date"], tz, far),
        "service_until": _midnights(frame["cancelled_date"], tz, far),
        "account_id": frame["account_id"],
        "account_name": frame["account_name"],
    }


def luhn_check_digits(payload: np.ndarray) -> np.ndarray:
    """The Luhn check digit completing each row of ``payload`` (int64 (n, k) digits)."""
    doubled = payload[:, ::-1].copy()
    doubled[:, 0::2] *= 2  # the rightmost payload digit is doubled: the check digit follows
    doubled = np.where(doubled > 9, doubled - 9, doubled)
    return (10 - doubled.sum(axis=1) % 10) % 10


def draw_imeis(rng: np.random.Generator, count: int) -> Digits:
    """``count`` distinct 15-digit IMEIs: a handset TAC (``customers.HANDSET_TACS``), a
    6-digit serial and the Luhn check digit."""
    serials = 10**6
    drawn = rng.choice(len(HANDSET_TACS) * serials, size=count, replace=False)
    tac = np.array([int(code) for code in HANDSET_TACS], dtype=np.int64)[drawn // serials]
    payload = tac * serials + drawn % serials
    digits = payload[:, None] // 10 ** np.arange(13, -1, -1, dtype=np.int64) % 10
    return Digits(payload * 10 + luhn_check_digits(digits), np.full(count, 15, dtype=np.int8))


def _line_cells(rng: np.random.Generator, line_city: pl.Series, cells: pl.DataFrame) -> np.ndarray:
    """CELLS_PER_LINE cells of each line's city (any cell when its city has none)."""
    out = np.empty((len(line_city), CELLS_PER_LINE), dtype=np.int32)
    city_of_line = line_city.fill_null("").to_numpy()
    everywhere = np.arange(cells.height, dtype=np.int32)
    by_city = {
        str(city): np.flatnonzero(cells["city"].to_numpy() == city).astype(np.int32)
        for city in sorted(set(city_of_line.tolist()))
    }
    for city, candidates in by_city.items():
        rows = np.flatnonzero(city_of_line == city)
        pool = candidates if candidates.size else everywhere
        out[rows] = pool[rng.integers(0, pool.size, size=(rows.size, CELLS_PER_LINE))]
    return out


def read_network(
    layout: Layout, rng: np.random.Generator, tz: ZoneInfo, first_day: date
) -> Network:
    """The lines and number pools of the operator under ``layout.reference``.

    A mobile line is used only when the HLR has its IMSI active with the same MSISDN, so
    every record names a provisioned line; suspended lines are left out.
    """
    subscribers = read_table(layout, "subscribers.csv")
    accounts = read_table(layout, "accounts.csv").select(
        "account_id", "account_name", "account_class"
    )
    addresses = read_table(layout, "service_addresses.csv").select("service_address_id", "city")
    hlr = read_table(layout, "hlr_snapshot.csv").filter(pl.col("provisioning_status") == "active")
    cell_sites = read_table(layout, "cell_sites.csv").select("cell_id", "city")
    usable = (
        subscribers.filter(
            pl.col("service_type").is_in(["mobile", "fixed_voip"])
            & (pl.col("status") != "suspended")
            & pl.col("msisdn").is_not_null()
        )
        .join(accounts, on="account_id", how="left")
        .join(addresses, on="service_address_id", how="left")
    )
    mobile = usable.filter(pl.col("service_type") == "mobile").join(
        hlr.select("imsi", pl.col("msisdn").alias("hlr_msisdn")), on="imsi", how="inner"
    )
    mobile = mobile.filter(pl.col("msisdn") == pl.col("hlr_msisdn")).sort("subscriber_id")
    fixed = usable.filter(pl.col("service_type") == "fixed_voip").sort("subscriber_id")
    mobile_lines = MobileLines(
        **_lines(mobile, tz),  # type: ignore[arg-type]
        imsi=Digits.of(mobile["imsi"].to_arrow()),
        imei=draw_imeis(rng, mobile.height),
        cells=_line_cells(rng, mobile["city"], cell_sites),
    )
    own = np.concatenate(
        [mobile_lines.msisdn_digits.value, Digits.of(fixed["msisdn"].to_arrow()).value]
    )
    return Network(
        lines=subscribers.height,
        mobile=mobile_lines,
        fixed=Lines(**_lines(fixed, tz)),  # type: ignore[arg-type]
        cell_ids=tuple(cell_sites["cell_id"].to_list()),
        pools=_number_pools(layout, rng, subscribers.height, own, first_day),
    )


def _trunk_row(name: str | None) -> int:
    return NO_TRUNK if name is None else TEXTS.index(name)


def _parties(
    numbers: list[str],
    trunk_out: list[str | None],
    trunk_in: list[str | None],
    weights: list[float],
) -> Parties:
    return Parties(
        Digits.of(numbers),
        np.array([_trunk_row(t) for t in trunk_out], dtype=np.int8),
        np.array([_trunk_row(t) for t in trunk_in], dtype=np.int8),
        np.cumsum(np.array(weights, dtype=np.float64)),
    )


def _domestic(
    layout: Layout, rng: np.random.Generator, lines: int, own: np.ndarray, day: date
) -> Parties:
    """Numbers drawn in the reference's blocks, and its ported numbers, none of them ours,
    each with the trunk groups of the network serving it on ``day``: the LRN's of a porting
    entry in effect, else the block holder's (docs/generator.md, number portability)."""
    blocks = read_table(layout, "number_blocks.csv").select(
        pl.col("prefix").cast(pl.Int64), pl.col("spid").alias("holder")
    )
    ported = read_table(layout, "ported_numbers.csv").with_columns(pl.col("number").cast(pl.Int64))
    iso = day.isoformat()
    in_effect = ported.filter(
        (pl.col("effective_from") <= iso)
        & (pl.col("effective_to").is_null() | (pl.col("effective_to") >= iso))
    ).select("number", "spid")
    count = min(DOMESTIC_PER_LINE * lines + 50, DOMESTIC_POOL_MAX)
    prefixes = blocks["prefix"].to_numpy()
    drawn = prefixes[rng.integers(0, prefixes.size, count)] * BLOCK_SIZE + rng.integers(
        0, BLOCK_SIZE, count
    )
    numbers = np.unique(np.concatenate([drawn, ported["number"].to_numpy()]))
    numbers = numbers[~np.isin(numbers, own)]
    networks = {network.spid: network for network in NETWORKS}
    spid = (
        pl.DataFrame({"number": numbers, "prefix": numbers // BLOCK_SIZE})
        .join(blocks, on="prefix", how="left")
        .join(in_effect, on="number", how="left")
        .sort("number")
        .select(pl.coalesce("spid", "holder"))
        .to_series()
    )
    if (spid.is_null() | ~spid.is_in(list(networks))).any():
        raise ValueError("a domestic number is in no block of number_blocks.csv")

    def trunks(side: str) -> np.ndarray:
        rows = {s: _trunk_row(getattr(n, side)) for s, n in networks.items()}
        return spid.replace_strict(rows, return_dtype=pl.Int8).to_numpy()

    return Parties(
        Digits(numbers, np.full(numbers.size, 11, dtype=np.int8)),
        trunks("trunk_out"),
        trunks("trunk_in"),
        np.arange(1, numbers.size + 1, dtype=np.float64),
    )


def _number_pools(
    layout: Layout, rng: np.random.Generator, lines: int, own: np.ndarray, day: date
) -> NumberPools:
    """Domestic, toll-free, international and emergency numbers. International numbers
    are drawn, valid per libphonenumber, in the generator's destinations that the rate deck
    prices, called by each destination's weight."""
    domestic = _domestic(layout, rng, lines, own, day)
    toll_free = [
        random_nanp_number(rng, TOLL_FREE_CODES[i % len(TOLL_FREE_CODES)]) for i in range(10)
    ]
    priced = set(read_table(layout, "rate_deck.csv").filter(pl.col("service") == "voice")["prefix"])
    numbers: list[str] = []
    trunks: list[str | None] = []
    weights: list[float] = []
    for destination in DESTINATIONS:
        if destination.weight == 0 or destination.prefix not in priced:
            continue
        for _ in range(INTERNATIONAL_PER_DESTINATION):
            party = destination_party(rng, destination)
            numbers.append(party.e164)
            trunks.append(party.trunk_out)
            weights.append(destination.weight / INTERNATIONAL_PER_DESTINATION)
    return NumberPools(
        domestic=domestic,
        toll_free=_parties(
            toll_free,
            [TRUNK_LEC_OUT] * len(toll_free),
            [TRUNK_LEC_IN] * len(toll_free),
            [1.0] * len(toll_free),
        ),
        international=_parties(numbers, trunks, [TRUNK_INTERNATIONAL] * len(numbers), weights),
        emergency=_parties(["911"], [TRUNK_LEC_OUT], [None], [1.0]),
    )
