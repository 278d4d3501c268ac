"""The operator's product, tariff and network tables: fixed, not random.

These are what an operator's product catalogue, rating engine and interconnect agreements
would export (its tax rule set is ``pipelines.taxes.us_rules``). Prices are micro-USD
(``45_000_000`` = $45). They do not depend on the seed: two operators generated with
different seeds sell the same products.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, timedelta

import holidays
import phonenumbers

from pipelines.config import OPERATOR_COUNTRY, OPERATOR_CURRENCY, OPERATOR_TIMEZONE
from pipelines.schema import Feed
from pipelines.tariffs.model import Catalog, HolidayCalendar
from pipelines.tariffs.price_list import catalog_from_price_list

MiB = 1_048_576
GiB = 1024 * MiB
#: Catalogue and tariff versions in force since this date, which predates every line's
#: activation (no earlier versions are exported).
CATALOG_EFFECTIVE_FROM = "2019-01-01"
#: The pricing team's label of that tariff catalog version.
CATALOG_LABEL = "2019.1"

ASTERISK_SWITCH = "ast-chi-01"
MOBILE_SWITCH = "msc-chi-01"
#: Further fixed VoIP switches; each serves some of the lines (pipelines/generate/voip_writers.py).
FREESWITCH_SWITCH = "fs-chi-01"
CUCM_CLUSTER = "cucm-chi"  # a CUCM cluster id is its switch id: its files name the cluster
OPENSIPS_SWITCH = "sbc-chi-01"
#: IPv4 address the MSC/PGW writes into its TS 32.297 file headers and PGW records.
MOBILE_NODE_ADDRESS = "10.20.0.11"
#: E.164 numbers of the MSC (recordingEntity of voice and SMS records) and of the SMSC.
MSC_NUMBER = "13122600001"
SMSC_NUMBER = "13122600100"

MOBILE_DECK = "RD-MOBILE"
FIXED_DECK = "RD-FIXED"

# Trunk groups. Names carry no '-', so "PJSIP/<endpoint>-<8 hex>" splits at its last '-'.
TRUNK_LEC_OUT = "tg_lec_out"
TRUNK_LEC_IN = "tg_lec_in"
TRUNK_MOBILE = "tg_mob"
TRUNK_INTERNATIONAL = "tg_intl"
TRUNK_SATELLITE = "tg_sat"


@dataclass(frozen=True)
class Plan:
    plan_id: str
    plan_name: str
    service_type: str
    monthly_fee_micros: int
    included_voice_seconds: int
    included_sms: int
    included_data_bytes: int
    rate_deck_id: str
    effective_to: str = ""


PLANS = (
    Plan("MOB-TALK2", "Mobile Talk 2 GB", "mobile", 25_000_000, 500 * 60, 500, 2 * GiB,
         MOBILE_DECK),
    Plan("MOB-PLUS10", "Mobile Plus 10 GB", "mobile", 45_000_000, 1000 * 60, 2000, 10 * GiB,
         MOBILE_DECK),
    Plan("MOB-MAX30", "Mobile Max 30 GB", "mobile", 65_000_000, 3000 * 60, 5000, 30 * GiB,
         MOBILE_DECK),
    Plan("MOB-BIZ20", "Business Mobile 20 GB", "mobile", 55_000_000, 2000 * 60, 3000,
         20 * GiB, MOBILE_DECK),
    # Lifeline wireless: the federal subsidy covers the fee; 1000 minutes and the FCC's
    # 4.5 GB minimum service standard.
    Plan("MOB-LIFELINE", "Lifeline Mobile", "mobile", 0, 1000 * 60, 1000, 4608 * MiB,
         MOBILE_DECK),
    # Retired plan: lines that were on it have a plan_change order to a current plan.
    Plan("MOB-5GB-2023", "Mobile 5 GB (2023)", "mobile", 35_000_000, 600 * 60, 1000, 5 * GiB,
         MOBILE_DECK, effective_to="2025-06-30"),
    Plan("VOIP-HOME", "Home Phone", "fixed_voip", 20_000_000, 1000 * 60, 0, 0, FIXED_DECK),
    Plan("VOIP-BIZ", "Business Line", "fixed_voip", 35_000_000, 2000 * 60, 0, 0, FIXED_DECK),
    # Broadband and TV bill recurring fees only: no usage is rated against them.
    Plan("BB-FIBER300", "Fiber 300", "broadband", 50_000_000, 0, 0, 0, ""),
    Plan("BB-FIBER1G", "Fiber 1 Gig", "broadband", 70_000_000, 0, 0, 0, ""),
    Plan("TV-BASIC", "TV Basic", "tv", 30_000_000, 0, 0, 0, ""),
    Plan("TV-PLUS", "TV Plus", "tv", 60_000_000, 0, 0, 0, ""),
)  # fmt: skip
PLANS_BY_ID = {plan.plan_id: plan for plan in PLANS}


@dataclass(frozen=True)
class Destination:
    """An international or high-cost destination: how to draw numbers in it and its prices.

    ``region`` is a libphonenumber region (``"GB"``) or, for non-geographic ranges, the
    country calling code (``881``). Prices are per minute in micro-USD.
    """

    prefix: str
    name: str
    group: str  # rate deck destination_group
    region: str | int
    number_type: int
    keep_digits: int  # leading digits of libphonenumber's example kept when drawing
    mobile_retail_micros: int
    fixed_retail_micros: int
    carrier_id: str
    cost_micros: int
    weight: float  # share of international calls (0: only dialled by anomalies)


_MOBILE = phonenumbers.PhoneNumberType.MOBILE
_FIXED = phonenumbers.PhoneNumberType.FIXED_LINE

# Retail is per-minute pay-as-you-go; some routes cost more to terminate than they retail
# for (Nigeria, Philippines on the fixed deck, Jamaica, 882), so interconnect margins can
# be negative, as they are for real operators on high-cost routes.
DESTINATIONS = (
    Destination("44", "United Kingdom", "international", "GB", _FIXED, 1,
                250_000, 150_000, "CR-INTL", 12_000, 6.0),
    Destination("447", "United Kingdom mobile", "international", "GB", _MOBILE, 2,
                350_000, 250_000, "CR-INTL", 45_000, 4.0),
    Destination("49", "Germany", "international", "DE", _FIXED, 1,
                290_000, 160_000, "CR-INTL", 15_000, 4.0),
    Destination("4915", "Germany mobile", "international", "DE", _MOBILE, 2,
                390_000, 290_000, "CR-INTL", 60_000, 3.0),
    Destination("52", "Mexico", "international", "MX", _MOBILE, 2,
                150_000, 90_000, "CR-INTL", 20_000, 25.0),
    Destination("63", "Philippines", "international", "PH", _MOBILE, 2,
                390_000, 120_000, "CR-INTL", 150_000, 12.0),
    Destination("91", "India", "international", "IN", _MOBILE, 1,
                190_000, 110_000, "CR-INTL", 18_000, 15.0),
    Destination("86", "China", "international", "CN", _MOBILE, 2,
                190_000, 100_000, "CR-INTL", 12_000, 8.0),
    Destination("234", "Nigeria", "international", "NG", _MOBILE, 2,
                450_000, 390_000, "CR-INTL", 480_000, 5.0),
    Destination("1876", "Jamaica", "international", "JM", _MOBILE, 3,
                200_000, 190_000, "CR-INTL", 220_000, 5.0),
    Destination("1809", "Dominican Republic", "international", "DO", _MOBILE, 3,
                180_000, 150_000, "CR-INTL", 90_000, 4.0),
    Destination("881", "Global Mobile Satellite System", "premium", 881, _MOBILE, 1,
                4_990_000, 4_990_000, "CR-SAT", 3_800_000, 0.0),
    Destination("882", "International Networks", "premium", 882, _MOBILE, 2,
                3_990_000, 3_990_000, "CR-SAT", 4_200_000, 0.0),
    Destination("979", "International Premium Rate Service", "premium", 979, _MOBILE, 1,
                5_990_000, 5_990_000, "CR-SAT", 4_500_000, 0.0),
)  # fmt: skip

#: Regions whose country codes are in no rate deck and no interconnect agreement, so
#: calls to them cannot be rated: Tuvalu (688) and Tokelau (690).
UNRATEABLE_REGIONS = ("TV", "TK")

TOLL_FREE_CODES = ("800", "888", "877", "866", "855", "844", "833")


def _rate_row(
    deck: str,
    service: str,
    prefix: str,
    name: str,
    group: str,
    band: str,
    connect: int,
    price: int,
    unit: int,
    first: int,
    increment: int,
    bundled: bool,
) -> dict[str, object]:
    return {
        "rate_deck_id": deck,
        "service": service,
        "prefix": prefix,
        "destination_name": name,
        "destination_group": group,
        "time_band": band,
        "connect_fee_micros": connect,
        "price_micros": price,
        "price_unit": unit,
        "first_increment": first,
        "increment": increment,
        "is_in_bundle": bundled,
        "effective_from": CATALOG_EFFECTIVE_FROM,
    }


def _offpeak(price: int) -> int:
    # Evenings and weekends are a fifth cheaper, rounded to a tenth of a cent.
    return round(price * 4 / 5 / 1000) * 1000


def rate_deck_rows() -> list[dict[str, object]]:
    """Retail rate decks: RD-MOBILE (voice, SMS, data) and RD-FIXED (voice).

    Every row exists once per time band so a rater never needs a band wildcard. Domestic
    NANP (prefix ``1``) is in the bundle; international and premium are not; toll-free and
    911 are free. Caribbean NANP codes (``1876``, ``1809``) are international and win over
    ``1`` by longest prefix.
    """
    rows: list[dict[str, object]] = []
    for deck, is_mobile in ((MOBILE_DECK, True), (FIXED_DECK, False)):
        # Pay-as-you-go international is per second after the first minute on mobile and
        # in 6-second steps after 30 s on fixed, as US operators commonly bill them.
        intl_first, intl_step = (60, 1) if is_mobile else (30, 6)
        for band in ("peak", "offpeak"):
            domestic = 100_000 if band == "peak" else 50_000
            rows.append(
                _rate_row(
                    deck,
                    "voice",
                    "1",
                    "United States and Canada",
                    "domestic",
                    band,
                    0,
                    domestic,
                    60,
                    60,
                    60,
                    True,
                )
            )
            for code in TOLL_FREE_CODES:
                rows.append(
                    _rate_row(
                        deck,
                        "voice",
                        "1" + code,
                        f"Toll free {code}",
                        "toll_free",
                        band,
                        0,
                        0,
                        60,
                        60,
                        60,
                        False,
                    )
                )
            rows.append(
                _rate_row(
                    deck,
                    "voice",
                    "911",
                    "Emergency services",
                    "emergency",
                    band,
                    0,
                    0,
                    60,
                    60,
                    60,
                    False,
                )
            )
            for dest in DESTINATIONS:
                price = dest.mobile_retail_micros if is_mobile else dest.fixed_retail_micros
                if dest.group == "premium":
                    # High-cost ranges: a connect fee and whole minutes, never discounted.
                    rows.append(
                        _rate_row(
                            deck,
                            "voice",
                            dest.prefix,
                            dest.name,
                            "premium",
                            band,
                            500_000,
                            price,
                            60,
                            60,
                            60,
                            False,
                        )
                    )
                    continue
                if band == "offpeak":
                    price = _offpeak(price)
                rows.append(
                    _rate_row(
                        deck,
                        "voice",
                        dest.prefix,
                        dest.name,
                        dest.group,
                        band,
                        0,
                        price,
                        60,
                        intl_first,
                        intl_step,
                        False,
                    )
                )
            if not is_mobile:
                continue
            rows.append(
                _rate_row(
                    deck,
                    "sms",
                    "1",
                    "United States and Canada",
                    "domestic",
                    band,
                    0,
                    100_000,
                    1,
                    1,
                    1,
                    True,
                )
            )
            for dest in DESTINATIONS:
                if dest.group == "international":
                    rows.append(
                        _rate_row(
                            deck,
                            "sms",
                            dest.prefix,
                            dest.name,
                            "international",
                            band,
                            0,
                            250_000,
                            1,
                            1,
                            1,
                            False,
                        )
                    )
            # Data overage: $0.01 per MiB (about $10 per GiB), counted in whole KiB.
            rows.append(
                _rate_row(
                    deck, "data", "", "Mobile data", "data", band, 0, 10_000, MiB, 1024, 1024, True
                )
            )
    return rows


#: A catalog error: pricing loaded a row for the Isle of Man's mobile range (+44 7624, more
#: specific than United Kingdom mobile 447) into the mobile deck of the catalog rating runs
#: at price 0, where the price list (rate_deck.csv) has no such row. Calls to the range rate
#: at zero: the zero_rated_usage control's to find (docs/revenue-assurance.md). Normal
#: traffic never dials it (its United Kingdom mobile numbers are +44 74...); the leakage
#: injection does (pipelines/generate/leakage.py).
CATALOG_ERROR_PREFIX = "447624"


def catalog_error_rows() -> list[dict[str, object]]:
    """The wrongly zero-priced rows of the catalog, one per band, with the increments of
    the mobile deck's other international rows (60 s, then per second)."""
    return [
        _rate_row(
            MOBILE_DECK,
            "voice",
            CATALOG_ERROR_PREFIX,
            "Isle of Man mobile",
            "international",
            band,
            0,
            0,
            60,
            60,
            1,
            False,
        )
        for band in ("peak", "offpeak")
    ]


