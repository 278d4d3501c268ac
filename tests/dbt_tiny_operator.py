# ruff: noqa: E501  (the data tables below are wider than code lines)
"""A tiny operator: 3 accounts, 6 subscribers, one billing period (2025-03).

Hand-made so that every mart value can be worked out on paper; the expected numbers in
dbt_project/test_dbt_build.py and taxes/test_tax_stage.py are written from these tables,
not recomputed with SQL. The lake is written as mediation lays it out, then consolidated by
the real consolidation stage (repeats and sessions); rating is hand-made (rated_usage from
the tables below); the real tax stage taxes it.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo

import pyarrow as pa
from usage_lake import write_usage

from pipelines.config import OPERATOR_TIMEZONE, Layout
from pipelines.lake import read_table, write_partition
from pipelines.mediation.consolidate import consolidate_period
from pipelines.rating.rerate import record_buckets, record_rating
from pipelines.rating.suspense import reference_checksums
from pipelines.reference import TAX_RULES_DIR
from pipelines.schema import LAKE_TABLES, USAGE_SCHEMA
from pipelines.taxes.stage import tax_period

PERIOD = "2025-03"
FILE_DATE = date(2025, 3, 10)
NEXT_FILE_DATE = date(2025, 3, 11)
BER_FILE = "MSC1_2025031010_000001.ber"
BER_REPEAT_FILE = "MSC1_2025031109_000002.ber"
PGW_FILE = "PGW1_2025031012_000001.ber"
PGW_NEXT_FILE = "PGW1_2025031112_000002.ber"
AST_FILE = "Master_AST1_2025031012_000001.csv"
AST_DUP_FILE = "Master_AST1_2025031012_000002.csv"
BER_FILE_ID = "b" * 64
AST_FILE_ID = "a" * 64
MB = 1_048_576


class FixtureFile(NamedTuple):
    name: str
    file_id: str
    feed: str
    switch_id: str
    file_date: date
    sequence: int


FILES: dict[str, FixtureFile] = {
    "ber": FixtureFile(BER_FILE, BER_FILE_ID, "ts32298_ber", "MSC1", FILE_DATE, 1),
    # MSC1 replays u01 a day later (a repeat within the dedup window) with one new record.
    "ber2": FixtureFile(BER_REPEAT_FILE, "1" * 64, "ts32298_ber", "MSC1", NEXT_FILE_DATE, 2),
    "pgw": FixtureFile(PGW_FILE, "2" * 64, "ts32298_ber", "PGW1", FILE_DATE, 1),
    "pgw2": FixtureFile(PGW_NEXT_FILE, "3" * 64, "ts32298_ber", "PGW1", NEXT_FILE_DATE, 2),
    "ast": FixtureFile(AST_FILE, AST_FILE_ID, "asterisk_cdr_csv", "AST1", FILE_DATE, 1),
}

REFERENCE_CSV: dict[str, str] = {
    # No orders: each line bills from subscribers.csv alone.
    "crm_orders.csv": (
        "order_id,account_id,subscriber_id,order_type,plan_id,ordered_date,completed_date,"
        "order_status\n"
    ),
    "accounts.csv": """\
account_id,account_name,account_class,bill_cycle_day,currency,service_address_id,created_date
A001,Ada Consumer,consumer,1,USD,AD1,2024-01-01
A002,Bell Business,business,1,USD,AD2,2024-01-01
A003,Cy Lifeline,lifeline,1,USD,AD3,2024-01-01
""",
    "service_addresses.csv": """\
service_address_id,street,city,county,state,postal_code,country
AD1,1 Main St,Chicago,Cook,IL,60601,US
AD2,2 Capitol Ave,Springfield,Sangamon,IL,62701,US
AD3,3 Congress Ave,Austin,Travis,TX,78701,US
""",
    "subscribers.csv": """\
subscriber_id,account_id,service_type,msisdn,imsi,plan_id,service_address_id,activated_date,cancelled_date,status
S001,A001,mobile,13125550101,310260000000001,P-MOB-S,AD1,2024-01-01,,active
S002,A001,broadband,,,P-BB,AD1,2024-01-01,,active
S003,A002,mobile,12175550103,310260000000003,P-MOB-L,AD2,2024-01-01,,active
S004,A002,fixed_voip,12175550104,,P-VOIP,AD2,2025-03-22,,active
S005,A003,mobile,15125550105,310260000000005,P-MOB-S,AD3,2024-01-01,,active
S006,A003,mobile,15125550106,310260000000006,P-MOB-S,AD3,2024-01-01,2025-02-15,cancelled
""",
    "plans.csv": """\
