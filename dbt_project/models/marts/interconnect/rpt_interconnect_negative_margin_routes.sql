-- The routes whose paid calls cost more to terminate than they earned, worst first.
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
from {{ ref('rpt_interconnect_route_margin') }}
where is_negative_margin
order by margin_micros, billing_period, carrier_id, destination_name
