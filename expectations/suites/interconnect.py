"""Interconnect: is what we and each carrier owe consistent with the carrier's rate deck?

dbt proves the settlement equals the sum of the rated interconnect legs. This suite compares
the settlement with the reference decks (``interconnect_rates.csv``, ``carriers.csv``): each
carrier is a known one, each destination is in its deck for the direction settled
(termination for what we owe, origination for what we are owed), and the amount lies
between the billable minutes at the lowest and at the highest price the deck ever quoted
for it, give or take the agreement's rounding of each call.
"""

from __future__ import annotations

import great_expectations.expectations as gxe
from great_expectations.expectations import Expectation

from expectations.suites import AuditDomain, AuditFrame, check

SETTLEMENT_SQL = """
with settlement as (
    select *
    from fct_interconnect_settlement
    where $billing_period is null or billing_period = $billing_period
),

deck as (
    select
        carrier_id,
        case direction when 'termination' then 'outbound' else 'inbound' end as leg_direction,
        prefix as destination_prefix,
        min(price_micros::bigint) as deck_min_price_micros,
        max(price_micros::bigint) as deck_max_price_micros,
    from reference_interconnect_rates
    group by all
),

carriers as (
    select
        carrier_id,
        carrier_name as reference_carrier_name,
        -- Each call's amount is rounded to this many micros (agreement's decimals).
        10 ** (6 - rounding_decimals::integer) as rounding_unit_micros,
    from reference_carriers
)

select
    settlement.carrier_id || '/' || settlement.billing_period || '/'
        || settlement.leg_direction || '/'
        || coalesce(settlement.destination_prefix, '(no prefix)') as audit_key,
    settlement.carrier_id,
    settlement.carrier_name,
    carriers.reference_carrier_name,
    settlement.billing_period,
    settlement.leg_direction,
    settlement.destination_prefix,
    settlement.destination_name,
    settlement.calls,
    settlement.billable_seconds,
    settlement.amount_micros,
    deck.deck_min_price_micros,
    deck.deck_max_price_micros,
    -- The billable minutes at the deck's lowest and highest price, give or take the
    -- rounding of each call's amount.
    deck.deck_min_price_micros * settlement.billable_seconds / 60
        - settlement.calls * carriers.rounding_unit_micros as deck_floor_micros,
    deck.deck_max_price_micros * settlement.billable_seconds / 60
        + settlement.calls * carriers.rounding_unit_micros as deck_ceiling_micros,
from settlement
left join carriers
    on settlement.carrier_id = carriers.carrier_id
left join deck
    on
        settlement.carrier_id = deck.carrier_id
        and settlement.leg_direction = deck.leg_direction
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
            "Every settled destination is priced in its carrier's deck of the direction "
            "(interconnect_rates.csv).",
            column="deck_max_price_micros",
        ),
        check(
            gxe.ExpectColumnPairValuesAToBeGreaterThanB,
            "amount_at_least_deck_min",
            "The amount is not below the billable minutes at the deck's lowest price for the "
            "destination, less one rounding unit of the agreement per call.",
            column_A="amount_micros",
            column_B="deck_floor_micros",
            or_equal=True,
            ignore_row_if="either_value_is_missing",
        ),
        check(
            gxe.ExpectColumnPairValuesAToBeGreaterThanB,
            "amount_at_most_deck_max",
            "The amount is not above the billable minutes at the deck's highest price for the "
            "destination, plus one rounding unit of the agreement per call.",
            column_A="deck_ceiling_micros",
            column_B="amount_micros",
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