plan_id,plan_name,service_type,monthly_fee_micros,included_voice_seconds,included_sms,included_data_bytes,rate_deck_id,effective_from,effective_to
P-MOB-S,Mobile S,mobile,20000000,0,0,0,RD1,2024-01-01,
P-MOB-L,Mobile L,mobile,45000000,0,0,0,RD1,2024-01-01,
P-BB,Broadband 500,broadband,50000000,0,0,0,RD1,2024-01-01,
P-VOIP,Home Phone,fixed_voip,25000000,0,0,0,RD1,2024-01-01,
""",
    "rate_deck.csv": """\
rate_deck_id,service,prefix,destination_name,destination_group,time_band,connect_fee_micros,price_micros,price_unit,first_increment,increment,is_in_bundle,effective_from
RD1,voice,44,United Kingdom,international,peak,0,600000,60,1,1,false,2024-01-01
RD1,voice,44,United Kingdom,international,offpeak,0,300000,60,1,1,false,2024-01-01
RD1,voice,1,USA,domestic,peak,0,30000,60,1,1,false,2024-01-01
RD1,voice,882,International Networks,premium,peak,0,3000000,60,1,1,false,2024-01-01
RD1,sms,44,United Kingdom,international,peak,0,200000,1,1,1,false,2024-01-01
RD1,data,,Data,data,peak,0,10000,1048576,1,1,false,2024-01-01
""",
    "carriers.csv": """\
carrier_id,carrier_name,country,spid,currency,settlement_period,rounding_method,rounding_decimals,dispute_tolerance_micros,dispute_tolerance_bp
C1,Transit One,US,7101,USD,monthly,half_up,6,500000,100
C2,Premium Routes,GB,,USD,monthly,up,2,250000,0
""",
    "hlr_snapshot.csv": """\
imsi,msisdn,provisioning_status,snapshot_date
310260000000001,13125550101,active,2025-03-31
310260000000003,12175550103,active,2025-03-31
310260000000005,15125550105,barred,2025-03-31
310260000000006,15125550106,active,2025-03-31
310260000000099,13125550199,active,2025-03-31
""",
}

# The tax rule set (docs/taxes.md format): FUSF on the interstate share (wireless 37.1%,
# VoIP 64.9%) with 2025Q1's factor 36.3%, Lifeline exempt; an Illinois excise on voice
# usage; Chicago's 911 fee per mobile line; a Cook County tax whose base includes FUSF (tax
# on tax); a carrier-paid Illinois gross receipts tax; Texas's 911 fee. Internet access has
# no rule (ITFA). Springfield (Sangamon) falls back to the Illinois state-wide area.
_VOICE = "wireless_usage|voip_usage|local_voice|interstate_voice|international_voice"
_TELECOM = "wireless_access|voip_access|" + _VOICE
TAX_RULES_FILES: dict[str, str] = {
    "ruleset.yaml": """\
format: telcolake-tax-rules/1
name: tiny operator
label: tiny-1
currency: USD
tax_on_tax: ordered
max_iterations: 20
""",
    "jurisdictions.csv": """\
jurisdiction_id,level,code,name,parent_id
US,federal,US,United States,
IL,state,IL,Illinois,US
COOK,county,Cook,Cook County,IL
CHI,city,Chicago,City of Chicago,COOK
TX,state,TX,Texas,US
""",
    "tax_areas.csv": """\
tax_area_id,state,county,city,postal_code,jurisdiction_ids
IL-CHICAGO,IL,Cook,Chicago,,US|IL|COOK|CHI
IL-REST,IL,,,,US|IL
TX-ALL,TX,,,,US|TX
""",
    "taxes.csv": f"""\
