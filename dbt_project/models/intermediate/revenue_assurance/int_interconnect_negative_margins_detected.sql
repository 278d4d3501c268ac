{#-
    interconnect_negative_margin: routes (carrier and destination) whose paid calls cost
    more to terminate than they earned at retail in the period
    (rpt_interconnect_negative_margin_routes). Amount at risk: the negative margin.
-#}
with

negative_margin_routes as (

    select * from {{ ref('rpt_interconnect_negative_margin_routes') }}

),

final as (

    select
        billing_period,
        'interconnect_negative_margin' as category,
        'route' as subject_type,
        carrier_id || ':' || destination_name as subject_id,
        carrier_id || '|' || destination_group || '|' || destination_name as subject_key,
        paid_calls as record_count,
        -margin_micros as amount_at_risk_micros,
        'interconnect cost less retail revenue of the route''s paid calls' as estimation_method,
        json_object(
            'carrier_id', carrier_id,
            'destination_group', destination_group,
            'destination_name', destination_name,
            'paid_calls', paid_calls,
            'retail_revenue_micros', retail_revenue_micros,
            'interconnect_cost_micros', interconnect_cost_micros
        ) as evidence
    from negative_margin_routes

)

select * from final
