{{ config(alias='fct_interconnect_disputes') }}

{#- No column names a subscriber, a number or a person: every one is kept. -#}
with

interconnect_disputes as (

    select * from {{ ref('fct_interconnect_disputes') }}

),

final as (

    select
        dispute_id,
        billing_period,
        carrier_id,
        carrier_name,
        invoice_number,
        destination_code,
        destination_name,
        currency,
        difference_class,
        cause,
        traffic_days,
        first_traffic_date,
        last_traffic_date,
        our_amount_micros,
        their_amount_micros,
        disputed_amount_micros,
        tolerance_micros,
        evidence,
        status
    from interconnect_disputes

)

select * from final
