"""The roaming stage: one billing period's TAP out, RAP returns and settlement.

Runs after mediation and rating of the period. It writes our TAP files to the partners
(``outbound/tap/``), the RAP files returning their refused batches (``outbound/rap/``),
and replaces the period's partitions of ``roaming_files``, ``roaming_events``,
``rap_returns`` and ``roaming_settlement``. A rerun on the same lake and reference data
writes the same files and partitions, byte for byte. docs/roaming.md explains the rules.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import polars as pl
import pyarrow as pa

from pipelines import lake
from pipelines.config import Layout
from pipelines.locks import locked_partition
from pipelines.rating.retail import load_tariff_catalog
from pipelines.roaming import rap, settlement, tap_in, tap_out
from pipelines.roaming.partners import SettlementDirection, load_iot_rates, load_partners
from pipelines.schema import LAKE_TABLES, RoamingFileStatus


@dataclass(frozen=True)
class RoamingResult:
    """What one run of ``roaming_period`` wrote; money in USD micros."""

    billing_period: str
    partners: int
    tap_out_files: int
    tap_out_events: int
    visitor_records_excluded: dict[str, int] = field(default_factory=dict)
    tap_in_files: dict[str, int] = field(default_factory=dict)  # by RoamingFileStatus
    tap_in_events: int = 0
    rap_files: int = 0
    not_returnable_files: int = 0
    payable_usd_micros: int = 0
    receivable_usd_micros: int = 0
    settlement_lines: int = 0


def _table(name: str, rows: list[dict[str, Any]]) -> pa.Table:
    schema, _ = LAKE_TABLES[name]
    return pa.Table.from_pylist(rows, schema=schema)


def _lake(layout: Layout, name: str) -> pl.DataFrame:
    frame = pl.from_arrow(lake.read_table(layout, name))
    assert isinstance(frame, pl.DataFrame)
    return frame


@locked_partition("roaming", "billing_period")
def roaming_period(layout: Layout, billing_period: str) -> RoamingResult:
    """TAP out, RAP and settlement of ``billing_period`` (YYYY-MM)."""
    partners = load_partners(layout)
    iot_rates = load_iot_rates(layout, partners)
    earlier_files = _lake(layout, "roaming_files")
    settled_before = {
        (row["tadig"], row["file_sequence_number"])
        for row in earlier_files.filter(
            (pl.col("billing_period") != billing_period)
            & (pl.col("direction") == SettlementDirection.PAYABLE.value)
            & (pl.col("file_status") == RoamingFileStatus.SETTLED.value)
        ).to_dicts()
    }
    incoming = tap_in.partner_files(layout, billing_period, settled_before)
    # Without agreements or partner files there is no money to convert, and an operator
    # without roaming need not have a tariff catalog's exchange rates at hand.
    exchange_rates = (
        load_tariff_catalog(layout).exchange_rates if partners or incoming.files else ()
    )
    outgoing = tap_out.build_tap_out(
        layout, billing_period, partners, iot_rates, exchange_rates, earlier_files
    )
    returns = rap.build_returns(
        layout, billing_period, incoming.returned, incoming.unreadable, _lake(layout, "rap_returns")
    )
    events = pl.from_arrow(_table("roaming_events", incoming.events + outgoing.events))
    assert isinstance(events, pl.DataFrame)
    lines = settlement.settlement_lines(billing_period, events, partners, exchange_rates)

    tap_out.write_files(outgoing.files + returns.files)
    partition = {"billing_period": billing_period}
    files = _table("roaming_files", incoming.files + outgoing.file_rows)
    files = _sorted(files, ["direction", "tadig", "file_date", "file_name"])
    event_rows = _sorted(
        events.to_arrow(), ["direction", "tadig", "file_name", "record_number", "usage_id"]
    )
    lake.write_partition(layout, "roaming_files", partition, files)
    lake.write_partition(layout, "roaming_events", partition, event_rows)
    lake.write_partition(layout, "rap_returns", partition, _table("rap_returns", returns.rows))
    lake.write_partition(
        layout, "roaming_settlement", partition, _table("roaming_settlement", lines)
    )

    def usd(direction: SettlementDirection) -> int:
        return sum(
            line["usd_equivalent_micros"] for line in lines if line["direction"] == direction
        )

    receivable = [e for e in outgoing.events if e["is_settled"]]
    return RoamingResult(
        billing_period=billing_period,
        partners=len(partners),
        tap_out_files=len(outgoing.files),
        tap_out_events=len(receivable),
        visitor_records_excluded=dict(
            sorted(
                Counter(
                    e["exclusion_reason"] for e in outgoing.events if not e["is_settled"]
                ).items()
            )
        ),
        tap_in_files=dict(sorted(Counter(str(f["file_status"]) for f in incoming.files).items())),
        tap_in_events=len(incoming.events),
        rap_files=len(returns.files),
        not_returnable_files=len(incoming.unreadable),
        payable_usd_micros=usd(SettlementDirection.PAYABLE),
        receivable_usd_micros=usd(SettlementDirection.RECEIVABLE),
        settlement_lines=len(lines),
    )


def _sorted(table: pa.Table, keys: list[str]) -> pa.Table:
    frame = pl.from_arrow(table)
    assert isinstance(frame, pl.DataFrame)
    return frame.sort(keys, nulls_last=True).to_arrow().cast(table.schema)
