"""Independent re-rating of a random sample of a period's billed usage: an RA control.

Every period, a seeded sample of priced records (``pipelines.rating.sample``, what
``telcolake rating-sample`` writes) is priced again by the pure-Python reference engine
through ``rate_events_file``, the code path of ``telcolake rate-events``, and compared
record by record with what the pipeline billed. The comparison is the lake table
``rerating_checks`` (one partition per billing period, rewritten whole by a rerun); the
dbt models turn its mismatches into leakage findings. docs/cases.md, "Independent
re-rating", states the rules.
"""

from __future__ import annotations

import csv
import tempfile
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from pathlib import Path

import pyarrow as pa

from pipelines import lake
from pipelines.config import Layout
from pipelines.locks import locked_partition
from pipelines.rating import retail
from pipelines.rating.sample import rated_sample, write_sample_events
from pipelines.schema import RERATING_CHECK_SCHEMA
from pipelines.tariffs.currency import NoExchangeRateError, convert_micros
from pipelines.tariffs.events import rate_events_file
from pipelines.tariffs.model import Catalog

#: Records re-rated per period unless asked otherwise (``telcolake rating-sample``'s default
#: too): about 4% of the main job's 23 000 priced records, so a pricing error that touches
#: one record in a hundred is sampled about 10 times; the pure-Python engine takes seconds.
DEFAULT_SAMPLE_SIZE = 1000


class CheckStatus(StrEnum):
    MATCH = "match"
    MISMATCH = "mismatch"


class MismatchReason(StrEnum):
    """Why a sampled record is a mismatch (reference engine errors keep their own code)."""

    CHARGE_DIFFERS = "charge_differs"  # both priced it; the amounts differ
    NO_EXCHANGE_RATE = "no_exchange_rate"  # the re-rated cost cannot be put in the bill's currency


def sample_seed(billing_period: str) -> int:
    """The period's draw seed, e.g. 202610 for 2026-10: a rerun draws the same records."""
    year, month = billing_period.split("-")
    return int(year) * 100 + int(month)


@dataclass(frozen=True)
class ReratingSummary:
    """One period's re-rating control; money in micros of the records' billing currencies."""

    billing_period: str
    sample_seed: int
    sample_size: int  # asked for
    sampled: int
    matched: int
    mismatched: int
    billed_micros: int
    rerated_micros: int  # of the records the reference engine priced


def _read_csv(path: Path) -> dict[str, dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return {row["event_id"]: row for row in csv.DictReader(handle)}


def _event_date(answer_time: str) -> date:
    """The operator-local date of the event: the sample writes answer_time in local time."""
    return datetime.fromisoformat(answer_time).date()


def _compare(
    billed: dict[str, str], rerated: dict[str, str], catalog: Catalog
) -> tuple[int | None, int | None, CheckStatus, str | None]:
    """(re-rated micros in the bill's currency, difference, status, reason); the amounts are
    None when the record could not be re-rated."""
    billed_micros = int(billed["billed_cost_micros"])
    if rerated["error"]:
        return None, None, CheckStatus.MISMATCH, rerated["error"]
    cost = int(rerated["cost_micros"])
    currency = billed["billed_currency"] or catalog.currency
    if currency != catalog.currency:
        # The pipeline bills each record at the exchange rate of its event date.
        try:
            cost = convert_micros(
                cost,
                catalog.currency,
                currency,
                _event_date(billed["answer_time"]),
                catalog.exchange_rates,
            )
        except NoExchangeRateError:
            return None, None, CheckStatus.MISMATCH, MismatchReason.NO_EXCHANGE_RATE.value
    difference = cost - billed_micros
    if difference:
        return cost, difference, CheckStatus.MISMATCH, MismatchReason.CHARGE_DIFFERS.value
    return cost, 0, CheckStatus.MATCH, None


@locked_partition("rerating_check", "billing_period")
def check_rerating(
    layout: Layout,
    billing_period: str,
    size: int = DEFAULT_SAMPLE_SIZE,
    seed: int | None = None,
) -> ReratingSummary:
    """Re-rate a sample of the period's priced usage; rewrite its ``rerating_checks``.

    ``seed`` defaults to ``sample_seed(billing_period)``. The sample and the costs files are
    the ones ``telcolake rating-sample`` and ``telcolake rate-events`` write; they are
    scratch here (the same command line reproduces them, docs/cases.md).
    """
    if size < 0:
        raise ValueError(f"sample size must be >= 0, got {size}")
    seed = sample_seed(billing_period) if seed is None else seed
    catalog = retail.load_tariff_catalog(layout)
    drawn = rated_sample(layout, billing_period, size, seed)
    with tempfile.TemporaryDirectory(prefix="rerating-") as scratch:
        sample_csv, costs_csv = Path(scratch) / "sample.csv", Path(scratch) / "costs.csv"
        write_sample_events(drawn, catalog, sample_csv)
        rate_events_file(catalog, sample_csv, costs_csv)
        sample, costs = _read_csv(sample_csv), _read_csv(costs_csv)
    records = {row["usage_id"]: row for row in drawn.iter_rows(named=True)}
    rows = []
    for usage_id, billed in sample.items():
        rerated, difference, status, reason = _compare(billed, costs[usage_id], catalog)
        record = records[usage_id]
        rows.append(
            {
                "billing_period": billing_period,
                "usage_id": usage_id,
                "subscriber_id": record["subscriber_id"],
                "account_id": record["account_id"],
                "service": record["service"],
                "event_date": record["event_date"],
                "catalog_version": billed["catalog_version"],
                "billed_currency": billed["billed_currency"],
                "billed_charge_micros": int(billed["billed_cost_micros"]),
                "rerated_charge_micros": rerated,
                "difference_micros": difference,
                "check_status": status.value,
                "mismatch_reason": reason,
                "rerated_rates": costs[usage_id]["rate"] or None,
                "sample_seed": seed,
                "sample_size": size,
            }
        )
    table = pa.Table.from_pylist(rows, schema=RERATING_CHECK_SCHEMA)
    lake.write_partition(layout, "rerating_checks", {"billing_period": billing_period}, table)
    mismatched = sum(row["check_status"] == CheckStatus.MISMATCH for row in rows)
    return ReratingSummary(
        billing_period=billing_period,
        sample_seed=seed,
        sample_size=size,
        sampled=len(rows),
        matched=len(rows) - mismatched,
        mismatched=mismatched,
        billed_micros=sum(row["billed_charge_micros"] for row in rows),
        rerated_micros=sum(row["rerated_charge_micros"] or 0 for row in rows),
    )