tax_id,effective_from,effective_to,jurisdiction_id,tax_type,tax_name,kind,categories,method,rate_ppm,amount_micros,base_share,tax_on,calc_order,exempt_classes,billable,rounding,decimals,max_base_micros,max_tax_micros,tier_basis,usf
US-FUSF,2024-01-01,,US,usf,Federal Universal Service Fund,surcharge,{_TELECOM},percent,0,0,interstate,,10,lifeline,true,half_up,6,0,0,amount,true
IL-EXCISE,2024-01-01,,IL,excise,Illinois telecom excise,tax,{_VOICE},percent,62500,0,full,,20,,true,half_up,6,0,0,amount,false
CHI-911,2024-01-01,,CHI,911,Chicago 911 surcharge,fee,wireless_access,per_line,0,3900000,full,,30,,true,half_up,6,0,0,amount,false
COOK-TEL,2024-01-01,,COOK,telecom,Cook County telecom tax,tax,wireless_access,percent,20000,0,full,US-FUSF,40,,true,half_up,6,0,0,amount,false
IL-GRT,2024-01-01,,IL,gross_receipts,Illinois gross receipts,tax,{_TELECOM},percent,30000,0,full,,50,,false,half_up,6,0,0,amount,false
TX-911,2024-01-01,,TX,911,Texas 911 fee,fee,wireless_access,per_line,0,500000,full,,30,,true,half_up,6,0,0,amount,false
""",
    "usf_factors.csv": """\
quarter,contribution_factor
2025Q1,0.363
2025Q2,0.366
""",
    "interstate_shares.csv": """\