def time_band_rows() -> list[dict[str, object]]:
    """Peak is weekdays 07:00-19:00; everything else, weekends and holidays are off-peak.

    The holiday band outweighs the weekday peak so a holiday on a weekday is off-peak.
    """
    return [
        {
            "time_band": "offpeak",
            "day_type": "weekday",
            "start_time": "00:00",
            "end_time": "24:00",
            "weight": 10,
        },
        {
            "time_band": "peak",
            "day_type": "weekday",
            "start_time": "07:00",
            "end_time": "19:00",
            "weight": 20,
        },
        {
            "time_band": "offpeak",
            "day_type": "weekend",
            "start_time": "00:00",
            "end_time": "24:00",
            "weight": 10,
        },
        {
            "time_band": "offpeak",
            "day_type": "holiday",
            "start_time": "00:00",
            "end_time": "24:00",
            "weight": 30,
        },
    ]


def holiday_rows(years: list[int]) -> list[dict[str, object]]:
    """The operator country's public holidays from the ``holidays`` package, by date."""
    calendar = holidays.country_holidays(OPERATOR_COUNTRY, years=years)
    return [
        {"holiday_date": day.isoformat(), "holiday_name": name, "country": OPERATOR_COUNTRY}
        for day, name in sorted(calendar.items())
    ]


