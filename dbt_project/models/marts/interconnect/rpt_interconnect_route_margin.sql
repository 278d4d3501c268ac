{#-
    Margin per outbound route (carrier x destination) and billing period: what our
    subscribers were charged for the calls minus what the carrier charges us for them.

    The carrier bills every call; our revenue for a call is on the route only when the
    call was charged for. So each call falls in one of three kinds:
    - paid: rated with a usage charge. The margin is taken over these calls.
    - included: rated at no charge because the plan includes it (an allowance, or free
      calling); its revenue is in the plan fee, so only its carrier cost is shown.
    - unbilled: not rated for the customer (suspense, zero-rated or not billable): its
      carrier cost is shown apart, for revenue assurance.
    A route whose paid calls cost more than they earned loses money on every such call
    (is_negative_margin; rpt_interconnect_negative_margin_routes lists them).
-#}
with

legs as (

    select * from {{ ref('stg_lake__interconnect_legs') }}
    where leg_direction = 'outbound' and rating_status = 'rated'

),

retail as (

    select
        usage_id,
        charge_micros,
        case
            when rating_status = 'rated' and charge_micros > 0 then 'paid'
            when rating_status = 'rated' then 'included'
            else 'unbilled'
        end as call_kind
    from {{ ref('fct_rated_usage') }}

),

routes as (

    select
        legs.billing_period,
        legs.carrier_id,
        legs.destination_group,
        legs.destination_name,
        count(*) filter (where retail.call_kind = 'paid') as paid_calls,
        sum(retail.charge_micros) filter (where retail.call_kind = 'paid')
            as retail_revenue_micros,
        sum(legs.amount_micros) filter (where retail.call_kind = 'paid')
            as interconnect_cost_micros,
        count(*) filter (where retail.call_kind = 'included') as included_calls,
        sum(legs.amount_micros) filter (where retail.call_kind = 'included')
            as included_cost_micros,
        count(*) filter (where coalesce(retail.call_kind, 'unbilled') = 'unbilled')
            as unbilled_calls,
        sum(legs.amount_micros) filter (where coalesce(retail.call_kind, 'unbilled') = 'unbilled')
            as unbilled_cost_micros
    from legs
    left join retail
        on legs.usage_id = retail.usage_id
    group by all

),

final as (

    select
        billing_period,
        carrier_id,
        destination_group,
        destination_name,
        cast(paid_calls as bigint) as paid_calls,
        cast(coalesce(retail_revenue_micros, 0) as bigint) as retail_revenue_micros,
        cast(coalesce(interconnect_cost_micros, 0) as bigint) as interconnect_cost_micros,
        cast(
            coalesce(retail_revenue_micros, 0) - coalesce(interconnect_cost_micros, 0) as bigint
        ) as margin_micros,
        coalesce(retail_revenue_micros, 0) < coalesce(interconnect_cost_micros, 0)
            as is_negative_margin,
        cast(included_calls as bigint) as included_calls,
        cast(coalesce(included_cost_micros, 0) as bigint) as included_cost_micros,
        cast(unbilled_calls as bigint) as unbilled_calls,
        cast(coalesce(unbilled_cost_micros, 0) as bigint) as unbilled_cost_micros
    from routes

)

select * from final
