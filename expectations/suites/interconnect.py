"""Interconnect: is what we owe each carrier consistent with the carrier's rate deck?

dbt proves the settlement equals the sum of the rated interconnect legs. This suite compares
the settlement with the reference decks (``interconnect_rates.csv``, ``carriers.csv``): each
carrier is a known one, each destination is in its deck, and the effective cost per billable
minute lies between the lowest and highest price the deck ever quoted for that destination.
"""

from __future__ import annotations

import great_expectations.expectations as gxe
from great_expectations.expectations import Expectation

from expectations.suites import AuditDomain, AuditFrame, check

#: Relative slack on the deck's price range: per-leg costs are rounded to the micro.
DECK_PRICE_TOLERANCE = 0.005

SETTLEMENT_SQL = f"""
with settlement as (
    select *
    from fct_interconnect_settlement
    where $billing_period is null or billing_period = $billing_period
),

deck as (
    select
        carrier_id,
        prefix as destination_prefix,
        min(price_micros::bigint) as deck_min_price_micros,
        max(price_micros::bigint) as deck_max_price_micros,
    from reference_interconnect_rates
    group by carrier_id, prefix
),

carriers as (
    select
        carrier_id,
        carrier_name as reference_carrier_name,
    from reference_carriers
)

select
    settlement.carrier_id || '/' || settlement.billing_period || '/'
        || coalesce(settlement.destination_prefix, '(no prefix)') as audit_key,
    settlement.carrier_id,
    settlement.carrier_name,
    carriers.reference_carrier_name,
    settlement.billing_period,
    settlement.destination_prefix,
    settlement.destination_name,
    settlement.calls,
    settlement.billable_seconds,
    settlement.cost_micros,
    case
        when settlement.billable_seconds > 0
            then settlement.cost_micros * 60.0 / settlement.billable_seconds
    end as cost_per_minute_micros,
    deck.deck_min_price_micros,
    deck.deck_max_price_micros,
    deck.deck_min_price_micros * (1 - {DECK_PRICE_TOLERANCE}) as deck_floor_micros,
    deck.deck_max_price_micros * (1 + {DECK_PRICE_TOLERANCE}) as deck_ceiling_micros,
from settlement
left join carriers
    on settlement.carrier_id = carriers.carrier_id
left join deck
    on
        settlement.carrier_id = deck.carrier_id
        and settlement.destination_prefix = deck.destination_prefix
order by audit_key
"""


def settlement_expectations() -> list[Expectation]:
    return [
        check(
            gxe.ExpectTableRowCountToBeBetween,
            "carriers_settled",
            "The period has an interconnect settlement with at least one carrier.",
            min_value=1,
        ),
        check(
            gxe.ExpectColumnValuesToNotBeNull,
            "carrier_known",
            "Every settled carrier is in the carriers reference (carriers.csv).",
            column="reference_carrier_name",
        ),
        check(
            gxe.ExpectColumnValuesToNotBeNull,
            "destination_in_deck",
            "Every settled destination is priced in its carrier's deck (interconnect_rates.csv).",
            column="deck_max_price_micros",
        ),
        check(
            gxe.ExpectColumnPairValuesAToBeGreaterThanB,
            "cost_per_minute_at_least_deck_min",
            "Cost per billable minute is not below the deck's lowest price for the destination "
            "(0.5% rounding slack).",
            column_A="cost_per_minute_micros",
            column_B="deck_floor_micros",
            or_equal=True,
            ignore_row_if="either_value_is_missing",
        ),
        check(
            gxe.ExpectColumnPairValuesAToBeGreaterThanB,
            "cost_per_minute_at_most_deck_max",
            "Cost per billable minute is not above the deck's highest price for the destination "
            "(0.5% rounding slack).",
            column_A="deck_ceiling_micros",
            column_B="cost_per_minute_micros",
            or_equal=True,
            ignore_row_if="either_value_is_missing",
        ),
    ]


DOMAIN = AuditDomain(
    name="interconnect",
    description="Carrier settlement against the interconnect rate decks.",
    frames=(
        AuditFrame(
            domain="interconnect",
            name="settlement",
            grain="carrier x billing period x destination",
            sql=SETTLEMENT_SQL,
            expectations=settlement_expectations,
        ),
    ),
)
