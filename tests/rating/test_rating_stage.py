"""The rate stage on a tiny hand-written operator: July 2024, America/Chicago (CDT, UTC-5).

Every expected number below is worked out by hand in the comment beside it.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from rating_bucket_files import period_part_files
from usage_lake import write_usage

from pipelines.config import layout as make_layout
from pipelines.mediation.consolidate import consolidate_period
from pipelines.rating.buckets import read_period_table
from pipelines.rating.stage import rate_period
from pipelines.schema import USAGE_SCHEMA

REFERENCE = {
    # No orders: each line bills from subscribers.csv alone.
    "crm_orders.csv": (
        "order_id,account_id,subscriber_id,order_type,plan_id,ordered_date,completed_date,"
        "order_status\n"
    ),
    "accounts.csv": """\
account_id,account_name,account_class,bill_cycle_day,currency,service_address_id,created_date
A1,Ada,consumer,1,USD,SA1,2023-01-01
A2,Bo,consumer,1,USD,SA2,2023-01-01
A3,Cy,consumer,1,USD,SA3,2023-01-01
A4,Di,consumer,1,USD,SA4,2023-01-01
A5,Ed,consumer,1,USD,SA5,2023-01-01
""",
    "subscribers.csv": """\
subscriber_id,account_id,service_type,msisdn,imsi,plan_id,service_address_id,activated_date,cancelled_date,status
S1,A1,mobile,13125550001,310150000000001,P1,SA1,2024-01-01,,active
S2,A2,mobile,13125550002,310150000000002,P1,SA2,2024-07-11,,active
S3,A2,broadband,,,P2,SA2,2023-05-01,2024-07-16,cancelled
S4,A3,mobile,13125550004,310150000000004,P1,SA3,2023-01-01,2024-06-01,cancelled
S5,A3,mobile,13125550005,310150000000005,P3,SA3,2023-01-01,,active
S6,A4,mobile,13125550006,310150000000006,P4,SA4,2023-01-01,2024-07-10,cancelled
S7,A5,mobile,13125550006,310150000000007,P4,SA5,2024-07-10,,active
""",
    "plans.csv": """\
plan_id,plan_name,service_type,monthly_fee_micros,included_voice_seconds,included_sms,included_data_bytes,rate_deck_id,effective_from,effective_to
P1,Mobile 10,mobile,10000000,120,1,1048576,D1,2024-01-01,2024-07-19
P1,Mobile 12,mobile,12000000,120,1,1048576,D1,2024-07-20,
P2,Fibre,broadband,50000000,0,0,0,D1,2024-01-01,
P3,Legacy,mobile,5000000,0,0,0,D1,2023-01-01,2024-06-30
P4,Basic,mobile,3100000,0,0,0,D1,2024-01-01,
""",
    "rate_deck.csv": """\
rate_deck_id,service,prefix,destination_name,destination_group,time_band,connect_fee_micros,price_micros,price_unit,first_increment,increment,is_in_bundle,effective_from
D1,voice,1,United States,domestic,peak,0,60000,60,60,60,true,2024-01-01
D1,voice,1,United States,domestic,peak,0,90000,60,60,60,true,2024-07-15
D1,voice,1,United States,domestic,offpeak,0,30000,60,60,1,true,2024-01-01
D1,voice,44,United Kingdom,international,peak,100000,1200000,60,30,6,false,2024-01-01
D1,voice,44,United Kingdom,international,offpeak,100000,1200000,60,30,6,false,2024-01-01
D1,voice,911,Emergency,emergency,peak,0,0,60,1,1,true,2024-01-01
D1,voice,911,Emergency,emergency,offpeak,0,0,60,1,1,true,2024-01-01
D1,sms,,Any number,domestic,peak,0,100000,1,1,1,true,2024-01-01
D1,sms,,Any number,domestic,offpeak,0,100000,1,1,1,true,2024-01-01
D1,data,,Data,data,peak,0,10000000,1048576,1024,1024,true,2024-01-01
D1,data,,Data,data,offpeak,0,10000000,1048576,1024,1024,true,2024-01-01
""",
    "time_bands.csv": """\
time_band,day_type,start_time,end_time,weight
peak,weekday,08:00,20:00,10
offpeak,weekday,00:00,24:00,0
offpeak,weekend,00:00,24:00,0
offpeak,holiday,00:00,24:00,0
""",
    "holidays.csv": """\
holiday_date,holiday_name,country
2024-07-04,Independence Day,US
2024-07-02,Not our holiday,CA
""",
    "trunk_groups.csv": """\
trunk_group,carrier_id,direction
TG1,C1,outgoing
""",
    "carriers.csv": """\
