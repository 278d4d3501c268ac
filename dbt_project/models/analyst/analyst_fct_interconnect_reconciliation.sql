{{ config(alias='fct_interconnect_reconciliation') }}

{#- No column names a subscriber, a number or a person: every one is kept. -#}
with

interconnect_reconciliation as (

    select * from {{ ref('fct_interconnect_reconciliation') }}

),

final as (

    select
        billing_period,
        carrier_id,
        carrier_name,
        invoice_number,
        destination_code,
        destination_name,
        traffic_date,
        currency,
        our_calls,
        our_billable_seconds,
        our_amount_micros,
        their_calls,
        their_billable_seconds,
        their_amount_micros,
        expected_amount_micros,
        difference_micros,
        difference_class,
        cause,
        paired_traffic_date,
        duplicate_batches,
        duplicate_amount_micros,
        detail
    from interconnect_reconciliation

)

select * from final
