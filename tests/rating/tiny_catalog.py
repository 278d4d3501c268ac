"""A tiny operator rated with a real tariff catalog: July and August 2024, America/Chicago
(CDT, UTC-5), so a local time is its UTC time minus five hours.

The catalog is built from model objects and written with ``write_catalog`` into
``reference/tariff_catalog``; the other reference files are the CSVs the stage still reads.
Prices are in micro-USD; "a minute at 0.12" is 120_000 micros per 60 s = 2_000 per second.

Destinations (longest prefix wins; on-net by the event's flag):
  US 1 domestic, TF 1800 toll_free, EMERG 911 emergency, UK 44 international,
  FR 33 international, ONNET on_net; data and SMS use ``*any``.
Rating plan RP_VOICE: DR_PEAK (timing ``peak``: Mon-Fri 08:00-19:00, never on holidays,
weight 20), DR_WEEKEND (Sat-Sun, weight 20), DR_OFF (``*any``, weight 10).
  DR_PEAK: US at R_DOM_PEAK, 60/1 at 0.12 a minute.
  DR_WEEKEND: US at R_DOM_WKND, 60/1 at 0.03.
  DR_OFF: US at R_DOM_OFF, 60/1 at 0.06; UK at R_INTL (30/6 at 1.23, connect fee 0.10,
  rounded up to 2 decimals); FR at R_FR (60/60 at 0.2345, up to 2 decimals, minimum
  charge 0.50, maximum cost 3.00 ``free``); ONNET at R_ONNET (1/1 at 0.01); EMERG and TF
  at R_CHARGED (60/60 at 0.50 + 0.25 connect fee: zero-rated groups must ignore it).
RP_VOICE_B (PCHG from 07-15): DR_B, US at R_DOM_B (60/60 at 0.08).
RP_ROAM_EU (category voice@eu): DR_ROAM, ``*any`` at R_ROAM (60/60 at 0.25).
RP_SMS: ``*any`` at 0.05 a message. RP_DATA: ``*any`` at 0.01 per 1_000_000 bytes, per byte.
Roaming zone ``eu``: every network of DEU, and FRAF1.
Holidays: the ``holidays`` package's US calendar (Thursday 2024-07-04 is one).
Exchange rates USD->EUR: 0.90 from 2024-07-01, 0.9125 from 2024-07-15.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from fractions import Fraction
from pathlib import Path
from zoneinfo import ZoneInfo

from tiny_rating_lake import ONE_CARRIER, TAX_RULE_FILES
from usage_lake import write_usage

from pipelines.config import TENANT, Layout
from pipelines.config import layout as make_layout
from pipelines.mediation.consolidate import consolidate_period
from pipelines.schema import USAGE_SCHEMA
from pipelines.tariffs.catalog_files import write_catalog
from pipelines.tariffs.model import (
    ANY,
    AggregatePrice,
    Allowance,
    Catalog,
    Destination,
    DestinationGroup,
    DestinationRate,
    ExchangeRate,
    HolidayCalendar,
    HolidayRule,
    MaxCostStrategy,
    Offer,
    PlanEntry,
    PricingModel,
    Rate,
    RateSlot,
    RatingPlan,
    RatingProfile,
    RoundingMethod,
    Tier,
    Timing,
)

CATALOG_LABEL = "2024.7"
LOCAL = ZoneInfo("America/Chicago")
SINCE = date(2024, 1, 1)
ALWAYS_ON = datetime(2024, 1, 1, tzinfo=UTC)


def _per_second_after_minute(rate_id: str, price: int, fee: int = 0) -> Rate:
    """60/1: the first minute whole, then per second."""
    return Rate(rate_id, (RateSlot(0, price, 60, 60, fee), RateSlot(60, price, 60, 1)))


RATES = {
    "R_DOM_PEAK": _per_second_after_minute("R_DOM_PEAK", 120_000),
    "R_DOM_WKND": _per_second_after_minute("R_DOM_WKND", 30_000),
    "R_DOM_OFF": _per_second_after_minute("R_DOM_OFF", 60_000),
    # 30/6 with a connect fee
    "R_INTL": Rate(
        "R_INTL", (RateSlot(0, 1_230_000, 60, 30, 100_000), RateSlot(30, 1_230_000, 60, 6))
    ),
    "R_FR": Rate("R_FR", (RateSlot(0, 234_500, 60, 60),)),
    "R_ONNET": Rate("R_ONNET", (RateSlot(0, 10_000, 60, 1),)),
    "R_CHARGED": Rate("R_CHARGED", (RateSlot(0, 500_000, 60, 60, 250_000),)),
    "R_DOM_B": Rate("R_DOM_B", (RateSlot(0, 80_000, 60, 60),)),
    "R_ROAM": Rate("R_ROAM", (RateSlot(0, 250_000, 60, 60),)),
    "R_SMS": Rate("R_SMS", (RateSlot(0, 50_000, 1, 1),)),
    "R_DATA": Rate("R_DATA", (RateSlot(0, 10_000, 1_000_000, 1),)),
}

DESTINATIONS = {
    "US": Destination("US", ("1",), "United States", DestinationGroup.DOMESTIC),
    "TF": Destination("TF", ("1800",), "Toll free", DestinationGroup.TOLL_FREE),
    "EMERG": Destination("EMERG", ("911",), "Emergency", DestinationGroup.EMERGENCY),
    "UK": Destination("UK", ("44",), "United Kingdom", DestinationGroup.INTERNATIONAL),
    "FR": Destination("FR", ("33",), "France", DestinationGroup.INTERNATIONAL),
    "ONNET": Destination("ONNET", (), "On net", DestinationGroup.ON_NET),
}

TIMINGS = {
    "peak": Timing(
        "peak",
        week_days=frozenset({1, 2, 3, 4, 5}),
        start_second=8 * 3600,
        end_second=19 * 3600,
        holidays=HolidayRule.NEVER,
    ),
    "weekend": Timing("weekend", week_days=frozenset({6, 7})),
}

DESTINATION_RATES = {
    "DR_PEAK": (DestinationRate("US", "R_DOM_PEAK"),),
    "DR_WEEKEND": (DestinationRate("US", "R_DOM_WKND"),),
    "DR_OFF": (
        DestinationRate("US", "R_DOM_OFF"),
        DestinationRate("UK", "R_INTL", RoundingMethod.UP, 2),
        DestinationRate(
            "FR",
            "R_FR",
            RoundingMethod.UP,
            2,
            max_cost_micros=3_000_000,
            max_cost_strategy=MaxCostStrategy.FREE,
            min_charge_micros=500_000,
        ),
        DestinationRate("ONNET", "R_ONNET"),
        DestinationRate("EMERG", "R_CHARGED"),
        DestinationRate("TF", "R_CHARGED"),
    ),
    "DR_B": (DestinationRate("US", "R_DOM_B"),),
    "DR_ROAM": (DestinationRate(ANY, "R_ROAM"),),
    "DR_SMS": (DestinationRate(ANY, "R_SMS"),),
    "DR_DATA": (DestinationRate(ANY, "R_DATA"),),
}

RATING_PLANS = {
    "RP_VOICE": RatingPlan(
        "RP_VOICE",
        (
            PlanEntry("DR_PEAK", "peak", 20),
            PlanEntry("DR_WEEKEND", "weekend", 20),
            PlanEntry("DR_OFF", ANY, 10),
        ),
    ),
    "RP_VOICE_B": RatingPlan("RP_VOICE_B", (PlanEntry("DR_B", ANY, 10),)),
    "RP_ROAM_EU": RatingPlan("RP_ROAM_EU", (PlanEntry("DR_ROAM", ANY, 10),)),
    "RP_SMS": RatingPlan("RP_SMS", (PlanEntry("DR_SMS", ANY, 10),)),
    "RP_DATA": RatingPlan("RP_DATA", (PlanEntry("DR_DATA", ANY, 10),)),
}

#: Plans (offer ids, also their rating subjects) and what each is for.
PLAN_IDS = ("PBAND", "PALLOW", "PINTL", "PFR", "PPOOL", "PROLL", "PAGG", "PCHG", "PSUBJ", "PMIX")


def _profiles() -> tuple[RatingProfile, ...]:
    profiles = []
    for plan_id in PLAN_IDS:
        subject = "retail-basic" if plan_id == "PSUBJ" else plan_id
        profiles += [
            RatingProfile(TENANT, "voice", subject, ALWAYS_ON, "RP_VOICE"),
            RatingProfile(TENANT, "sms", subject, ALWAYS_ON, "RP_SMS"),
            RatingProfile(TENANT, "data", subject, ALWAYS_ON, "RP_DATA"),
        ]
    # PCHG's calls are rated with RP_VOICE_B from its new version's first local day.
    profiles.append(
        RatingProfile(TENANT, "voice", "PCHG", datetime(2024, 7, 15, 5, tzinfo=UTC), "RP_VOICE_B")
    )
    # PSUBJ's offer rates with subject retail-basic; a PSUBJ profile would rate at 0.08.
    profiles.append(RatingProfile(TENANT, "voice", "PSUBJ", ALWAYS_ON, "RP_VOICE_B"))
    profiles.append(RatingProfile(TENANT, "voice@eu", "PBAND", ALWAYS_ON, "RP_ROAM_EU"))
    return tuple(profiles)


def _offer(offer_id: str, **fields) -> Offer:
    values = dict(
        offer_id=offer_id,
        name=offer_id,
        kind="plan",
        service_type="mobile",
        monthly_fee_micros=10_000_000,
        subject=offer_id,
        effective_from=SINCE,
    )
    values.update(fields)
    return Offer(**values)


OFFERS = (
    _offer("PBAND"),
    _offer("PALLOW", allowances=(Allowance("voice", 300),)),
    _offer(
        "PINTL",
        allowances=(
            Allowance("voice", 120, destination_groups=frozenset({DestinationGroup.INTERNATIONAL})),
        ),
    ),
    _offer("PFR", allowances=(Allowance("voice", 300, destinations=frozenset({"FR"})),)),
    _offer("PPOOL", allowances=(Allowance("data", 1_000_000, pooled=True),)),
    _offer("PROLL", allowances=(Allowance("voice", 300, rollover_cap=100),)),
    _offer(
        "PAGG",
        aggregate_prices=(
            AggregatePrice(
                "data",
                PricingModel.GRADUATED,
                1_000_000,
                (Tier(2, 500_000), Tier(None, 100_000, flat_fee_micros=1_000_000)),
            ),
        ),
    ),
    _offer("PCHG", effective_to=date(2024, 7, 14)),
    _offer(
        "PCHG",
        monthly_fee_micros=12_000_000,
        effective_from=date(2024, 7, 15),
        allowances=(Allowance("voice", 60),),
    ),
    _offer("PSUBJ", subject="retail-basic"),
    _offer(
        "PMIX",
        allowances=(
            Allowance("voice", 300),
            Allowance("voice", 120, destination_groups=frozenset({DestinationGroup.INTERNATIONAL})),
        ),
    ),
)


def build_catalog() -> Catalog:
    return Catalog(
        version=CATALOG_LABEL,
        currency="USD",
        destinations=DESTINATIONS,
        timings=TIMINGS,
        rates=RATES,
        destination_rates=DESTINATION_RATES,
        rating_plans=RATING_PLANS,
        profiles=_profiles(),
        holidays=HolidayCalendar(country="US"),
        offers=OFFERS,
        exchange_rates=(
            ExchangeRate(date(2024, 7, 1), "USD", "EUR", Fraction(9, 10)),
            ExchangeRate(date(2024, 7, 15), "USD", "EUR", Fraction(9125, 10_000)),
        ),
        roaming_zones={"eu": frozenset({"DEU", "FRAF1"})},
    )


#: subscriber_id -> (account, msisdn, plan_id, activated, cancelled)
LINES = {
    "S1": ("A1", "13125550001", "PBAND", "2024-01-01", ""),
    "S2": ("A2", "13125550002", "PBAND", "2024-01-01", "2024-07-20"),
    "S3": ("A3", "13125550003", "PALLOW", "2024-01-01", ""),
    "S4": ("A4", "13125550004", "PINTL", "2024-01-01", ""),
    "S5": ("A5", "13125550005", "PFR", "2024-01-01", ""),
    "S6": ("A6", "13125550006", "PPOOL", "2024-01-01", ""),
    "S7": ("A6", "13125550007", "PPOOL", "2024-01-01", ""),
    "S8": ("A8", "13125550008", "PROLL", "2024-01-01", ""),
    "S9": ("A9", "13125550009", "PAGG", "2024-01-01", ""),
    "S10": ("A10", "13125550010", "PBAND", "2024-01-01", ""),
    "S11": ("A11", "13125550011", "PBAND", "2024-01-01", ""),
    "S12": ("A12", "13125550012", "PCHG", "2024-01-01", ""),
    "S13": ("A13", "13125550013", "PSUBJ", "2024-01-01", ""),
    "S14": ("A14", "13125550014", "PMIX", "2024-01-01", ""),
}
EUR_ACCOUNT = "A10"


def reference_files() -> dict[str, str]:
    accounts = sorted({account for account, *_ in LINES.values()}, key=lambda a: int(a[1:]))
    plan_rows = [f"{p},{p},mobile,10000000,0,0,0,CAT,2024-01-01," for p in PLAN_IDS if p != "PCHG"]
    plan_rows += [
        "PCHG,Change v1,mobile,10000000,0,0,0,CAT,2024-01-01,2024-07-14",
        "PCHG,Change v2,mobile,12000000,60,0,0,CAT,2024-07-15,",
    ]
    return {
        # No orders: each line bills from subscribers.csv alone.
        "crm_orders.csv": (
            "order_id,account_id,subscriber_id,order_type,plan_id,ordered_date,completed_date,"
            "order_status\n"
        ),
        "accounts.csv": "account_id,account_name,account_class,bill_cycle_day,currency,"
        "service_address_id,created_date\n"
        + "".join(
            f"{a},{a},consumer,1,{'EUR' if a == EUR_ACCOUNT else 'USD'},SA{a},2023-01-01\n"
            for a in accounts
        ),
        "subscribers.csv": "subscriber_id,account_id,service_type,msisdn,imsi,plan_id,"
        "service_address_id,activated_date,cancelled_date,status\n"
        + "".join(
            f"{s},{a},mobile,{msisdn},31015{msisdn},{plan},SA{a},{on},{off},"
            f"{'cancelled' if off else 'active'}\n"
            for s, (a, msisdn, plan, on, off) in LINES.items()
        ),
        "plans.csv": "plan_id,plan_name,service_type,monthly_fee_micros,included_voice_seconds,"
        "included_sms,included_data_bytes,rate_deck_id,effective_from,effective_to\n"
        + "".join(row + "\n" for row in plan_rows),
        **ONE_CARRIER,
        # Every account in Chicago, taxed by tiny_rating_lake's rule set (a re-rating taxes).
        "service_addresses.csv": "service_address_id,street,city,county,state,postal_code,"
        "country\n" + "".join(f"SA{a},1 Main St,Chicago,Cook,IL,60601,US\n" for a in accounts),
        **{f"tax_rules/{name}": text for name, text in TAX_RULE_FILES.items()},
    }


def msisdn(subscriber_id: str) -> str:
    return LINES[subscriber_id][1]


def call(usage_id, subscriber_id, other, local_start, seconds, **extra) -> dict:
    """An answered outbound call starting at ``local_start`` (America/Chicago wall clock)."""
    return _row(usage_id, "voice_mo", subscriber_id, other, local_start, seconds, **extra)


def data(usage_id, subscriber_id, local_start, volume_bytes) -> dict:
    return _row(
        usage_id,
        "data",
        subscriber_id,
        None,
        local_start,
        600,
        data_volume_bytes=volume_bytes,
        direction="none",
    )


def roaming_call(usage_id, subscriber_id, other, local_start, seconds, tap_key) -> dict:
    """A TAP record of the visited network: record_key <sender>:<recipient>:<seq>:<n>."""
    return call(
        usage_id, subscriber_id, other, local_start, seconds, feed="tap3", record_key=tap_key
    )


def _row(usage_id, record_type, subscriber_id, other, local_start, seconds, **extra) -> dict:
    started_at = datetime.fromisoformat(local_start).replace(tzinfo=LOCAL).astimezone(UTC)
    row: dict = {name: None for name in USAGE_SCHEMA.names}
    row.update(
        usage_id=usage_id,
        file_id="f" * 64,
        file_name="usage.csv",
        record_number=int(usage_id[1:]),
        feed="asterisk_cdr_csv",
        switch_id="SW1",
        file_date=started_at.date(),
        event_date=started_at.astimezone(LOCAL).date(),
        record_key=usage_id,
        record_type=record_type,
        service=record_type.split("_")[0],
        direction="outbound",
        served_msisdn=msisdn(subscriber_id),
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
    row.update(extra)
    return row


def build_operator(root: Path, usage: list[dict], periods: tuple[str, ...]) -> Layout:
    """Reference files, the written catalog, and ``usage`` in the lake, consolidated."""
    data_layout = make_layout(root)
    data_layout.reference.mkdir(parents=True)
    for name, text in reference_files().items():
        (data_layout.reference / name).parent.mkdir(exist_ok=True)
        (data_layout.reference / name).write_text(text)
    write_catalog(build_catalog(), data_layout.reference / "tariff_catalog")
    write_usage(data_layout, usage)
    for feed in sorted({row["feed"] for row in usage}):
        for period in periods:
            consolidate_period(data_layout, feed, period)
    return data_layout
