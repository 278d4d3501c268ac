"""A tiny operator for the suspense and re-rating tests: July 2024, America/Chicago (CDT,
UTC-5), three accounts, five voice calls. Tests change its reference files in place.

With every reference row below, the calls rate as (worked by hand in tests that use it):

- u1 S1 (A1, P1: 60 s included), Tue 07-02 15:00 peak, 1312..., 90 s -> 120 s
- u2 S2 (A2, P2: nothing included), Wed 07-03 10:00 peak, 1312..., 45 s -> 60 s
- u3 S1, Wed 07-03 16:00 peak, France 33..., 61 s -> 120 s (in bundle)
- u4 S1, Fri 07-05 12:00 peak, UK 44..., 31 s -> 36 s (not in bundle)
- u5 S3 (A3, P1), Fri 07-05 13:00 peak, UK 44..., 30 s -> 30 s
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from usage_lake import write_usage

from pipelines.config import Layout
from pipelines.config import layout as make_layout
from pipelines.mediation.consolidate import consolidate_period
from pipelines.rating.buckets import read_period_table
from pipelines.schema import USAGE_SCHEMA

PERIOD = "2024-07"

SUBSCRIBER_S2 = "S2,A2,mobile,13125550002,310150000000002,P2,SA2,2024-06-01,,active\n"
FRANCE_RATES = (
    "D1,voice,33,France,international,peak,0,120000,60,60,60,true,2024-01-01\n"
    "D1,voice,33,France,international,offpeak,0,120000,60,60,60,true,2024-01-01\n"
)
US_PEAK_RATE = "D1,voice,1,United States,domestic,peak,0,60000,60,60,60,true,2024-01-01\n"

#: One carrier, C1, terminating every NANP number over trunk group TG1 (per 60 s, 60/6).
ONE_CARRIER = {
    "carriers.csv": (
        "carrier_id,carrier_name,country,spid,currency,settlement_period,rounding_method,"
        "rounding_decimals,dispute_tolerance_micros,dispute_tolerance_bp\n"
        "C1,Carrier One,US,,USD,monthly,half_up,6,0,0\n"
    ),
    "trunk_groups.csv": "trunk_group,carrier_id,direction\nTG1,C1,outgoing\n",
    "interconnect_rates.csv": (
        "carrier_id,direction,prefix,destination_name,destination_group,price_micros,"
        "first_increment,increment,effective_from,effective_to\n"
        "C1,termination,1,United States,domestic,6000,60,6,2024-01-01,\n"
    ),
}

#: A tax rule set (docs/taxes.md) for every Illinois line: FUSF at 2024Q3's 34.4% on the
#: wireless safe harbor (37.1%), capped, and a 7% Illinois excise on usage.
TAX_RULE_FILES = {
    "ruleset.yaml": (
        "format: telcolake-tax-rules/1\nname: tiny\nlabel: tiny-1\ncurrency: USD\n"
        "tax_on_tax: ordered\nmax_iterations: 1\n"
    ),
    "jurisdictions.csv": (
        "jurisdiction_id,level,code,name,parent_id\nUS,federal,US,United States,\n"
        "IL,state,IL,Illinois,US\n"
    ),
    "tax_areas.csv": (
        "tax_area_id,state,county,city,postal_code,jurisdiction_ids\nIL,IL,,,,US|IL\n"
    ),
    "taxes.csv": (
        "tax_id,effective_from,effective_to,jurisdiction_id,tax_type,tax_name,kind,categories,"
        "method,rate_ppm,amount_micros,base_share,tax_on,calc_order,exempt_classes,billable,"
        "rounding,decimals,max_base_micros,max_tax_micros,tier_basis,usf\n"
        "US-FUSF,2024-01-01,,US,usf,FUSF,surcharge,wireless_access|wireless_usage,percent,0,0,"
        "interstate,,10,,true,half_up,6,0,0,amount,true\n"
        "IL-EXCISE,2024-01-01,,IL,excise,Illinois excise,tax,wireless_usage,percent,70000,0,"
        "full,,20,,true,half_up,6,0,0,amount,false\n"
    ),
    "usf_factors.csv": "quarter,contribution_factor\n2024Q3,0.344\n",
    "interstate_shares.csv": (
        "category,interstate_share,source\nwireless_access,0.371,FCC 06-94\n"
        "wireless_usage,0.371,FCC 06-94\n"
    ),
}

REFERENCE = {
    # No orders: each line bills from subscribers.csv alone.
    "crm_orders.csv": (
        "order_id,account_id,subscriber_id,order_type,plan_id,ordered_date,completed_date,"
        "order_status\n"
    ),
    "accounts.csv": (
        "account_id,account_name,account_class,bill_cycle_day,currency,service_address_id,"
        "created_date\n"
        "A1,Ada,consumer,1,USD,SA1,2023-01-01\n"
        "A2,Bo,consumer,1,USD,SA2,2023-01-01\n"
        "A3,Cy,consumer,1,USD,SA3,2023-01-01\n"
    ),
    "subscribers.csv": (
        "subscriber_id,account_id,service_type,msisdn,imsi,plan_id,service_address_id,"
        "activated_date,cancelled_date,status\n"
        "S1,A1,mobile,13125550001,310150000000001,P1,SA1,2024-01-01,,active\n"
        + SUBSCRIBER_S2
        + "S3,A3,mobile,13125550003,310150000000003,P1,SA3,2024-01-01,,active\n"
    ),
    "plans.csv": (
        "plan_id,plan_name,service_type,monthly_fee_micros,included_voice_seconds,included_sms,"
        "included_data_bytes,rate_deck_id,effective_from,effective_to\n"
        "P1,Mobile 60,mobile,10000000,60,0,0,D1,2024-01-01,\n"
        "P2,Mobile Basic,mobile,3100000,0,0,0,D1,2024-01-01,\n"
    ),
    "rate_deck.csv": (
        "rate_deck_id,service,prefix,destination_name,destination_group,time_band,"
        "connect_fee_micros,price_micros,price_unit,first_increment,increment,is_in_bundle,"
        "effective_from\n"
        + US_PEAK_RATE
        + "D1,voice,1,United States,domestic,offpeak,0,30000,60,60,60,true,2024-01-01\n"
        "D1,voice,44,United Kingdom,international,peak,100000,1200000,60,30,6,false,2024-01-01\n"
        "D1,voice,44,United Kingdom,international,offpeak,100000,1200000,60,30,6,false,"
        "2024-01-01\n" + FRANCE_RATES
    ),
    "time_bands.csv": (
        "time_band,day_type,start_time,end_time,weight\n"
        "peak,weekday,08:00,20:00,10\n"
        "offpeak,weekday,00:00,24:00,0\n"
        "offpeak,weekend,00:00,24:00,0\n"
        "offpeak,holiday,00:00,24:00,0\n"
    ),
    "holidays.csv": "holiday_date,holiday_name,country\n2024-07-04,Independence Day,US\n",
    "service_addresses.csv": (
        "service_address_id,street,city,county,state,postal_code,country\n"
        "SA1,1 Main St,Chicago,Cook,IL,60601,US\n"
        "SA2,2 Main St,Chicago,Cook,IL,60601,US\n"
        "SA3,3 Main St,Chicago,Cook,IL,60601,US\n"
    ),
    **{f"tax_rules/{name}": text for name, text in TAX_RULE_FILES.items()},
    **ONE_CARRIER,
}

US_NUMBER = "13125559999"
FRANCE_NUMBER = "33142685300"
UK_NUMBER = "447700900123"

#: usage_id -> (served msisdn, called number, start in UTC, seconds)
CALLS = {
    "u1": ("13125550001", US_NUMBER, "2024-07-02T20:00", 90),
    "u2": ("13125550002", US_NUMBER, "2024-07-03T15:00", 45),
    "u3": ("13125550001", FRANCE_NUMBER, "2024-07-03T21:00", 61),
    "u4": ("13125550001", UK_NUMBER, "2024-07-05T17:00", 31),
    "u5": ("13125550003", UK_NUMBER, "2024-07-05T18:00", 30),
}


def _usage_row(usage_id: str, msisdn: str, other: str, started: str, seconds: int) -> dict:
    started_at = datetime.fromisoformat(started).replace(tzinfo=UTC)
    row: dict = {name: None for name in USAGE_SCHEMA.names}
    row.update(
        usage_id=usage_id,
        file_id="f" * 64,
        file_name="Master.csv",
        record_number=int(usage_id[1:]),
        feed="asterisk_cdr_csv",
        switch_id="SW1",
        file_date=started_at.date(),
        event_date=started_at.astimezone(ZoneInfo("America/Chicago")).date(),
        record_key=usage_id,
        record_type="voice_mo",
        service="voice",
        direction="outbound",
        served_msisdn=msisdn,
        other_party_number=other,
        started_at=started_at,
        answered_at=started_at,
        ended_at=started_at,
        duration_seconds=seconds,
        uplink_bytes=0,
        downlink_bytes=0,
        data_volume_bytes=0,
        is_answered=True,
    )
    return row


def build_operator(root: Path, reference: dict[str, str] = REFERENCE) -> Layout:
    """Write the reference files and the usage lake, consolidated for the period."""
    data = make_layout(root)
    data.reference.mkdir(parents=True)
    for name, text in reference.items():
        (data.reference / name).parent.mkdir(exist_ok=True)
        (data.reference / name).write_text(text)
    write_usage(data, [_usage_row(usage_id, *call) for usage_id, call in CALLS.items()])
    consolidate_period(data, "asterisk_cdr_csv", PERIOD)
    return data


def without(reference: dict[str, str], name: str, text: str) -> dict[str, str]:
    """The reference files with ``text`` (whole lines) taken out of file ``name``."""
    assert text in reference[name]
    return {**reference, name: reference[name].replace(text, "")}


def read_rows(data: Layout, table: str) -> dict[str, dict]:
    """A period partition's rows by usage_id."""
    rows = read_period_table(data, table, PERIOD).to_pylist()
    return {row["usage_id"]: row for row in rows}