@dataclass(frozen=True)
class Carrier:
    """An interconnect partner and the terms of its agreement (carriers.csv)."""

    carrier_id: str
    carrier_name: str
    country: str
    spid: str  # NPAC service provider id of a US network ("" for the others)
    rounding_method: str  # of each call's amount
    rounding_decimals: int
    dispute_tolerance_micros: int
    dispute_tolerance_bp: int


CARRIERS = (
    # Incumbent local exchange carrier: terminates and transits every NANP number.
    Carrier("CR-LEC", "Lakeshore Bell", "US", "7101", "half_up", 4, 500_000, 100),
    # Another mobile network: cheaper to reach its own numbers than to transit through it.
    Carrier("CR-MOB", "Prairie Wireless", "US", "7202", "up", 4, 500_000, 100),
    # International wholesale.
    Carrier("CR-INTL", "Atlantic Global Voice", "GB", "", "half_up", 4, 1_000_000, 50),
    # Satellite and premium ranges, billed per started minute to the cent.
    Carrier("CR-SAT", "Orbital Premium Networks", "US", "", "up", 2, 250_000, 0),
)
#: Price per minute for calls to the mobile network's own numbers (its blocks and LRN).
MOBILE_ON_NETWORK_MICROS = 5_000
#: International destination whose termination price changes on the 16th of the month,
#: and the new price: decks change mid-month and rating must follow the day.
REPRICED_PREFIX = "63"
REPRICED_MICROS = 130_000
REPRICED_DAY = 16


