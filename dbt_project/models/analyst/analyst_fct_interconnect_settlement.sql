{{ config(alias='fct_interconnect_settlement') }}

{#- No column names a subscriber, a number or a person: every one is kept. -#}
with

interconnect_settlement as (

    select * from {{ ref('fct_interconnect_settlement') }}

),

final as (

    select
        carrier_id,
        carrier_name,
        billing_period,
        leg_direction,
        settlement_side,
        destination_group,
        destination_prefix,
        destination_name,
        currency,
        calls,
        ported_calls,
        duration_seconds,
        billable_seconds,
        billable_minutes,
        amount_micros
    from interconnect_settlement

)

select * from final
