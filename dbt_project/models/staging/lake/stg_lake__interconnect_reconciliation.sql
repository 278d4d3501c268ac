with

source_rows as (

    select * from {{ lake_source('interconnect_reconciliation') }}

),

renamed as (

    select
        billing_period,
        carrier_id,
        invoice_number,
        destination_code,
        destination_name,
        traffic_date,
        currency,
        our_calls,
        our_billable_seconds,
        our_amount_micros,
        our_prices_micros,
        their_lines,
        their_calls,
        their_billable_seconds,
        their_amount_micros,
        their_rates_micros,
        duplicate_batches,
        duplicate_amount_micros,
        expected_amount_micros,
        rounding_allowance_micros,
        difference_micros,
        difference_class,
        cause,
        paired_traffic_date,
        detail
    from source_rows

)

select * from renamed