def carrier_rows() -> list[dict[str, object]]:
    """Interconnect partners and their agreement terms; all settle monthly in USD."""
    return [
        {
            "carrier_id": c.carrier_id,
            "carrier_name": c.carrier_name,
            "country": c.country,
            "spid": c.spid,
            "currency": OPERATOR_CURRENCY,
            "settlement_period": "monthly",
            "rounding_method": c.rounding_method,
            "rounding_decimals": c.rounding_decimals,
            "dispute_tolerance_micros": c.dispute_tolerance_micros,
            "dispute_tolerance_bp": c.dispute_tolerance_bp,
        }
        for c in CARRIERS
    ]


TRUNK_GROUPS = (
    (TRUNK_LEC_OUT, "CR-LEC", "outgoing"),
    (TRUNK_LEC_IN, "CR-LEC", "incoming"),
    (TRUNK_MOBILE, "CR-MOB", "both"),
    (TRUNK_INTERNATIONAL, "CR-INTL", "both"),
    (TRUNK_SATELLITE, "CR-SAT", "outgoing"),
)
#: The other outgoing trunk group a call to a 10-digit national number is retried on when
#: its own is congested: both carriers terminate every NANP number (interconnect prefix
#: 1). 911 and toll-free go to the local exchange only, and each international or premium
#: range has one carrier, so those routes have no alternate.
FAILOVER_TRUNKS = {TRUNK_LEC_OUT: TRUNK_MOBILE, TRUNK_MOBILE: TRUNK_LEC_OUT}
#: The CUCM cluster's SIP trunk device for each trunk group: CUCM names the device, and the
#: parser takes devices named ``SIP...`` as trunks (docs/formats/cisco_cucm_cdr.md).
CUCM_TRUNK_DEVICES = {
    TRUNK_LEC_OUT: "SIP_LEC_OUT",
    TRUNK_LEC_IN: "SIP_LEC_IN",
    TRUNK_MOBILE: "SIP_MOB",
    TRUNK_INTERNATIONAL: "SIP_INTL",
    TRUNK_SATELLITE: "SIP_SAT_OUT",
}