category,interstate_share,source
wireless_access,0.371,FCC 06-94
wireless_usage,0.371,FCC 06-94
voip_access,0.649,FCC 06-94
voip_usage,0.649,FCC 06-94
interstate_voice,1,call class
international_voice,1,call class
""",
}

# One row per standalone usage record, on its file's date (UTC). "ber" rows are mobile
# (file BER_FILE, 26 records: 24 here, record 7 rejected, record 8 a duplicate); "ber2" is
# BER_REPEAT_FILE (record 1 repeats u01, see REPEATS); "ast" rows are the fixed VoIP line
# (file AST_FILE, 5 records; AST_DUP_FILE repeats its bytes). p01-p10 are an IRSF burst: 10
# answered premium calls from S005 between 02:15 and 03:45 UTC (March 9th in Chicago).
USAGE_TABLE = """\
id   | file | rec | subscriber | type     | other party  | hh:mm | secs | bytes   | status       | suspense reason         | group         | destination            | charge
u01  | ber  |   1 | S001       | voice_mo | 447700900123 | 08:00 |  120 |       0 | rated        | -                       | international | United Kingdom         | 1200000
u02  | ber  |   2 | S001       | voice_mo | 13125550999  | 08:10 |  300 |       0 | rated        | -                       | domestic      | USA                    | 0
u03  | ber  |   3 | S001       | sms_mo   | 447700900123 | 08:20 |    0 |       0 | rated        | -                       | international | United Kingdom         | 200000
u04  | ber  |   4 | S001       | data     | -            | 08:30 |  600 | 5242880 | rated        | -                       | data          | Data                   | 0
u05  | ber  |   5 | S003       | voice_mo | 447700900124 | 09:00 |   60 |       0 | rated        | -                       | international | United Kingdom         | 600000
u06  | ber  |   6 | S003       | voice_mt | 13125550888  | 09:10 |  200 |       0 | not_billable | -                       | domestic      | USA                    | 0
u07  | ber  |   9 | S003       | voice_mo | 911          | 09:20 |   40 |       0 | zero_rated   | -                       | emergency     | Emergency              | 0
u09  | ber  |  10 | S005       | data     | -            | 10:00 |  900 | 1048576 | rated        | -                       | data          | Data                   | 35000
u10  | ber  |  11 | -          | voice_mo | 447700900555 | 10:10 |  600 |       0 | suspense     | unknown_subscriber      | -             | -                      | 0
u11  | ber  |  12 | -          | sms_mo   | 447700900555 | 10:20 |    0 |       0 | suspense     | unknown_subscriber      | -             | -                      | 0
u12  | ber  |  13 | S003       | voice_mo | 99912345     | 10:30 |   30 |       0 | suspense     | no_rate_for_destination | -             | -                      | 0
u13  | ber  |  14 | S001       | voice_mo | 447700900125 | 11:00 |   61 |       0 | rated        | -                       | international | United Kingdom         | 610000
u14  | ber  |  15 | S005       | sms_mo   | 447700900126 | 11:10 |    0 |       0 | rated        | -                       | international | United Kingdom         | 200000
u15  | ber  |  16 | S003       | data     | -            | 11:20 | 1200 | 2097152 | rated        | -                       | data          | Data                   | 20000
p01  | ber  |  17 | S005       | voice_mo | 8821234567   | 02:15 |   90 |       0 | rated        | -                       | premium       | International Networks | 1000000
p02  | ber  |  18 | S005       | voice_mo | 8821234567   | 02:25 |   90 |       0 | rated        | -                       | premium       | International Networks | 1000000
p03  | ber  |  19 | S005       | voice_mo | 8821234567   | 02:35 |   90 |       0 | rated        | -                       | premium       | International Networks | 1000000
p04  | ber  |  20 | S005       | voice_mo | 8821234567   | 02:45 |   90 |       0 | rated        | -                       | premium       | International Networks | 1000000
p05  | ber  |  21 | S005       | voice_mo | 8821234567   | 02:55 |   90 |       0 | rated        | -                       | premium       | International Networks | 1000000
p06  | ber  |  22 | S005       | voice_mo | 8821234567   | 03:05 |   90 |       0 | rated        | -                       | premium       | International Networks | 1000000
p07  | ber  |  23 | S005       | voice_mo | 8821234567   | 03:15 |   90 |       0 | rated        | -                       | premium       | International Networks | 1000000
p08  | ber  |  24 | S005       | voice_mo | 8821234567   | 03:25 |   90 |       0 | rated        | -                       | premium       | International Networks | 1000000
p09  | ber  |  25 | S005       | voice_mo | 8821234567   | 03:35 |   90 |       0 | rated        | -                       | premium       | International Networks | 1000000
p10  | ber  |  26 | S005       | voice_mo | 8821234567   | 03:45 |   90 |       0 | rated        | -                       | premium       | International Networks | 1000000
u16  | ast  |   1 | S004       | voice_mo | 12175550000  | 12:00 |  180 |       0 | rated        | -                       | domestic      | USA                    | 90000
u17  | ast  |   2 | S004       | voice_mo | 442071234567 | 12:10 |  300 |       0 | rated        | -                       | international | United Kingdom         | 3000000
u18  | ast  |   3 | S004       | voice_mt | 13125550777  | 12:20 |  100 |       0 | not_billable | -                       | domestic      | USA                    | 0
u19  | ast  |   4 | S004       | voice_mo | 18005550100  | 12:30 |   60 |       0 | zero_rated   | -                       | toll_free     | Toll free              | 0
u20  | ast  |   5 | S004       | voice_mo | 12175550001  | 12:40 |   90 |       0 | rated        | -                       | domestic      | USA                    | 45000
u21  | ber2 |   2 | S001       | voice_mt | 13125550888  | 14:00 |   60 |       0 | not_billable | -                       | domestic      | USA                    | 0
"""

# Records delivered again on a later file date: (fixture id repeated, file, record number).
REPEATS = [("u01", "ber2", 1)]

# PGW partial records of S003 and S001 data sessions (1 MB each). Consolidation sees, with
# the feed's clock at u21's end (2025-03-11 14:01 UTC) and a 24 h time-out:
# A: partials 1 and 2 (last), across two files -> complete, rated once: 2 MB -> 20 000;
# B: partials 1 and 3 (last), 2 missing, ended 2025-03-10 12:35 -> incomplete (timed
#    out), rated once on what arrived: 2 MB -> 20 000;
# C: partial 1 only, ended 2025-03-11 11:00 -> held (within the time-out), not rated.
PARTIALS_TABLE = """session | file | rec | subscriber | seq | last | started_at       | secs
A       | pgw  |   1 | S003       |   1 | no   | 2025-03-10 11:00 | 1800
B       | pgw  |   2 | S003       |   1 | no   | 2025-03-10 11:05 | 1800
A       | pgw2 |   1 | S003       |   2 | yes  | 2025-03-10 11:30 | 1800
B       | pgw2 |   2 | S003       |   3 | yes  | 2025-03-10 12:05 | 1800
C       | pgw2 |   3 | S001       |   1 | no   | 2025-03-11 10:00 | 3600
"""

# Rating of the complete and incomplete sessions: session -> (status, charge_micros).
SESSION_RATING = {"A": ("rated", 20_000), "B": ("rated", 20_000)}

# Interconnect legs by usage id: u12 is left in suspense (no rate), the rest are rated.
LEGS_TABLE = """\
id   | carrier | prefix | destination            | group         | price  | billable | cost   | status
u01  | C1      | 44     | United Kingdom         | international | 150000 |      120 | 300000 | rated
u05  | C1      | 44     | United Kingdom         | international | 150000 |       60 | 150000 | rated
u13  | C1      | 44     | United Kingdom         | international | 150000 |       61 | 152500 | rated
u17  | C1      | 44     | United Kingdom         | international | 150000 |      300 | 750000 | rated
u12  | C1      | -      | -                      | -             | -      |        0 |      0 | suspense
p01  | C2      | 882    | International Networks | premium       | 600000 |       90 | 900000 | rated
p02  | C2      | 882    | International Networks | premium       | 600000 |       90 | 900000 | rated
p03  | C2      | 882    | International Networks | premium       | 600000 |       90 | 900000 | rated
p04  | C2      | 882    | International Networks | premium       | 600000 |       90 | 900000 | rated
p05  | C2      | 882    | International Networks | premium       | 600000 |       90 | 900000 | rated
p06  | C2      | 882    | International Networks | premium       | 600000 |       90 | 900000 | rated
p07  | C2      | 882    | International Networks | premium       | 600000 |       90 | 900000 | rated
p08  | C2      | 882    | International Networks | premium       | 600000 |       90 | 900000 | rated
p09  | C2      | 882    | International Networks | premium       | 600000 |       90 | 900000 | rated
p10  | C2      | 882    | International Networks | premium       | 600000 |       90 | 900000 | rated
"""

_MSISDN = {
    "S001": "13125550101",
    "S003": "12175550103",
    "S004": "12175550104",
    "S005": "15125550105",
}
_IMSI = {"S001": "310260000000001", "S003": "310260000000003", "S005": "310260000000005"}
_ACCOUNT = {"S001": "A001", "S003": "A002", "S004": "A002", "S005": "A003"}
_PLAN = {"S001": "P-MOB-S", "S003": "P-MOB-L", "S004": "P-VOIP", "S005": "P-MOB-S"}
UNKNOWN_MSISDN = "13125550777"

RECURRING = [
    # subscriber, account, plan, service type, kind, service from, service to, days, fee,
    # charge. Cycle day 1: the March bill charges April (30 days) in advance; the lines
    # unchanged in March need no true-up. S004 was activated on 03-22: 25 000 000 x 10 / 31
    # = 8 064 516.13 -> 8 060 000 to the cent. S006 ended in February.
    ("S001", "A001", "P-MOB-S", "mobile", "advance", 1, 30, 30, 20_000_000, 20_000_000),
    ("S002", "A001", "P-BB", "broadband", "advance", 1, 30, 30, 50_000_000, 50_000_000),
    ("S003", "A002", "P-MOB-L", "mobile", "advance", 1, 30, 30, 45_000_000, 45_000_000),
    ("S004", "A002", "P-VOIP", "fixed_voip", "adjusted", 22, 31, 10, 25_000_000, 8_060_000),
    ("S004", "A002", "P-VOIP", "fixed_voip", "advance", 1, 30, 30, 25_000_000, 25_000_000),
    ("S005", "A003", "P-MOB-S", "mobile", "advance", 1, 30, 30, 20_000_000, 20_000_000),
]


# Allowance buckets at the period's close: S001's own voice seconds (a 300 s rollover cap)
# and A002's pooled data. The fixture's records draw nothing (allowance_units 0).
_BALANCE_COLUMNS = (
    "owner_kind",
    "owner_id",
    "service",
    "scope",
    "granted_at_close",
    "rolled_in",
    "used_from_rollover",
    "used_from_grant",
    "unused",
    "rolled_out",
)
ALLOWANCE_BALANCES = [
    dict(zip(_BALANCE_COLUMNS, row, strict=True))
    for row in [
        ("line", "S001", "voice", "any", 600, 120, 0, 0, 600, 300),
        ("account", "A002", "data", "any", 10 * 1024 * MB, 0, 0, 0, 10 * 1024 * MB, 0),
    ]
]


def _parse_table(text: str) -> list[dict[str, str | None]]:
    """Rows of a `|`-separated text table; `-` is null."""
    header, *lines = text.strip().splitlines()
    names = [name.strip() for name in header.split("|")]
    return [
        {
            name: (None if value.strip() == "-" else value.strip())
            for name, value in zip(names, line.split("|"), strict=True)
        }
        for line in lines
    ]


def _table(name: str, rows: list[dict[str, Any]]) -> pa.Table:
    schema, _ = LAKE_TABLES[name]
    return pa.Table.from_pylist(rows, schema=schema)


def event_date(started_at: datetime) -> date:
    """Operator-local date of an event: the usage partition it belongs to."""
    return started_at.astimezone(ZoneInfo(OPERATOR_TIMEZONE)).date()


def _file_columns(code: str, record_number: int) -> dict[str, Any]:
    """The usage columns mediation takes from the record's file."""
    file = FILES[code]
    return {
        "usage_id": f"{file.file_id[:16]}-{record_number}",
        "file_id": file.file_id,
        "file_name": file.name,
        "record_number": record_number,
        "feed": file.feed,
        "switch_id": file.switch_id,
        "file_date": file.file_date,
    }


