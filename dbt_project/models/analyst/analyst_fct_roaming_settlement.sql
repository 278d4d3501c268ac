{{ config(alias='fct_roaming_settlement') }}

{#- No column names a subscriber, a number or a person: every one is kept. -#}
with

roaming_settlement as (

    select * from {{ ref('fct_roaming_settlement') }}

),

final as (

    select
        billing_period,
        tadig,
        partner_name,
        direction,
        service,
        unit,
        files,
        events,
        units,
        charge_micros,
        tap_currency,
        settlement_currency,
        exchange_rate,
        exchange_rate_date,
        usd_equivalent_micros
    from roaming_settlement

)

select * from final
