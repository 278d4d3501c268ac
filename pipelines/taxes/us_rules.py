"""The operator's US tax rule set: federal, Illinois (Chicago), Indiana and Wisconsin.

The synthetic operator serves lines in Chicago and Springfield (Sangamon County), Illinois;
Gary (Lake County), Indiana; and Milwaukee, Wisconsin. ``us_ruleset`` builds the taxes,
surcharges and fees those lines bear from 2024-01-01 on, with the real rates and the real
rate changes since; docs/taxes.md, "Example rule set: Illinois, Indiana, Wisconsin", lists
every rule with its statute or source, and what is simplified. docs/examples/tax-rules/ is
this rule set as ``rules_files.write_ruleset`` writes it (a test keeps the two equal).

A rule's ``effective_from`` of 2024-01-01 is the start of the rule set, not the tax's
enactment: a tax in force before then (most of them) is carried from the first day covered.

Customer classes: ``government`` accounts are exempt from the state and local taxes and
fees that fall on the customer, ``resale`` (a carrier buying to resell) from every retail
tax and the FUSF, and ``lifeline`` subscribers pay no FUSF line item; docs/taxes.md,
"Customer classes", gives the grounds and where they simplify.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from pipelines.taxes.model import (
    PPM,
    BaseShare,
    Jurisdiction,
    JurisdictionLevel,
    Method,
    Rounding,
    RuleSet,
    TaxArea,
    TaxKind,
    TaxOnTaxMode,
    TaxRule,
    TierBasis,
)

#: The first day the rule set covers.
COVERAGE_START = date(2024, 1, 1)

#: FCC universal service contribution factors by quarter (Office of Managing Director public
#: notices), ppm; a quarter missing here is NO_USF_FACTOR for a charge dated in it.
USF_FACTORS = {
    # 1Q2024 34.6%: https://anthonyveachlaw.com/communications-law-fcc-technology-news-feb-sep2024
    date(2024, 1, 1): 346_000,
    # 2Q2024 32.8%: https://ruralspectrumscanner.com/fcc-announces-proposed-usf-contribution-factor-for-2q-of-2024
    date(2024, 4, 1): 328_000,
    # 3Q2024 34.4%: http://www.ruralspectrumscanner.com/fcc-announces-proposed-usf-contribution-factor-for-3q-of-2024/
    date(2024, 7, 1): 344_000,
    # 4Q2024 35.8%, DA 24-924: https://e-ratecentral.com/Resources/Newsletters/News-of-the-Week/ArticleID/8204/September-16-2024
    date(2024, 10, 1): 358_000,
    # 1Q2025 36.3%: https://broadbandbreakfast.com/usf-contribution-factor-to-be-36-3-in-january/
    date(2025, 1, 1): 363_000,
    # 2Q2025 36.6%, PN of 2025-03-13: https://broadbandbreakfast.com/fcc-to-increase-universal-service-contribution-factor-to-36-6-percent/
    date(2025, 4, 1): 366_000,
    # 3Q2025 36.0%: https://www.mondaq.com/unitedstates/corporate-and-company-law/1637982/fcc-announces-proposed-36-usf-contribution-factor-for-q3-2025
    date(2025, 7, 1): 360_000,
    # 4Q2025 38.1%, PN of 2025-09-15: https://www.mondaq.com/unitedstates/financial-services/1680090/fcc-sets-new-record-with-usf-contribution-factor-soaring-to-381-for-q4-2025
    date(2025, 10, 1): 381_000,
    # 1Q2026 37.6%, DA 25-1026: https://docs.fcc.gov/public/attachments/DA-25-1026A1.txt
    date(2026, 1, 1): 376_000,
    # 2Q2026 37.0%, DA 26-218: https://digitalliberty.net/usf-contribution-factor-set-at-37-0-for-q2-2026/
    date(2026, 4, 1): 370_000,
}  # fmt: skip

#: Default interstate (and international) share per category, ppm: docs/taxes.md's table.
#: Wireless 37.1% and interconnected VoIP 64.9% are the FCC 06-94 safe harbors.
INTERSTATE_SHARES = {
    "local_voice": 0,
    "interstate_voice": PPM,
    "international_voice": PPM,
    "wireless_access": 371_000,
    "wireless_usage": 371_000,
    "voip_access": 649_000,
    "voip_line": 649_000,
    "voip_usage": 649_000,
    "internet_access": 0,
    "video_service": 0,
    "equipment_sale": 0,
    "equipment_rental": 0,
    "activation": 0,
    "late_fee": 0,
}

# Telecommunications the taxes below reach: voice lines and calls. Internet access is
# absent everywhere (Internet Tax Freedom Act; FUSF does not assess broadband either).
CALLS = ("local_voice", "interstate_voice", "international_voice")
WIRELESS = ("wireless_access", "wireless_usage")
VOIP = ("voip_access", "voip_line", "voip_usage")
VOICE = (*CALLS, *WIRELESS, *VOIP)
#: What a per-line fee counts: a line's monthly service and extra VoIP lines.
LINES = ("wireless_access", "voip_access", "voip_line")
VIDEO = ("video_service",)

# Exempt from the taxes on retail customers: governments and resellers.
RETAIL_EXEMPT = ("government", "resale")

# Computation order: federal, state, county, city, then the per-line fees. No rule includes
# another's tax in its base (docs/taxes.md says why), so the order only orders the lines.
FEDERAL, STATE, COUNTY, CITY, PER_LINE = 10, 20, 30, 40, 50


def us_ruleset(label: str = "us-2026q2", *, usf_through: date | None = None) -> RuleSet:
    """The operator's US rule set, versioned ``label`` (loading the written files adds the
    hash of their content).

    ``usf_through``: also give every quarter after the last published one, up to the one
    holding this date, the last published factor. The synthetic operator bills months our
    facts do not reach yet (no notice for 2026Q3 is in them); a real operator loads each
    quarter's notice instead, and without either the engine refuses with NO_USF_FACTOR.
    """
    return RuleSet(
        name="telcolake-us-il-in-wi",
        version=label,
        currency="USD",
        tax_on_tax=TaxOnTaxMode.ORDERED,
        max_iterations=1,
        jurisdictions={j.jurisdiction_id: j for j in _jurisdictions()},
        tax_areas=_tax_areas(),
        rules=_federal() + _illinois() + _indiana() + _wisconsin(),
        usf_factors=_carried_forward(USF_FACTORS, usf_through),
        interstate_shares=dict(INTERSTATE_SHARES),
    )


def _carried_forward(factors: dict[date, int], through: date | None) -> dict[date, int]:
    carried = dict(factors)
    last = max(factors)
    quarter = _next_quarter(last)
    while through is not None and quarter <= through:
        carried[quarter] = factors[last]
        quarter = _next_quarter(quarter)
    return carried


def _next_quarter(start: date) -> date:
    month = start.month + 3
    return date(start.year + (month > 12), (month - 1) % 12 + 1, 1)


def _jurisdictions() -> tuple[Jurisdiction, ...]:
    state, county, city = JurisdictionLevel.STATE, JurisdictionLevel.COUNTY, JurisdictionLevel.CITY
    return (
        Jurisdiction("US", JurisdictionLevel.FEDERAL, "US", "United States", None),
        Jurisdiction("IL", state, "IL", "Illinois", "US"),
        # The statewide 9-1-1 surcharge is imposed everywhere in Illinois but Chicago, which
        # levies its own (50 ILCS 750/20(a)): the area it covers is a jurisdiction of its own,
        # so Chicago's tax area can leave it out.
        Jurisdiction(
            "IL-911",
            JurisdictionLevel.DISTRICT,
            "IL-911",
            "Illinois statewide 9-1-1 surcharge area (outside Chicago)",
            "IL",
        ),
        Jurisdiction("IL-CHICAGO", city, "1714000", "City of Chicago", "IL"),  # place FIPS
        Jurisdiction("IN", state, "IN", "Indiana", "US"),
        Jurisdiction("WI", state, "WI", "Wisconsin", "US"),
        Jurisdiction("WI-MILWAUKEE-COUNTY", county, "55079", "Milwaukee County", "WI"),
        Jurisdiction("WI-MILWAUKEE-CITY", city, "5553000", "City of Milwaukee", "WI"),
    )


def _tax_areas() -> tuple[TaxArea, ...]:
    """The generator's places, each state's fallback for its other addresses.

    Chicago is matched by city alone: the city lies in Cook and DuPage counties. Springfield
    and Gary levy no telecom tax of their own (their areas equal the state fallback, and are
    where a city or county tax would go); Milwaukee's city and county do.
    """
    return (
        TaxArea("IL", "IL", "", "", "", ("US", "IL", "IL-911")),
        TaxArea("IL-CHICAGO", "IL", "", "Chicago", "", ("US", "IL", "IL-CHICAGO")),
        TaxArea("IL-SPRINGFIELD", "IL", "Sangamon", "Springfield", "", ("US", "IL", "IL-911")),
        TaxArea("IN", "IN", "", "", "", ("US", "IN")),
        TaxArea("IN-GARY", "IN", "Lake", "Gary", "", ("US", "IN")),
        TaxArea("WI", "WI", "", "", "", ("US", "WI")),
        TaxArea(
            "WI-MILWAUKEE-COUNTY", "WI", "Milwaukee", "", "", ("US", "WI", "WI-MILWAUKEE-COUNTY")
        ),
        TaxArea(
            "WI-MILWAUKEE",
            "WI",
            "Milwaukee",
            "Milwaukee",
            "",
            ("US", "WI", "WI-MILWAUKEE-COUNTY", "WI-MILWAUKEE-CITY"),
        ),
    )


def _federal() -> tuple[TaxRule, ...]:
    return (
        # 47 CFR 54.706, 54.709; FCC 06-94 safe harbors. Floor: the bill's line item may not
        # exceed factor x its interstate charges (47 CFR 54.712), which half up could, and
        # neither may it when credits share the bill, which rounding their refunds down
        # (towards zero) could.
        _rule(
            "US-FUSF",
            "US",
            "usf",
            "Federal Universal Service Fund",
            TaxKind.SURCHARGE,
            VOICE,
            Method.PERCENT,
            base_share=BaseShare.INTERSTATE,
            calc_order=FEDERAL,
            exempt=("lifeline", "resale"),
            rounding=Rounding.FLOOR,
            is_usf=True,
        ),
    )


def _illinois() -> tuple[TaxRule, ...]:
    def excise(rate_ppm: int, effective_from: date, effective_to: date | None) -> TaxRule:
        return _rule(
            "IL-TET",
            "IL",
            "excise",
            "Illinois Telecommunications Excise Tax",
            TaxKind.TAX,
            VOICE,
            Method.PERCENT,
            rate_ppm=rate_ppm,
            calc_order=STATE,
            exempt=RETAIL_EXEMPT,
            effective_from=effective_from,
            effective_to=effective_to,
        )

    def amusement(rate_ppm: int, effective_from: date, effective_to: date | None) -> TaxRule:
        return _rule(
            "CHI-AMUSE",
            "IL-CHICAGO",
            "amusement",
            "Chicago amusement tax on paid television",
            TaxKind.TAX,
            VIDEO,
            Method.PERCENT,
            rate_ppm=rate_ppm,
            calc_order=CITY,
            exempt=RETAIL_EXEMPT,
            effective_from=effective_from,
            effective_to=effective_to,
        )

    return (
        # 35 ILCS 630/3 (intrastate) and 630/4 (interstate): 7%, 8.65% from 2025-07-01
        # (P.A. 104-0006; the 1.65 points fund the 9-8-8 Lifeline).
        excise(70_000, COVERAGE_START, date(2025, 7, 1)),
        excise(86_500, date(2025, 7, 1), None),
        # 35 ILCS 635/15: 0.5% of gross charges for telecommunications other than wireless;
        # 635/25(a) has the retailer charge it to the customer, shown on the bill. It is
        # imposed on the retailer, so no government exemption.
        _rule(
            "IL-TIMF",
            "IL",
            "infrastructure_fee",
            "Illinois Telecommunications Infrastructure Maintenance Fee",
            TaxKind.FEE,
            (*CALLS, *VOIP),
            Method.PERCENT,
            rate_ppm=5_000,
            calc_order=STATE,
            exempt=("resale",),
        ),
        # 50 ILCS 750/20(a)(1): $1.50 per network connection from 2018-01-01, outside Chicago.
        _rule(
            "IL-911",
            "IL-911",
            "911",
            "Illinois 9-1-1 surcharge",
            TaxKind.SURCHARGE,
            LINES,
            Method.PER_LINE,
            amount_micros=1_500_000,
            calc_order=PER_LINE,
            exempt=RETAIL_EXEMPT,
        ),
        # Chicago Municipal Code ch. 3-73: 7% of gross charges.
        _rule(
            "CHI-SMTT",
            "IL-CHICAGO",
            "municipal_telecom",
            "Chicago Simplified Telecommunications Tax",
            TaxKind.TAX,
            VOICE,
            Method.PERCENT,
            rate_ppm=70_000,
            calc_order=CITY,
            exempt=RETAIL_EXEMPT,
        ),
        # Chicago Municipal Code ch. 3-64 (wireline, VoIP) and 7-50 (wireless): $5.00 per
        # network connection or wireless number from 2018-01-01 (the cap of 50 ILCS 750/15.3).
        _rule(
            "CHI-911",
            "IL-CHICAGO",
            "911",
            "Chicago Emergency Telephone System Surcharge",
            TaxKind.SURCHARGE,
            LINES,
            Method.PER_LINE,
            amount_micros=5_000_000,
            calc_order=PER_LINE,
            exempt=RETAIL_EXEMPT,
        ),
        # Chicago Municipal Code 4-156-020 on paid television: 9%, 10.25% from 2025-01-01.
        amusement(90_000, COVERAGE_START, date(2025, 1, 1)),
        amusement(102_500, date(2025, 1, 1), None),
    )


def _indiana() -> tuple[TaxRule, ...]:
    return (
        # IC 6-2.5-2-2 (7%); IC 6-2.5-4-6 taxes intrastate telecommunication service only,
        # IC 6-2.5-4-11 cable and satellite television (wholly intrastate by its share).
        _rule(
            "IN-SALES",
            "IN",
            "sales",
            "Indiana sales tax",
            TaxKind.TAX,
            (*VOICE, *VIDEO),
            Method.PERCENT,
            rate_ppm=70_000,
            base_share=BaseShare.INTRASTATE,
            calc_order=STATE,
            exempt=RETAIL_EXEMPT,
        ),
        # IC 36-8-16.7-32: $1 a month per standard user; governments exempt by (d).
        _rule(
            "IN-911",
            "IN",
            "911",
            "Indiana statewide 911 fee",
            TaxKind.FEE,
            LINES,
            Method.PER_LINE,
            amount_micros=1_000_000,
            calc_order=PER_LINE,
            exempt=RETAIL_EXEMPT,
        ),
    )


def _wisconsin() -> tuple[TaxRule, ...]:
    # Wis. Stat. 77.52(2)(a)5 (telecommunications originating or terminating in the state,
    # charged to a service address there) and 12 (cable television); county and city taxes
    # follow the state base.
    taxable = (*VOICE, *VIDEO)
    return (
        _rule(
            "WI-SALES",
            "WI",
            "sales",
            "Wisconsin sales tax",
            TaxKind.TAX,
            taxable,
            Method.PERCENT,
            rate_ppm=50_000,
            calc_order=STATE,
            exempt=RETAIL_EXEMPT,
        ),
        # 2023 Wisconsin Act 12: Milwaukee County 0.5% -> 0.9% from 2024-01-01.
        _rule(
            "WI-MKE-COUNTY-SALES",
            "WI-MILWAUKEE-COUNTY",
            "sales",
            "Milwaukee County sales tax",
            TaxKind.TAX,
            taxable,
            Method.PERCENT,
            rate_ppm=9_000,
            calc_order=COUNTY,
            exempt=RETAIL_EXEMPT,
        ),
        # 2023 Wisconsin Act 12: City of Milwaukee 2% from 2024-01-01.
        _rule(
            "WI-MKE-CITY-SALES",
            "WI-MILWAUKEE-CITY",
            "sales",
            "City of Milwaukee sales tax",
            TaxKind.TAX,
            taxable,
            Method.PERCENT,
            rate_ppm=20_000,
            calc_order=CITY,
            exempt=RETAIL_EXEMPT,
        ),
        # Wis. Stat. 196.025(6) (2009 Wis. Act 28): $0.75 a month per voice connection.
        _rule(
            "WI-PFP",
            "WI",
            "police_fire",
            "Wisconsin police and fire protection fee",
            TaxKind.FEE,
            LINES,
            Method.PER_LINE,
            amount_micros=750_000,
            calc_order=PER_LINE,
            exempt=RETAIL_EXEMPT,
        ),
    )


def _rule(
    tax_id: str,
    jurisdiction_id: str,
    tax_type: str,
    tax_name: str,
    kind: TaxKind,
    categories: Iterable[str],
    method: Method,
    *,
    calc_order: int,
    exempt: Iterable[str],
    rate_ppm: int = 0,
    amount_micros: int = 0,
    base_share: BaseShare = BaseShare.FULL,
    effective_from: date = COVERAGE_START,
    effective_to: date | None = None,
    rounding: Rounding = Rounding.HALF_UP,
    is_usf: bool = False,
) -> TaxRule:
    """A billable rule in cents; every rule of this set is billed to the customer."""
    return TaxRule(
        tax_id=tax_id,
        effective_from=effective_from,
        effective_to=effective_to,
        jurisdiction_id=jurisdiction_id,
        tax_type=tax_type,
        tax_name=tax_name,
        kind=kind,
        categories=frozenset(categories),
        method=method,
        rate_ppm=rate_ppm,
        amount_micros=amount_micros,
        base_share=base_share,
        tax_on=(),
        calc_order=calc_order,
        exempt_classes=frozenset(exempt),
        is_billable=True,
        rounding=rounding,
        decimals=2,
        max_base_micros=0,
        max_tax_micros=0,
        tier_basis=TierBasis.AMOUNT,
        is_usf=is_usf,
    )