def _rating(
    subscriber: str | None,
    status: str | None,
    units: int,
    charge: int,
    destination: tuple[str | None, str | None],
    suspense_reason: str | None = None,
) -> dict[str, Any]:
    """The rated_usage columns rating adds; destination = (group, name)."""
    group, name = destination
    priced = subscriber is not None and status in ("rated", "zero_rated")
    return {
        "billing_period": PERIOD,
        "subscriber_id": subscriber,
        "account_id": _ACCOUNT.get(subscriber or ""),
        "plan_id": _PLAN.get(subscriber or ""),
        "rate_deck_id": "RD1" if subscriber else None,
        "destination_prefix": None,
        "destination_name": name,
        "destination_group": group,
        "time_band": "peak",
        "billable_units": units,
        "allowance_units": 0,
        "chargeable_units": units,
        "charge_micros": charge,
        "rating_status": status,
        "suspense_reason": suspense_reason,
        "tariff_version": "v1",
        # What priced the record: named only when it was priced (rated or zero_rated).
        "rating_plan_id": f"RP-{_PLAN[subscriber]}" if priced else None,
        "rate_id": "RT-1" if priced else None,
        "catalog_version": "v1" if priced else None,
    }


def usage_rows() -> list[dict[str, Any]]:
    """The standalone usage rows (lake `usage`) with their rating (lake `rated_usage`)."""
    rows = []
    for spec in _parse_table(USAGE_TABLE):
        code = str(spec["file"])
        is_mobile = FILES[code].feed == "ts32298_ber"
        subscriber = spec["subscriber"]
        record_type = str(spec["type"])
        seconds = int(str(spec["secs"]))
        volume = int(str(spec["bytes"]))
        hour, minute = (int(part) for part in str(spec["hh:mm"]).split(":"))
        day = FILES[code].file_date
        started = datetime(day.year, day.month, day.day, hour, minute, tzinfo=UTC)
        rows.append(
            {
                **_file_columns(code, int(str(spec["rec"]))),
                "event_date": event_date(started),
                "record_key": f"key-{spec['id']}",
                "record_type": record_type,
                "service": record_type.split("_")[0],
                "direction": {"mo": "outbound", "mt": "inbound"}.get(
                    record_type.split("_")[-1], "none"
                ),
                "served_msisdn": _MSISDN.get(subscriber or "", UNKNOWN_MSISDN),
                "served_imsi": _IMSI.get(
                    subscriber or "", "310260000000077" if is_mobile else None
                ),
                "served_imei": None,
                "other_party_number": spec["other party"],
                "started_at": started,
                "answered_at": started,
                "ended_at": started + timedelta(seconds=seconds),
                "duration_seconds": seconds,
                "uplink_bytes": volume // 2,
                "downlink_bytes": volume - volume // 2,
                "data_volume_bytes": volume,
                "is_answered": True,
                "release_cause": "normal",
                "outgoing_trunk_group": "TG1" if spec["id"] in _legs() else None,
                "incoming_trunk_group": None,
                "cell_id": "cell-1" if is_mobile else None,
                "session_key": None,
                "partial_sequence": None,
                "is_last_partial": None,
                **_rating(
                    subscriber,
                    spec["status"],
                    seconds,
                    int(str(spec["charge"])),
                    (spec["group"], spec["destination"]),
                    spec["suspense reason"],
                ),
                "fixture_id": spec["id"],
            }
        )
    return rows


