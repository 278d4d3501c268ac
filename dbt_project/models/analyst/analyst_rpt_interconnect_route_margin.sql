{{ config(alias='rpt_interconnect_route_margin') }}

{#- No column names a subscriber, a number or a person: every one is kept. -#}
with

interconnect_route_margin as (

    select * from {{ ref('rpt_interconnect_route_margin') }}

),

final as (

    select
        billing_period,
        carrier_id,
        destination_group,
        destination_name,
        paid_calls,
        retail_revenue_micros,
        interconnect_cost_micros,
        margin_micros,
        is_negative_margin,
        included_calls,
        included_cost_micros,
        unbilled_calls,
        unbilled_cost_micros
    from interconnect_route_margin

)

select * from final