def trunk_group_rows() -> list[dict[str, object]]:
    """Trunk groups and the carrier on the far end of each, as the Asterisk switch names
    them and as the CUCM cluster's trunk devices to the same carriers."""
    return [
        {"trunk_group": trunk, "carrier_id": carrier, "direction": direction}
        for name, carrier, direction in TRUNK_GROUPS
        for trunk in (name, CUCM_TRUNK_DEVICES[name])
    ]


def interconnect_rows(month_start: date, mobile_blocks: Sequence[str]) -> list[dict[str, object]]:
    """The carriers' decks: termination (what they charge us) and origination (what we
    charge them), per minute, by prefix.

    ``mobile_blocks``: the number blocks the mobile network holds (``porting.Porting``),
    where it terminates for less than it charges to transit a call to another network.
    """

    def row(
        carrier: str,
        direction: str,
        prefix: str,
        name: str,
        group: str,
        price: int,
        first: int = 6,
        step: int = 6,
        since: str = CATALOG_EFFECTIVE_FROM,
        until: str = "",
    ) -> dict[str, object]:
        return {
            "carrier_id": carrier,
            "direction": direction,
            "prefix": prefix,
            "destination_name": name,
            "destination_group": group,
            "price_micros": price,
            "first_increment": first,
            "increment": step,
            "effective_from": since,
            "effective_to": until,
        }

    out, into = "termination", "origination"
    rows = [
        row("CR-LEC", out, "1", "United States and Canada", "domestic", 4_000),
        # Toll-free and 911 cost the originating carrier nothing to deliver.
        *(
            row("CR-LEC", out, "1" + code, f"Toll free {code}", "toll_free", 0)
            for code in TOLL_FREE_CODES
        ),
        row("CR-LEC", out, "911", "Emergency services", "emergency", 0),
        row("CR-MOB", out, "1", "United States and Canada (transit)", "domestic_transit", 9_000),
        *(
            row(
                "CR-MOB",
                out,
                block,
                "Prairie Wireless numbers",
                "domestic_mobile",
                MOBILE_ON_NETWORK_MICROS,
            )
            for block in mobile_blocks
        ),
        row("CR-LEC", into, "1", "From United States and Canada", "domestic", 2_500),
        row("CR-MOB", into, "1", "From United States and Canada", "domestic", 3_000),
    ]
    repriced = month_start.replace(day=REPRICED_DAY)
    for dest in DESTINATIONS:
        first, step = (60, 60) if dest.group == "premium" else (1, 1)
        if dest.prefix == REPRICED_PREFIX:
            until = (repriced - timedelta(days=1)).isoformat()
            rows += [
                row(dest.carrier_id, out, dest.prefix, dest.name, dest.group, dest.cost_micros,
                    first, step, until=until),
                row(dest.carrier_id, out, dest.prefix, dest.name, dest.group, REPRICED_MICROS,
                    first, step, since=repriced.isoformat()),
            ]  # fmt: skip
        else:
            rows.append(
                row(dest.carrier_id, out, dest.prefix, dest.name, dest.group, dest.cost_micros,
                    first, step)
            )  # fmt: skip
        if dest.group != "premium":
            rows.append(
                row(dest.carrier_id, into, dest.prefix, f"From {dest.name}", "international",
                    8_000, 1, 1)
            )  # fmt: skip
    return rows


