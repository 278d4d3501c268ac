{#-
    Every recurring fee of the lake priced again from its dates, independently of the bill
    run's Python: days = service_to - service_from + 1 of a service period of
    period_end - period_start + 1 days; charge = fee x days / period days, to the cent half
    away from zero (daily proration, docs/billing.md), negative for a reversal. The data
    test recurring_charges_reprice_exactly expects no difference.
-#}
with

recurring_charges as (

    select * from {{ ref('stg_lake__recurring_charges') }}

),

repriced as (

    select
        billing_period,
        subscriber_id,
        plan_id,
        recurring_kind,
        service_from,
        service_to,
        monthly_fee_micros,
        charge_micros,
        cast(service_to - service_from + 1 as integer) as service_days,
        cast(period_end_date - period_start_date + 1 as integer) as period_days,
        case when recurring_kind = 'reversed' then -1 else 1 end as sign
    from recurring_charges

),

final as (

    select
        billing_period,
        subscriber_id,
        plan_id,
        recurring_kind,
        service_from,
        service_to,
        service_days,
        period_days,
        monthly_fee_micros,
        charge_micros,
        cast(
            sign * (
                (2 * cast(monthly_fee_micros as hugeint) * service_days + period_days * 10000)
                // (2 * period_days * 10000)
            ) * 10000
            as bigint
        ) as repriced_micros
    from repriced

)

select * from final
