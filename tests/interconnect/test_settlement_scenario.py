"""The acceptance scenario of interconnect settlement, worked by hand: three carriers, a
number ported mid-month, a deck repriced mid-month, and a carrier invoice that bills one
CDR batch twice (three_carriers.py holds the agreements and the calls).

The month's calls are rated into legs, the legs written to the lake as the rate stage
does, each carrier's invoice written as the carrier sends it, and the period reconciled.

Settlement (payable, from the legs; per call in three_carriers.py):
- Lakeshore Bell: u01 4_400 = 4_400, 1 call.
- Prairie Wireless: u02 5_700 (the ported number, on its LRN) + u03 4_500 + u04 1_800 +
  u12 1_100 = 13_100, 4 calls, 1 of them ported.
- Atlantic Global Voice: UK u05 20_000 (old price) + u06 16_700 (new price) + u13
  120_000 (old price, past midnight) = 156_700; UK mobile u07 36_000; 192_700 in all.
Receivable: Lakeshore Bell's origination u08 3_800.

The invoices (4 decimals; minutes = billable seconds / 60 to 4 decimals):
- Lakeshore Bell and Prairie Wireless bill exactly our legs: every cell a match.
- Atlantic Global Voice bills 2024-07-15's last batch (u05 and u13: 2 calls, 700 s,
  0.1400) twice. Its UK cell of the 15th is 280_000 against our 140_000: volume /
  duplicate_batch, 140_000 over. Its tolerance is max(50_000, 50 bp x 140_000 = 700) =
  50_000, so it is disputed for 140_000. The 16th (the new price) and UK mobile match.
"""

from __future__ import annotations

from datetime import date

import polars as pl
import pytest
from three_carriers import CALLS, write_reference

from pipelines import lake
from pipelines.config import Layout
from pipelines.config import layout as make_layout
from pipelines.interconnect.agreements import load_agreements
from pipelines.interconnect.legs import rate_legs
from pipelines.interconnect.reconcile import reconcile_period
from pipelines.rating.buckets import read_period_table
from pipelines.rating.stage import local_seconds
from pipelines.schema import INTERCONNECT_LEG_SCHEMA

PERIOD = "2024-07"
HEADER = (
    "record_type,invoice_number,carrier_id,billing_period,invoice_date,currency,traffic_date,"
    "destination_code,destination_name,batch_id,calls,minutes,rate,amount"
)
INVOICES = {
    "C-LEC": [
        "detail,LB-0724,C-LEC,2024-07,2024-08-05,USD,2024-07-05,1,United States and Canada,"
        "C-LEC-20240705-2,1,1.1000,0.004000,0.0044",
        "summary,LB-0724,C-LEC,2024-07,2024-08-05,USD,,1,United States and Canada,,1,1.1000,,"
        "0.0044",
        "total,LB-0724,C-LEC,2024-07,2024-08-05,USD,,,,,1,1.1000,,0.0044",
    ],
    "C-MOB": [
        "detail,PW-0724,C-MOB,2024-07,2024-08-05,USD,2024-07-20,1312998,Prairie Wireless "
        "numbers,C-MOB-20240720-2,1,1.1000,0.005100,0.0057",
        "detail,PW-0724,C-MOB,2024-07,2024-08-05,USD,2024-07-22,1312998,Prairie Wireless "
        "numbers,C-MOB-20240722-2,1,0.2000,0.005100,0.0011",
        "detail,PW-0724,C-MOB,2024-07,2024-08-05,USD,2024-07-20,1,United States and Canada "
        "(transit),C-MOB-20240720-2,1,0.5000,0.009000,0.0045",
        "detail,PW-0724,C-MOB,2024-07,2024-08-05,USD,2024-07-21,1,United States and Canada "
        "(transit),C-MOB-20240721-2,1,0.2000,0.009000,0.0018",
        "summary,PW-0724,C-MOB,2024-07,2024-08-05,USD,,1312998,Prairie Wireless numbers,,2,"
        "1.3000,,0.0068",
        "summary,PW-0724,C-MOB,2024-07,2024-08-05,USD,,1,United States and Canada (transit),,"
        "2,0.7000,,0.0063",
        "total,PW-0724,C-MOB,2024-07,2024-08-05,USD,,,,,4,2.0000,,0.0131",
    ],
    "C-INTL": [
        "detail,AGV-2407,C-INTL,2024-07,2024-08-03,USD,2024-07-15,44,United Kingdom,"
        "C-INTL-20240715-4,2,11.6667,0.012000,0.1400",
        # The same CDR batch billed again.
        "detail,AGV-2407,C-INTL,2024-07,2024-08-03,USD,2024-07-15,44,United Kingdom,"
        "C-INTL-20240715-4,2,11.6667,0.012000,0.1400",
        "detail,AGV-2407,C-INTL,2024-07,2024-08-03,USD,2024-07-16,44,United Kingdom,"
        "C-INTL-20240716-1,1,1.6667,0.010000,0.0167",
        "detail,AGV-2407,C-INTL,2024-07,2024-08-03,USD,2024-07-20,447,United Kingdom mobile,"
        "C-INTL-20240720-2,1,0.8000,0.045000,0.0360",
        "summary,AGV-2407,C-INTL,2024-07,2024-08-03,USD,,44,United Kingdom,,5,25.0000,,0.2967",
        "summary,AGV-2407,C-INTL,2024-07,2024-08-03,USD,,447,United Kingdom mobile,,1,0.8000,,"
        "0.0360",
        "total,AGV-2407,C-INTL,2024-07,2024-08-03,USD,,,,,6,25.8000,,0.3327",
    ],
}
SUBSCRIBERS = (
    "subscriber_id,account_id,service_type,msisdn,imsi,plan_id,service_address_id,"
    "activated_date,cancelled_date,status\n"
    "S1,A1,fixed_voip,13125550001,,P1,SA1,2024-01-01,,active\n"
)


