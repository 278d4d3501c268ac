"""A tiny settlement lake for the carrier invoice tests: agreements, hand-made rated legs
and carrier invoices written as text, under a tmp_path data root.

Amounts are micro-units (1 USD = 1_000_000); each test states its amounts by hand.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pyarrow as pa

from pipelines import lake
from pipelines.config import OPERATOR_TIMEZONE, Layout
from pipelines.rating.buckets import read_period_table
from pipelines.schema import INTERCONNECT_LEG_SCHEMA, RATED_USAGE_SCHEMA

PERIOD = "2026-10"
HEADER = (
    "record_type,invoice_number,carrier_id,billing_period,invoice_date,currency,traffic_date,"
    "destination_code,destination_name,batch_id,calls,minutes,rate,amount"
)
CARRIERS_HEADER = (
    "carrier_id,carrier_name,country,spid,currency,settlement_period,rounding_method,"
    "rounding_decimals,dispute_tolerance_micros,dispute_tolerance_bp"
)
DECK_HEADER = (
    "carrier_id,direction,prefix,destination_name,destination_group,price_micros,"
    "first_increment,increment,effective_from,effective_to"
)
#: CR-A bills in 4 decimals with a 0.01 tolerance; CR-B sends no invoice; CR-C carries
#: nothing this month. Every agreement rounds each call half up to the micro.
CARRIERS = [
    "CR-A,Alpha Carrier,GB,,USD,monthly,half_up,6,10000,0",
    "CR-B,Beta Carrier,US,0123,USD,monthly,half_up,6,10000,0",
    "CR-C,Gamma Carrier,US,0456,USD,monthly,half_up,6,10000,0",
]
#: France drops from 0.036 to 0.030 a minute on 2026-10-15.
DECK = [
    "CR-A,termination,44,United Kingdom,international,20500,6,6,2019-01-01,",
    "CR-A,termination,33,France,international,36000,6,6,2026-09-01,2026-10-14",
    "CR-A,termination,33,France,international,30000,6,6,2026-10-15,",
    "CR-A,termination,49,Germany,international,10000,6,6,2019-01-01,",
    "CR-A,termination,1312,Chicago,domestic,4000,6,6,2019-01-01,",
    "CR-A,origination,49,Germany,international,2000,6,6,2019-01-01,",
    "CR-B,termination,44,United Kingdom,international,25000,6,6,2019-01-01,",
]
_NAMES = {"44": "United Kingdom", "33": "France", "49": "Germany", "1312": "Chicago"}


def write_agreements(root: Path, carriers: list[str], deck: list[str]) -> Layout:
    """carriers.csv and interconnect_rates.csv under ``root``; the layout of ``root``."""
    layout = Layout(root)
    layout.reference.mkdir(parents=True, exist_ok=True)
    (layout.reference / "carriers.csv").write_text("\n".join([CARRIERS_HEADER, *carriers]) + "\n")
    (layout.reference / "interconnect_rates.csv").write_text("\n".join([DECK_HEADER, *deck]) + "\n")
    return layout


def leg(
    carrier_id: str,
    prefix: str,
    local_start: str,
    seconds: int,
    price_micros: int,
    amount_micros: int,
    *,
    effective_from: str = "2019-01-01",
    direction: str = "outbound",
    status: str = "rated",
) -> dict[str, object]:
    """One interconnect leg as rating writes it; ``local_start``: 'YYYY-MM-DD HH:MM' in the
    operator's time zone. The amount is given, not computed: the test states it."""
    started = datetime.fromisoformat(local_start).replace(tzinfo=ZoneInfo(OPERATOR_TIMEZONE))
    deck = "termination" if direction == "outbound" else "origination"
    return {
        "usage_id": f"{carrier_id}-{prefix}-{local_start}-{direction}",
        "billing_period": PERIOD,
        "event_date": started.date(),
        "started_at": started.astimezone(UTC),
        "leg_direction": direction,
        "trunk_group": f"tg_{carrier_id}_{direction}",
        "carrier_id": carrier_id,
        "served_msisdn": "13125550100",
        "other_party_number": f"{prefix}700900123",
        "rated_number": f"{prefix}700900123",
        "ported": False,
        "terminating_spid": "",
        "destination_prefix": prefix,
        "destination_name": _NAMES.get(prefix),
        "destination_group": "international",
        "duration_seconds": seconds,
        "billable_seconds": seconds,
        "price_micros": price_micros,
        "amount_micros": amount_micros,
        "currency": "USD",
        "rating_status": status,
        "suspense_reason": None if status == "rated" else "no_rate_for_destination",
        "tariff_version": f"{carrier_id}/{deck}/{prefix}/{effective_from}",
    }


