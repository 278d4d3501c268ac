{#-
    What roaming partners and the operator owe each other per billing period, direction and
    service (pipelines/roaming): payable is what the partners' accepted TAP files charge for
    our subscribers abroad, receivable what our TAP files charge them for their visitors
    here; in the TAP currency and its USD equivalent (docs/roaming.md).
-#}
with

settlement as (

    select * from {{ ref('stg_lake__roaming_settlement') }}

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
    from settlement

)

select * from final