@pytest.fixture(scope="module")
def settled(tmp_path_factory: pytest.TempPathFactory) -> Layout:
    root = tmp_path_factory.mktemp("three_carriers")
    write_reference(root, **{"subscribers.csv": SUBSCRIBERS})
    layout = make_layout(root)
    usage = pl.DataFrame(CALLS).with_columns(
        local_seconds(), pl.lit(PERIOD).alias("billing_period")
    )
    legs = rate_legs(usage, load_agreements(layout))
    table = legs.select(INTERCONNECT_LEG_SCHEMA.names).to_arrow().cast(INTERCONNECT_LEG_SCHEMA)
    # The legs as one rating bucket.
    lake.write_partition(
        layout, "interconnect_legs", {"billing_period": PERIOD, "bucket": 0}, table
    )
    for carrier, rows in INVOICES.items():
        folder = layout.carrier_invoices / carrier
        folder.mkdir(parents=True)
        (folder / f"{carrier}_{PERIOD}.csv").write_text("\n".join([HEADER, *rows]) + "\n")
    reconcile_period(layout, PERIOD)
    return layout


def _table(layout: Layout, name: str) -> pl.DataFrame:
    frame = pl.from_arrow(read_period_table(layout, name, PERIOD))
    assert isinstance(frame, pl.DataFrame)
    return frame


def test_settlement_per_carrier_and_side(settled: Layout) -> None:
    legs = _table(settled, "interconnect_legs").filter(pl.col("rating_status") == "rated")
    settlement = (
        legs.group_by("carrier_id", "leg_direction")
        .agg(
            pl.len().alias("calls"),
            pl.col("ported").sum().alias("ported_calls"),
            pl.col("amount_micros").sum().alias("amount_micros"),
        )
        .sort("carrier_id", "leg_direction")
    )
    assert settlement.rows() == [
        ("C-INTL", "outbound", 4, 0, 192_700),
        ("C-LEC", "inbound", 1, 0, 3_800),
        ("C-LEC", "outbound", 1, 0, 4_400),
        ("C-MOB", "outbound", 4, 1, 13_100),
    ]


def test_the_duplicated_batch_is_the_one_dispute(settled: Layout) -> None:
    cells = _table(settled, "interconnect_reconciliation")
    differing = cells.filter(pl.col("difference_class") != "match")
    assert differing.select(
        "carrier_id", "destination_code", "traffic_date", "difference_class", "cause",
        "our_amount_micros", "their_amount_micros", "difference_micros",
    ).rows() == [
        ("C-INTL", "44", date(2024, 7, 15), "volume", "duplicate_batch",
         140_000, 280_000, 140_000),
    ]  # fmt: skip
    assert cells.height == 8  # every (carrier, destination, day) of the month's outbound legs
    disputes = _table(settled, "interconnect_disputes")
    assert disputes.select(
        "dispute_id", "disputed_amount_micros", "tolerance_micros", "status"
    ).rows() == [("C-INTL-2024-07-44-duplicate_batch", 140_000, 50_000, "open")]
    evidence = disputes["evidence"][0]
    assert "C-INTL-20240715-4" in evidence