def write_legs(layout: Layout, legs: list[dict[str, object]]) -> None:
    table = pa.Table.from_pylist(legs, schema=INTERCONNECT_LEG_SCHEMA)
    # Legs and rated usage are written as one rating bucket.
    lake.write_partition(
        layout, "interconnect_legs", {"billing_period": PERIOD, "bucket": 0}, table
    )


def write_invoice(layout: Layout, carrier_id: str, rows: list[str], period: str = PERIOD) -> Path:
    """The carrier's invoice file: the header and ``rows``, as the carrier wrote them."""
    path = layout.carrier_invoices / carrier_id / f"{carrier_id}_{period}.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join([HEADER, *rows]) + "\n", encoding="utf-8")
    return path


def read_rows(layout: Layout, table: str) -> list[dict[str, object]]:
    return read_period_table(layout, table, PERIOD).to_pylist()


# The October scenario of test_reconcile (and test_accuracy): one cell per case. Batches
# are the local 6-hour windows: 1 = 00-05h, 2 = 06-11h, 3 = 12-17h, 4 = 18-23h.
A = "detail,INV-A-1,CR-A,2026-10,2026-11-03,USD"
S = "summary,INV-A-1,CR-A,2026-10,2026-11-03,USD"

# CR-A's invoice, 4 decimals. Line numbers (header = 1) are cited in the evidence.
CR_A_INVOICE = [
    f"{A},2026-10-05,44,United Kingdom,CR-A-20261005-3,2,3.0,0.0205,0.0615",  # 2  match
    f"{A},2026-10-06,44,United Kingdom,CR-A-20261006-1,1,1.1,0.0205,0.0226",  # 3  match
    f"{A},2026-10-07,44,United Kingdom,CR-A-20261007-2,1,1.1,0.0205,0.0225",  # 4  rounding
    f"{A},2026-10-13,44,United Kingdom,CR-A-20261013-3,2,2.0,0.0205,0.0410",  # 5  duplicate
    f"{A},2026-10-13,44,United Kingdom,CR-A-20261013-3,2,2.0,0.0205,0.0410",  # 6  its copy
    f"{A},2026-09-30,44,United Kingdom,CR-A-20260930-4,1,1.0,0.0205,0.0205",  # 7  extra
    f"{A},2026-10-10,33,France,CR-A-20261010-4,1,1.0,0.0360,0.0360",  # 8  match, old rate
    f"{A},2026-10-20,33,France,CR-A-20261020-2,2,2.0,0.0360,0.0720",  # 9  rate
    f"{A},2026-10-08,49,Germany,CR-A-20261008-2,3,6.0,0.0100,0.0600",  # 10 extra
    f"{A},2026-10-16,49,Germany,CR-A-20261016-2,1,1.0,0.0100,0.0100",  # 11 timing
    f"{A},2026-10-17,49,Germany,CR-A-20261017-1,2,3.0,0.0100,0.0300",  # 12 timing
    f"{A},2026-10-12,1312,Chicago,CR-A-20261012-2,4,4.0,0.0040,0.0160",  # 13 unmatched
    f"{A},2026-10-14,1312,Chicago,CR-A-20261014-3,1,1.5,0.0040,0.0060",  # 14 duration
    f"{A},2026-10-15,1312,Chicago,CR-A-20261015-3,1,1.0,0.0040,0.0050",  # 15 amount
    # 44: 2+1+1+2+2+1 = 9 calls, 3.0+1.1+1.1+2.0+2.0+1.0 = 10.2 min,
    #     0.0615+0.0226+0.0225+0.0410+0.0410+0.0205 = 0.2091
    f"{S},,44,United Kingdom,,9,10.2,,0.2091",
    f"{S},,33,France,,3,3.0,,0.1080",  # 0.0360 + 0.0720
    f"{S},,49,Germany,,6,10.0,,0.1000",  # 0.0600 + 0.0100 + 0.0300
    f"{S},,1312,Chicago,,6,6.5,,0.0270",  # 0.0160 + 0.0060 + 0.0050
    # 0.2091 + 0.1080 + 0.1000 + 0.0270 = 0.4441
    "total,INV-A-1,CR-A,2026-10,2026-11-03,USD,,,,,24,29.7,,0.4441",
]