def switch_rows() -> list[dict[str, object]]:
    """The network elements whose files land in data/landing/."""
    return [
        {
            "switch_id": ASTERISK_SWITCH,
            "feed": Feed.ASTERISK_CDR_CSV.value,
            "timezone": OPERATOR_TIMEZONE,
            "description": "Asterisk PBX/softswitch for fixed VoIP lines, Chicago",
        },
        {
            "switch_id": MOBILE_SWITCH,
            "feed": Feed.TS32298_BER.value,
            "timezone": OPERATOR_TIMEZONE,
            "description": "MSC and PGW of the mobile core, Chicago (TS 32.298 CDR files)",
        },
        {
            "switch_id": FREESWITCH_SWITCH,
            "feed": Feed.FREESWITCH_CDR_CSV.value,
            "timezone": OPERATOR_TIMEZONE,
            "description": "FreeSWITCH softswitch for fixed VoIP lines, Chicago (mod_cdr_csv)",
        },
        {
            "switch_id": CUCM_CLUSTER,
            "feed": Feed.CISCO_CUCM_CDR.value,
            "timezone": OPERATOR_TIMEZONE,
            "description": "Cisco Unified CM cluster for business fixed VoIP lines, Chicago",
        },
        {
            "switch_id": OPENSIPS_SWITCH,
            "feed": Feed.OPENSIPS_FLATSTORE.value,
            "timezone": OPERATOR_TIMEZONE,
            "description": "OpenSIPS SBC accounting its lines' outgoing calls, Chicago (acc)",
        },
    ]


def tariff_catalog() -> Catalog:
    """The catalog rating runs (docs/tariff-catalog.md): the price list above, converted,
    with the catalog error's rows (``catalog_error_rows``) the price list does not have.

    Holidays come from the ``holidays`` package for the operator country, so the catalog
    is right in any year, where holidays.csv lists the generated month's year. Roaming
    zones, rates and the EUR exchange rates come from ``roaming.with_retail_roaming``.
    """
    # roaming.py builds on this module's tables, so it is imported when first needed.
    from pipelines.generate.roaming import with_retail_roaming

    def text(rows: list[dict[str, object]]) -> list[dict[str, str]]:
        return [{k: "" if v is None else str(v) for k, v in row.items()} for row in rows]

    converted = catalog_from_price_list(
        text(rate_deck_rows() + catalog_error_rows()),
        text(time_band_rows()),
        [],
        text(plan_rows()),
        CATALOG_LABEL,
    )
    return with_retail_roaming(
        replace(converted, holidays=HolidayCalendar(country=OPERATOR_COUNTRY))
    )


def plan_rows() -> list[dict[str, object]]:
    """The product catalogue, current and retired plans."""
    return [
        {
            "plan_id": plan.plan_id,
            "plan_name": plan.plan_name,
            "service_type": plan.service_type,
            "monthly_fee_micros": plan.monthly_fee_micros,
            "included_voice_seconds": plan.included_voice_seconds,
            "included_sms": plan.included_sms,
            "included_data_bytes": plan.included_data_bytes,
            "rate_deck_id": plan.rate_deck_id,
            "effective_from": CATALOG_EFFECTIVE_FROM,
            "effective_to": plan.effective_to,
        }
        for plan in PLANS
    ]