carrier_id,carrier_name,country,spid,currency,settlement_period,rounding_method,rounding_decimals,dispute_tolerance_micros,dispute_tolerance_bp
C1,Carrier One,US,,USD,monthly,half_up,6,0,0
""",
    "interconnect_rates.csv": """\
carrier_id,direction,prefix,destination_name,destination_group,price_micros,first_increment,increment,effective_from,effective_to
C1,termination,1,United States,domestic,6000,60,6,2024-01-01,
C1,termination,44,United Kingdom,international,20000,1,1,2024-01-01,
""",
}

B = "13125559999"  # a domestic called number


def usage_row(usage_id, record_type, msisdn, other, started, seconds=60, **extra) -> dict:
    service = record_type.split("_")[0]
    direction = {"mo": "outbound", "mt": "inbound"}.get(record_type.split("_")[-1], "none")
    started_at = datetime.fromisoformat(started).replace(tzinfo=UTC)
    row = {name: None for name in USAGE_SCHEMA.names}
    row.update(
        usage_id=usage_id,
        file_id="f" * 64,
        file_name="Master.csv",
        record_number=int(usage_id[1:]),
        feed="asterisk_cdr_csv",
        switch_id="SW1",
        record_key=usage_id,
        record_type=record_type,
        service=service,
        direction=direction,
        served_msisdn=msisdn,
        other_party_number=other,
        started_at=started_at,
        answered_at=started_at,
        ended_at=started_at,
        duration_seconds=seconds if service != "sms" else 0,
        uplink_bytes=0,
        downlink_bytes=0,
        data_volume_bytes=0,
        is_answered=True,
    )
    row.update(extra)
    return row


USAGE = [
    # Tue 07-02 15:00 local, peak, 61 s at 60/60 -> 120 s, all of S1's 120 s allowance.
    usage_row(
        "u01", "voice_mo", "13125550001", B, "2024-07-02T20:00", 61, outgoing_trunk_group="TG1"
    ),
    # Thu 07-04 10:00 is a holiday: offpeak 60/1, 30 s -> 60 s x 30_000/60 = 30_000.
    usage_row("u02", "voice_mo", "13125550001", B, "2024-07-04T15:00", 30),
    # Sat 07-06: 44, 30/6, 31 s -> 36 s: 100_000 + 36 x 1_200_000/60 = 820_000.
    usage_row(
        "u03",
        "voice_mo",
        "13125550001",
        "447700900123",
        "2024-07-06T17:00",
        31,
        outgoing_trunk_group="TG1",
    ),
    usage_row("u04", "voice_mo", "13125550001", "911", "2024-07-08T15:00", 120),
    usage_row("u05", "voice_mt", "13125550001", "13125557777", "2024-07-08T16:00", 300),
    usage_row(
        "u06",
        "voice_mo",
        "13125550001",
        B,
        "2024-07-08T17:00",
        0,
        is_answered=False,
        answered_at=None,
        outgoing_trunk_group="TG1",
    ),
    # S2, Tue 07-16 09:00 peak, version of 07-15 (90_000): 150 s -> 180 s, 120 allowance,
    # 60 s x 90_000/60 = 90_000.
    usage_row("u07", "voice_mo", "13125550002", B, "2024-07-16T14:00", 150),
    usage_row(
        "u08", "voice_mo", "13125550099", B, "2024-07-09T15:00", 60, outgoing_trunk_group="TG1"
    ),
    usage_row("u09", "voice_mo", "13125550005", B, "2024-07-09T15:00", 60),
    usage_row(
        "u10",
        "voice_mo",
        "13125550001",
        "8613800000000",
        "2024-07-09T15:00",
        60,
        outgoing_trunk_group="TG1",
    ),
    # Mon 07-08 22:00 local (07-09 03:00 UTC): offpeak, allowance gone: 60 s -> 30_000.
    usage_row(
        "u11", "voice_mo", "13125550001", B, "2024-07-09T03:00", 10, outgoing_trunk_group="TG9"
    ),
    # Two SMS at the same instant: usage_id decides which takes the one-SMS allowance.
    usage_row("u13", "sms_mo", "13125550001", B, "2024-07-10T15:00"),
    usage_row("u12", "sms_mo", "13125550001", B, "2024-07-10T15:00"),
    # 1_500_000 B -> 1465 x 1024 = 1_500_160; minus 1_048_576 = 451_584 B
    # x 10_000_000 / 1_048_576 = 4_306_640.625 -> 4_306_641.
    usage_row(
        "u14",
        "data",
        "13125550001",
        None,
        "2024-07-11T15:00",
        600,
        data_volume_bytes=1_500_000,
        direction="none",
    ),
    # Wed 07-31 23:30 local, in a file of 08-01: offpeak 60 s -> 30_000.
    usage_row("u15", "voice_mo", "13125550001", B, "2024-08-01T04:30", 60),
    # Sun 06-30 22:00 local: June, not this period.
    usage_row("u16", "voice_mo", "13125550001", B, "2024-07-01T03:00", 60),
    # One number, two holders: S6 until 07-10, S7 from 07-10 (P4, no allowance, peak 60_000).
    usage_row("u17", "voice_mo", "13125550006", B, "2024-07-09T15:00", 60),
    usage_row("u18", "voice_mo", "13125550006", B, "2024-07-12T15:00", 60),
    usage_row("u19", "sms_mt", "13125550001", "13125557777", "2024-07-12T16:00"),
]
FILE_DATE = {"u15": date(2024, 8, 1), "u16": date(2024, 7, 1)}


@pytest.fixture
def layout(tmp_path: Path):
    data = make_layout(tmp_path)
    data.reference.mkdir(parents=True)
    for name, text in REFERENCE.items():
        (data.reference / name).write_text(text)
    write_usage(
        data,
        [
            {
                **row,
                "file_date": FILE_DATE.get(row["usage_id"], row["started_at"].date()),
                "event_date": row["started_at"].astimezone(ZoneInfo("America/Chicago")).date(),
            }
            for row in USAGE
        ],
    )
    consolidate_period(data, "asterisk_cdr_csv", "2024-07")
    return data


def read(layout, table: str) -> list[dict]:
    return read_period_table(layout, table, "2024-07").to_pylist()


def test_statuses_reasons_and_charges(layout):
    result = rate_period(layout, "2024-07")
    rows = {r["usage_id"]: r for r in read(layout, "rated_usage")}
    assert sorted(rows) == [f"u{n:02d}" for n in range(1, 20) if n != 16]
    got = {
        k: (r["rating_status"], r["suspense_reason"], r["charge_micros"]) for k, r in rows.items()
    }
    assert got == {
        "u01": ("rated", None, 0),
        "u02": ("rated", None, 30_000),
        "u03": ("rated", None, 820_000),
        "u04": ("zero_rated", None, 0),
        "u05": ("not_billable", None, 0),
        "u06": ("not_billable", None, 0),
        "u07": ("rated", None, 90_000),
        "u08": ("suspense", "unknown_subscriber", 0),
        "u09": ("suspense", "no_plan_at_event_time", 0),
        "u10": ("suspense", "no_rate_for_destination", 0),
        "u11": ("rated", None, 30_000),
        "u12": ("rated", None, 0),
        "u13": ("rated", None, 100_000),
        "u14": ("rated", None, 4_306_641),
        "u15": ("rated", None, 30_000),
        "u17": ("rated", None, 60_000),
        "u18": ("rated", None, 60_000),
        "u19": ("not_billable", None, 0),
    }
    units = {
        k: (r["billable_units"], r["allowance_units"], r["chargeable_units"])
        for k, r in rows.items()
    }
    assert units["u01"] == (120, 120, 0)
    assert units["u03"] == (36, 0, 36)
    assert units["u04"] == (120, 0, 0)
    assert units["u07"] == (180, 120, 60)
    assert units["u14"] == (1_500_160, 1_048_576, 451_584)
    assert [rows[k]["time_band"] for k in ("u01", "u02", "u03", "u11", "u15")] == [
        "peak",
        "offpeak",
        "offpeak",
        "offpeak",
        "offpeak",
    ]
    # catalog version | rating plan | destination-rates table | rate: the 07-15 price.
    catalog_version = rows["u01"]["catalog_version"]
    assert catalog_version.startswith("price-list+")
    assert rows["u01"]["tariff_version"].split("|") == [
        catalog_version,
        "D1/voice",
        "D1/voice/peak",
        "60000/60:60/60+0",
    ]
    assert rows["u07"]["tariff_version"].split("|")[1:] == [
        "D1/voice",
        "D1/voice/peak",
        "90000/60:60/60+0",
    ]
    assert (rows["u07"]["rating_plan_id"], rows["u07"]["rate_id"]) == (
        "D1/voice",
        "90000/60:60/60+0",
    )
    assert rows["u03"]["destination_name"] == "United Kingdom"
    assert rows["u03"]["destination_prefix"] == "44"
    assert rows["u04"]["destination_group"] == "emergency"
    assert rows["u10"]["tariff_version"] is None
    # attributable even when not billable or unpriced
    assert rows["u05"]["subscriber_id"] == "S1"
    assert (rows["u09"]["subscriber_id"], rows["u09"]["plan_id"]) == ("S5", "P3")
    assert rows["u09"]["rate_deck_id"] is None
    assert (rows["u17"]["subscriber_id"], rows["u18"]["subscriber_id"]) == ("S6", "S7")
    assert {r["billing_period"] for r in rows.values()} == {"2024-07"}

    assert result.usage_records == 18
    assert result.status_counts == {
        "rated": 11,
        "zero_rated": 1,
        "not_billable": 3,
        "suspense": 3,
    }
    assert result.suspense_by_reason == {
        "unknown_subscriber": 1,
        "no_plan_at_event_time": 1,
        "no_rate_for_destination": 1,
        "no_roaming_zone": 0,
    }
    assert result.usage_charge_micros == 5_526_641


def test_interconnect_legs(layout):
    result = rate_period(layout, "2024-07")
    legs = {
        r["usage_id"]: (
            r["carrier_id"],
            r["billable_seconds"],
            r["amount_micros"],
            r["rating_status"],
            r["suspense_reason"],
        )
        for r in read(layout, "interconnect_legs")
    }
    assert legs == {
        "u01": ("C1", 66, 6_600, "rated", None),  # 61 s at 60/6 -> 66 x 6_000/60
        "u03": ("C1", 31, 10_333, "rated", None),  # 31 x 20_000/60 = 10_333.3
        "u08": ("C1", 60, 6_000, "rated", None),  # the carrier bills an unknown caller too
        "u10": ("C1", 0, 0, "suspense", "no_rate_for_destination"),
        "u11": (None, 0, 0, "suspense", "no_carrier_for_trunk"),
    }
    assert result.interconnect_legs == 5
    assert result.interconnect_payable_micros == 22_933
    assert result.interconnect_receivable_micros == 0
    assert result.interconnect_suspense_by_reason == {
        "no_carrier_for_trunk": 1,
        "no_rate_for_destination": 1,
    }


def test_recurring_fees_billed_in_advance_and_trued_up_by_day(layout):
    result = rate_period(layout, "2024-07")
    got = [
        (
            r["subscriber_id"],
            r["recurring_kind"],
            r["service_from"].isoformat(),
            r["active_days"],
            r["monthly_fee_micros"],
            r["charge_micros"],
        )
        for r in read(layout, "recurring_charges")
    ]
    # Cycle day 1: July was billed in advance on the June bill, as the lines stood on
    # 06-30; August is billed now. P1 costs 10.00 to 07-19 and 12.00 from 07-20.
    assert got == [
        # Unchanged in July: only August in advance.
        ("S1", "advance", "2024-08-01", 31, 12_000_000, 12_000_000),
        # Activated 07-11: 10.00 x 9/31 = 2.9032 -> 2.90; 12.00 x 12/31 = 4.6452 -> 4.65.
        ("S2", "adjusted", "2024-07-11", 9, 10_000_000, 2_900_000),
        ("S2", "adjusted", "2024-07-20", 12, 12_000_000, 4_650_000),
        ("S2", "advance", "2024-08-01", 31, 12_000_000, 12_000_000),
        # Cancelled 07-16: July's 50.00 reversed, 15 days charged: 50 x 15/31 = 24.1935.
        ("S3", "reversed", "2024-07-01", 31, 50_000_000, -50_000_000),
        ("S3", "adjusted", "2024-07-01", 15, 50_000_000, 24_190_000),
        # Cancelled 07-10 (S4 ended in May; S5's plan has no version: no fee).
        ("S6", "reversed", "2024-07-01", 31, 3_100_000, -3_100_000),
        ("S6", "adjusted", "2024-07-01", 9, 3_100_000, 900_000),
        ("S7", "adjusted", "2024-07-10", 22, 3_100_000, 2_200_000),
        ("S7", "advance", "2024-08-01", 31, 3_100_000, 3_100_000),
    ]
    assert result.recurring_charges == 10
    assert result.recurring_charge_micros == 8_840_000


def test_rerun_writes_identical_bytes(layout):
    rate_period(layout, "2024-07")
    tables = ("rated_usage", "recurring_charges", "interconnect_legs")
    paths = [path for t in tables for path in period_part_files(layout, t, "2024-07")]
    first = [p.read_bytes() for p in paths]
    rate_period(layout, "2024-07")
    assert [p.read_bytes() for p in paths] == first
    assert read_period_table(layout, "rated_usage", "2024-07").num_rows == 18


def test_bad_time_bands_fail_before_rating(layout):
    (layout.reference / "time_bands.csv").write_text(
        "time_band,day_type,start_time,end_time,weight\npeak,weekday,08:00,20:00,10\n"
    )
    with pytest.raises(ValueError, match="no weekday band covers"):
        rate_period(layout, "2024-07")