def repeat_rows(usage: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The REPEATS: copies of usage rows delivered again in a later file."""
    by_id = {row["fixture_id"]: row for row in usage}
    return [
        {**by_id[original], **_file_columns(code, number), "fixture_id": f"{original}-repeat"}
        for original, code, number in REPEATS
    ]


def partial_rows() -> list[dict[str, Any]]:
    """The PARTIALS_TABLE as usage rows of PGW1 (gateway 10.0.0.1, charging id 100x)."""
    rows = []
    for spec in _parse_table(PARTIALS_TABLE):
        subscriber = str(spec["subscriber"])
        session_key = f"10.0.0.1-100{ord(str(spec['session'])) - ord('A') + 1}"
        sequence = int(str(spec["seq"]))
        is_last = spec["last"] == "yes"
        started = datetime.fromisoformat(f"{spec['started_at']}+00:00")
        seconds = int(str(spec["secs"]))
        rows.append(
            {
                **_file_columns(str(spec["file"]), int(str(spec["rec"]))),
                "event_date": event_date(started),
                "record_key": f"{session_key}-{sequence}",
                "record_type": "data",
                "service": "data",
                "direction": "none",
                "served_msisdn": _MSISDN[subscriber],
                "served_imsi": _IMSI[subscriber],
                "served_imei": None,
                "other_party_number": None,
                "started_at": started,
                "answered_at": started,
                "ended_at": started + timedelta(seconds=seconds),
                "duration_seconds": seconds,
                "uplink_bytes": MB // 2,
                "downlink_bytes": MB - MB // 2,
                "data_volume_bytes": MB,
                "is_answered": True,
                "release_cause": "normalRelease" if is_last else "timeLimit",
                "outgoing_trunk_group": None,
                "incoming_trunk_group": None,
                "cell_id": "cell-2",
                "session_key": session_key,
                "partial_sequence": sequence,
                "is_last_partial": is_last,
                "fixture_id": f"{spec['session']}{sequence}",
                "subscriber_id": subscriber,
            }
        )
    return rows


def session_rated_rows(layout: Layout, partials: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rated rows of the complete and incomplete sessions consolidation wrote."""
    by_key = {row["session_key"]: row for row in partials}
    rows = []
    for session in read_table(layout, "sessions", {"billing_period": PERIOD}).to_pylist():
        if session["correlation_status"] == "held":
            continue
        partial = by_key[session["session_key"]]
        status, charge = SESSION_RATING[partial["fixture_id"][0]]
        volume = session["data_volume_bytes"]
        rating = _rating(partial["subscriber_id"], status, volume, charge, ("data", "Data"))
        rows.append({**{name: session[name] for name in USAGE_SCHEMA.names}, **rating})
    return rows


def _legs() -> dict[str | None, dict[str, str | None]]:
    return {leg["id"]: leg for leg in _parse_table(LEGS_TABLE)}


def registry_row(
    file_name: str,
    file_id: str,
    feed: str,
    switch: str,
    sequence: int,
    status: str,
    counts: tuple[int, int, int, int],
    duplicate_of: str | None = None,
    *,
    file_date: date = FILE_DATE,
    fixed: int = 0,
) -> dict[str, Any]:
    """A file_registry row; counts = (in, accepted, rejected, duplicate)."""
    records_in, accepted, rejected, duplicate = counts
    return {
        "file_id": file_id,
        "file_name": file_name,
        "feed": feed,
        "switch_id": switch,
        "file_date": file_date,
        "file_sequence_number": sequence,
        "file_bytes": 1000,
        "file_status": status,
        "duplicate_of_file_id": duplicate_of,
        "records_in": records_in,
        "records_accepted": accepted,
        "records_rejected": rejected,
        "records_duplicate": duplicate,
        "records_fixed": fixed,
    }


def _file_registry_row(
    code: str, counts: tuple[int, int, int, int], fixed: int = 0
) -> dict[str, Any]:
    file = FILES[code]
    return registry_row(
        file.name,
        file.file_id,
        file.feed,
        file.switch_id,
        file.sequence,
        "processed",
        counts,
        file_date=file.file_date,
        fixed=fixed,
    )


def write_fixture(root: Path) -> Layout:
    """Write the reference CSVs and lake partitions of the tiny operator under ``root``,
    consolidate its billing period, write its (hand-made) rating and tax it."""
    layout = Layout(root)
    layout.reference.mkdir(parents=True, exist_ok=True)
    for name, text in REFERENCE_CSV.items():
        (layout.reference / name).write_text(text, encoding="utf-8")
    rules = layout.reference / TAX_RULES_DIR
    rules.mkdir(exist_ok=True)
    for name, text in TAX_RULES_FILES.items():
        (rules / name).write_text(text, encoding="utf-8")

    usage = usage_rows()
    partials = partial_rows()
    write_usage(layout, _table("usage", [*usage, *repeat_rows(usage), *partials]))

    reject = {
        "file_id": BER_FILE_ID,
        "file_name": BER_FILE,
        "feed": "ts32298_ber",
        "switch_id": "MSC1",
        "file_date": FILE_DATE,
        "record_number": 7,
        "reason_code": "truncated_record",
        "reason_detail": "CDR cut short",
        "raw_text": "a0",
    }
    registry = [
        _file_registry_row("ber", (26, 24, 1, 1)),
        # u21 was quarantined once and replayed with an operator's fix.
        _file_registry_row("ber2", (2, 2, 0, 0), fixed=1),
        _file_registry_row("pgw", (2, 2, 0, 0)),
        _file_registry_row("pgw2", (3, 3, 0, 0)),
        _file_registry_row("ast", (5, 5, 0, 0)),
        registry_row(
            AST_DUP_FILE,
            AST_FILE_ID,
            "asterisk_cdr_csv",
            "AST1",
            2,
            "duplicate_file",
            (5, 0, 0, 5),
            duplicate_of=AST_FILE_ID,
        ),
    ]
    for feed, day in sorted({(row["feed"], row["file_date"]) for row in registry}):
        values = {"feed": feed, "file_date": day.isoformat()}
        files = [row for row in registry if (row["feed"], row["file_date"]) == (feed, day)]
        rejects = [row for row in [reject] if (row["feed"], row["file_date"]) == (feed, day)]
        write_partition(layout, "file_registry", values, _table("file_registry", files))
        write_partition(layout, "rejects", values, _table("rejects", rejects))

    for feed in ("ts32298_ber", "asterisk_cdr_csv"):
        consolidate_period(layout, feed, PERIOD, window_days=7, timeout=timedelta(hours=24))

    period = {"billing_period": PERIOD}
    # The hand-made rating is one rating bucket (docs/rating.md, Buckets and the fan-out).
    bucket = {**period, "bucket": 0}
    rated = [*usage, *session_rated_rows(layout, partials)]
    write_partition(layout, "rated_usage", bucket, _table("rated_usage", rated))

    legs = _legs()
    leg_rows = [
        {
            "usage_id": row["usage_id"],
            "billing_period": PERIOD,
            "event_date": row["event_date"],
            "started_at": row["started_at"],
            "leg_direction": "outbound",
            "trunk_group": "TG1",
            "carrier_id": leg["carrier"],
            "served_msisdn": row["served_msisdn"],
            "other_party_number": row["other_party_number"],
            "rated_number": row["other_party_number"],
            "ported": False,
            "terminating_spid": None,
            "destination_prefix": leg["prefix"],
            "destination_name": leg["destination"],
            "destination_group": leg["group"],
            "duration_seconds": row["duration_seconds"],
            "billable_seconds": int(str(leg["billable"])),
            "price_micros": None if leg["price"] is None else int(leg["price"]),
            "amount_micros": int(str(leg["cost"])),
            "currency": "USD",
            "rating_status": leg["status"],
            "suspense_reason": "no_rate_for_destination" if leg["status"] == "suspense" else None,
            "tariff_version": (
                None
                if leg["prefix"] is None
                else f"{leg['carrier']}/termination/{leg['prefix']}/2024-01-01"
            ),
        }
        for row in usage
        if (leg := legs.get(row["fixture_id"])) is not None
    ]
    write_partition(layout, "interconnect_legs", bucket, _table("interconnect_legs", leg_rows))

    recurring = [
        {
            "billing_period": PERIOD,
            "subscriber_id": subscriber,
            "account_id": account,
            "plan_id": plan,
            "offer_kind": "plan",
            "service_type": service_type,
            "recurring_kind": kind,
            "period_start_date": date(2025, 3 if kind == "adjusted" else 4, 1),
            "period_end_date": date(2025, 3, 31) if kind == "adjusted" else date(2025, 4, 30),
            "service_from": date(2025, 3 if kind == "adjusted" else 4, first),
            "service_to": date(2025, 3 if kind == "adjusted" else 4, last),
            "active_days": days,
            "period_days": 31 if kind == "adjusted" else 30,
            "monthly_fee_micros": fee,
            "charge_micros": charge,
        }
        for subscriber, account, plan, service_type, kind, first, last, days, fee, charge in (
            RECURRING
        )
    ]
    write_partition(layout, "recurring_charges", period, _table("recurring_charges", recurring))

    write_partition(
        layout, "allowance_balances", bucket, _table("allowance_balances", ALLOWANCE_BALANCES)
    )
    # The hand-made rating is the period's first version, as the rate stage would record it;
    # taxes come from the real tax stage over it.
    record_buckets(layout, PERIOD, 1)
    record_rating(layout, PERIOD, reference_checksums(layout))
    tax_period(layout, PERIOD)
    return layout
