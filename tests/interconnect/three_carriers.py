"""Three carriers on hand-written agreements, July 2024, Chicago (CDT, UTC-5): a number
ported mid-month, a deck repriced mid-month, and the calls of the month with their
interconnect legs priced by hand (tests/interconnect/test_legs.py,
test_settlement_scenario.py).
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from pipelines.schema import USAGE_SCHEMA

CARRIERS = """\
carrier_id,carrier_name,country,spid,currency,settlement_period,rounding_method,rounding_decimals,dispute_tolerance_micros,dispute_tolerance_bp
C-LEC,Lakeshore Bell,US,7101,USD,monthly,half_up,4,500000,100
C-MOB,Prairie Wireless,US,7202,USD,monthly,up,4,500000,100
C-INTL,Atlantic Global Voice,GB,,USD,monthly,half_up,4,50000,50
"""
TRUNKS = """\
trunk_group,carrier_id,direction
TG-LEC,C-LEC,outgoing
TG-LEC-IN,C-LEC,incoming
TG-MOB,C-MOB,both
TG-INTL,C-INTL,both
"""
DECKS = """\
carrier_id,direction,prefix,destination_name,destination_group,price_micros,first_increment,increment,effective_from,effective_to
C-LEC,termination,1,United States and Canada,domestic,4000,6,6,2024-01-01,
C-LEC,origination,1,From United States and Canada,domestic,2500,6,6,2024-01-01,
C-MOB,termination,1,United States and Canada (transit),domestic_transit,9000,6,6,2024-01-01,
C-MOB,termination,1312998,Prairie Wireless numbers,domestic_mobile,5100,6,6,2024-01-01,
C-INTL,termination,44,United Kingdom,international,12000,1,1,2024-01-01,2024-07-15
C-INTL,termination,44,United Kingdom,international,10000,1,1,2024-07-16,
C-INTL,termination,447,United Kingdom mobile,international,45000,30,6,2024-01-01,
"""
# 13125550142 moves from Lakeshore Bell to Prairie Wireless on 2024-07-10; 13125550177 was
# ported once and came back in 2023 (an expired record rating must ignore).
PORTED = """\
number,lrn,spid,effective_from,effective_to
13125550142,13129980000,7202,2024-07-10,
13125550177,13129980000,7202,2023-01-01,2023-06-30
"""
BLOCKS = """\
prefix,spid
1312555,7101
1312998,7202
"""
PORTED_NUMBER = "13125550142"
ZONE = ZoneInfo("America/Chicago")


def write_reference(root: Path, **overrides: str) -> None:
    files = {
        "carriers.csv": CARRIERS,
        "trunk_groups.csv": TRUNKS,
        "interconnect_rates.csv": DECKS,
        "ported_numbers.csv": PORTED,
        "number_blocks.csv": BLOCKS,
        **overrides,
    }
    reference = root / "reference"
    reference.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (reference / name).write_text(text, encoding="utf-8")


def call(
    usage_id: str,
    other: str,
    started_utc: str,
    seconds: int,
    *,
    out: str | None = None,
    into: str | None = None,
    answered: bool = True,
) -> dict[str, object]:
    started_at = datetime.fromisoformat(started_utc).replace(tzinfo=UTC)
    row: dict[str, object] = {name: None for name in USAGE_SCHEMA.names}
    row.update(
        usage_id=usage_id,
        feed="asterisk_cdr_csv",
        service="voice",
        direction="inbound" if into else "outbound",
        served_msisdn="13125550001",
        other_party_number=other,
        started_at=started_at,
        event_date=started_at.astimezone(ZONE).date(),
        duration_seconds=seconds,
        is_answered=answered,
        outgoing_trunk_group=out,
        incoming_trunk_group=into,
    )
    return row


CALLS = [
    # Before the port: Lakeshore Bell, 61 s at 6/6 -> 66 s x 4_000/60 = 4_400.
    call("u01", PORTED_NUMBER, "2024-07-05T15:00", 61, out="TG-LEC"),
    # After the port: routed to Prairie Wireless and priced on the LRN's block, 66 s x
    # 5_100/60 = 5_610, rounded up to 4 decimals (100 micros): 5_700 (on the dialled
    # prefix it would be transit, 9_900).
    call("u02", PORTED_NUMBER, "2024-07-20T15:00", 61, out="TG-MOB"),
    # A Lakeshore Bell number sent via Prairie Wireless (a failover): transit, 30 s x
    # 9_000/60 = 4_500; the network it ends on is the block holder, 7101.
    call("u03", "13125559999", "2024-07-20T16:00", 30, out="TG-MOB"),
    # The expired port is ignored: the dialled prefix's holder, transit 12 s -> 1_800.
    call("u04", "13125550177", "2024-07-21T16:00", 12, out="TG-MOB"),
    # 23:30 local on the 15th (04:30Z on the 16th): the old UK price, 100 s x 12_000/60 =
    # 20_000.
    call("u05", "442071234567", "2024-07-16T04:30", 100, out="TG-INTL"),
    # 00:30 local on the 16th: the new price, 100 s x 10_000/60 = 16_666.67 -> 16_700
    # (half up to 4 decimals of a dollar, 100 micros).
    call("u06", "442071234567", "2024-07-16T05:30", 100, out="TG-INTL"),
    # UK mobile at 30/6: 45 s -> 30 + 18 = 48 s x 45_000/60 = 36_000.
    call("u07", "447700900123", "2024-07-20T15:00", 45, out="TG-INTL"),
    # Inbound from Lakeshore Bell: origination 90 s x 2_500/60 = 3_750 -> 3_800.
    call("u08", "12175550000", "2024-07-20T17:00", 90, into="TG-LEC-IN"),
    # Unanswered: no leg.
    call("u09", "442071234567", "2024-07-20T18:00", 0, out="TG-INTL", answered=False),
    # France is in no deck of the carrier: suspense, never a zero cost.
    call("u10", "33142685300", "2024-07-20T19:00", 60, out="TG-INTL"),
    # A trunk group no agreement names.
    call("u11", "13125559999", "2024-07-20T20:00", 60, out="TG-UNKNOWN"),
    # Started at 23:55 on the 15th and talking past midnight: the whole call at the old
    # price, 600 s x 12_000/60 = 120_000.
    call("u13", "442071234567", "2024-07-16T04:55", 600, out="TG-INTL"),
    # Prairie Wireless rounds each call up to 4 decimals: 7 s -> 12 s x 5_100/60 = 1_020
    # -> 1_100.
    call("u12", "13129981234", "2024-07-22T15:00", 7, out="TG-MOB"),
]
