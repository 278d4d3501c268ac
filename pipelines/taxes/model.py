"""The tax model: what a tax rule set says, independent of how it is stored or executed.

A rule set is read from YAML + CSV (``rules_files``); the Numba kernel (``kernels.tax_api``,
fed by ``compile``) computes the tax lines of a batch of charges against it, and a slow
reference in the tests computes the same from this model directly. docs/taxes.md is the
user-facing description and states every rule the engines follow.

Units: money is integer micro-units of the rule set's currency; rates and shares are parts
per million (``rate_ppm`` 70_000 = 7%); minutes are micro-minutes (``minutes_micros``);
dates are the charge's date (a bill period's start for recurring charges).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum

PPM = 1_000_000


class JurisdictionLevel(StrEnum):
    FEDERAL = "federal"
    STATE = "state"
    COUNTY = "county"
    CITY = "city"
    DISTRICT = "district"  # special taxing district (911 district, transit district, ...)


class TaxKind(StrEnum):
    """How the bill names the line; filing treats them alike."""

    TAX = "tax"
    SURCHARGE = "surcharge"
    FEE = "fee"


class Method(StrEnum):
    PERCENT = "percent"  # taxable base x rate_ppm
    FIXED = "fixed"  # amount_micros per charge
    PER_MINUTE = "per_minute"  # amount_micros x minutes
    PER_LINE = "per_line"  # amount_micros x lines
    BRACKET = "bracket"  # graduated: each bracket's slice of the base x its rate_ppm
    FIXED_ON_TIER = "fixed_on_tier"  # the amount_micros of the tier the basis falls in


class BaseShare(StrEnum):
    """Which share of the charge a rule taxes, from the charge's interstate share."""

    FULL = "full"
    INTERSTATE = "interstate"  # interstate and international: what FUSF assesses
    INTRASTATE = "intrastate"  # the rest


class TierBasis(StrEnum):
    """What ``fixed_on_tier`` and ``bracket`` tiers are measured in."""

    AMOUNT = "amount"  # the taxable base, micro-units
    LINES = "lines"  # the charge's line count


class Rounding(StrEnum):
    """Rounding of a tax amount to ``decimals``. The first three mirror on negative amounts
    (credits): a credit's tax is the same charge's, negated."""

    HALF_UP = "half_up"  # nearest, halves away from zero
    UP = "up"  # away from zero
    DOWN = "down"  # towards zero
    # Towards minus infinity: down on a charge, up on a credit's refund. For a ceiling on
    # what a bill may recover (FUSF): whatever the mix of charges and credits on a bill,
    # the sum of floors never exceeds the floor of the sum.
    FLOOR = "floor"


class TaxOnTaxMode(StrEnum):
    ORDERED = "ordered"  # one pass in calc_order; a rule may include only earlier rules
    ITERATE = "iterate"  # passes until no amount changes (at most max_iterations)


#: Charge categories (service types) a rule can apply to; docs/taxes.md defines each.
CATEGORIES = (
    "local_voice",
    "interstate_voice",
    "international_voice",
    "wireless_access",
    "wireless_usage",
    "voip_access",
    "voip_line",
    "voip_usage",
    "internet_access",
    "video_service",
    "equipment_sale",
    "equipment_rental",
    "activation",
    "late_fee",
)

#: Customer classes an exemption can name (the CRM's account classes); a charge without one
#: is ``standard``.
CUSTOMER_CLASSES = (
    "standard",
    "consumer",
    "business",
    "lifeline",
    "government",
    "resale",
    "non_profit",
)


@dataclass(frozen=True)
class Jurisdiction:
    jurisdiction_id: str
    level: JurisdictionLevel
    code: str  # state postal code, county/city name or FIPS code, district id
    name: str
    parent_id: str | None


@dataclass(frozen=True)
class TaxArea:
    """An address pattern and the jurisdictions that tax an address matching it.

    Empty pattern fields match anything; of the areas matching an address the one with the
    most non-empty fields wins (two winners are a load error).
    """

    tax_area_id: str
    state: str
    county: str
    city: str
    postal_code: str
    jurisdiction_ids: tuple[str, ...]


@dataclass(frozen=True)
class Tier:
    """A bracket or tier from ``lower`` (inclusive) to the next tier's ``lower``."""

    lower: int  # micro-units or lines, per the rule's tier_basis
    rate_ppm: int  # bracket rate on the slice
    amount_micros: int  # fixed_on_tier amount


@dataclass(frozen=True)
class TaxRule:
    """One version of one tax: valid from ``effective_from`` to ``effective_to`` (exclusive)."""

    tax_id: str
    effective_from: date
    effective_to: date | None
    jurisdiction_id: str
    tax_type: str  # e.g. sales, excise, 911, usf, utility_users, access_line
    tax_name: str
    kind: TaxKind
    categories: frozenset[str]  # empty: every category
    method: Method
    rate_ppm: int
    amount_micros: int
    base_share: BaseShare
    tax_on: tuple[str, ...]  # tax_ids whose amounts on the same charge join the base
    calc_order: int
    exempt_classes: frozenset[str]
    is_billable: bool  # False: compliance-only, the carrier pays it
    rounding: Rounding
    decimals: int  # 0..6: amounts are multiples of 10**(6 - decimals) micro-units
    max_base_micros: int  # 0: no cap on the taxable base
    max_tax_micros: int  # 0: no cap on the tax
    tier_basis: TierBasis
    is_usf: bool  # rate is the FUSF contribution factor of the charge's quarter; capped
    tiers: tuple[Tier, ...] = ()


@dataclass(frozen=True)
class RuleSet:
    name: str
    version: str  # the rule set's label plus a hash of its canonical form
    currency: str
    tax_on_tax: TaxOnTaxMode
    max_iterations: int
    jurisdictions: dict[str, Jurisdiction]
    tax_areas: tuple[TaxArea, ...]
    rules: tuple[TaxRule, ...]
    #: quarter start -> FUSF contribution factor (ppm), e.g. date(2025, 4, 1) -> 366_000
    usf_factors: dict[date, int]
    #: category -> default interstate (and international) share of a charge, ppm
    interstate_shares: dict[str, int] = field(default_factory=dict)