LEGS = [
    # 44 at 0.0205/min. 10-05, batch 3: 120 s = 0.041 and 60 s = 0.0205: 0.0615.
    leg("CR-A", "44", "2026-10-05 13:00", 120, 20_500, 41_000),
    leg("CR-A", "44", "2026-10-05 14:00", 60, 20_500, 20_500),
    # 66 s = 1.1 min: 0.0205 * 1.1 = 0.02255. In 4 decimals half up (the agreement's way):
    # 0.0226, which CR-A bills on 10-06; on 10-07 it bills 0.0225 (rounded down).
    leg("CR-A", "44", "2026-10-06 01:00", 66, 20_500, 22_550),
    leg("CR-A", "44", "2026-10-07 08:00", 66, 20_500, 22_550),
    leg("CR-A", "44", "2026-10-13 15:00", 60, 20_500, 20_500),
    leg("CR-A", "44", "2026-10-13 16:00", 60, 20_500, 20_500),
    # France: 0.036 until 10-14, 0.030 from 10-15.
    leg("CR-A", "33", "2026-10-10 20:00", 60, 36_000, 36_000, effective_from="2026-09-01"),
    leg("CR-A", "33", "2026-10-20 07:00", 60, 30_000, 30_000, effective_from="2026-10-15"),
    leg("CR-A", "33", "2026-10-20 09:00", 60, 30_000, 30_000, effective_from="2026-10-15"),
    # Germany: on 10-08 only an inbound leg (CR-A bills us nothing for it) and an outbound
    # leg in suspense: neither is outbound rated traffic.
    leg("CR-A", "49", "2026-10-08 09:00", 60, 2_000, 2_000, direction="inbound"),
    leg("CR-A", "49", "2026-10-08 10:00", 60, 0, 0, status="suspense"),
    # 10-16 22:30 (batch 4) is billed by CR-A on 10-17, batch 1, with 10-17's own call.
    leg("CR-A", "49", "2026-10-16 09:00", 60, 10_000, 10_000),
    leg("CR-A", "49", "2026-10-16 22:30", 60, 10_000, 10_000),
    leg("CR-A", "49", "2026-10-17 03:00", 120, 10_000, 20_000),
    # Chicago at 0.004/min.
    leg("CR-A", "1312", "2026-10-09 10:00", 120, 4_000, 8_000),
    leg("CR-A", "1312", "2026-10-12 07:00", 60, 4_000, 4_000),
    leg("CR-A", "1312", "2026-10-14 13:00", 60, 4_000, 4_000),
    leg("CR-A", "1312", "2026-10-15 14:00", 60, 4_000, 4_000),
    # CR-B carries one call and sends no invoice.
    leg("CR-B", "44", "2026-10-05 12:00", 60, 25_000, 25_000),
]


def usage_call(
    usage_id: str,
    local_start: str,
    number: str,
    *,
    answered: bool = True,
    direction: str = "outbound",
    feed: str = "freeswitch_cdr_csv",
    service: str = "voice",
) -> dict[str, object]:
    """A rated usage record of a call (the columns unattributed calls read; others null)."""
    started = datetime.fromisoformat(local_start).replace(tzinfo=ZoneInfo(OPERATOR_TIMEZONE))
    return {
        "usage_id": usage_id,
        "feed": feed,
        "event_date": started.date(),
        "started_at": started.astimezone(UTC),
        "service": service,
        "direction": direction,
        "served_msisdn": "13125550100",
        "other_party_number": number,
        "is_answered": answered,
        "billing_period": PERIOD,
    }


def write_rated_usage(layout: Layout, rows: list[dict[str, object]]) -> None:
    table = pa.Table.from_pylist(rows, schema=RATED_USAGE_SCHEMA)
    lake.write_partition(layout, "rated_usage", {"billing_period": PERIOD, "bucket": 0}, table)


def write_subscribers(layout: Layout, msisdns: list[str]) -> None:
    """subscribers.csv with our numbers (the columns read here; the rest empty)."""
    rows = [f"SUB{n:06d},ACC000001,mobile,{msisdn}" for n, msisdn in enumerate(msisdns, 1)]
    (layout.reference / "subscribers.csv").write_text(
        "\n".join(["subscriber_id,account_id,service_type,msisdn", *rows]) + "\n"
    )
