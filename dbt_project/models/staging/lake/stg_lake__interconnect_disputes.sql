with

source_rows as (

    select * from {{ lake_source('interconnect_disputes') }}

),

renamed as (

    select
        dispute_id,
        carrier_id,
        billing_period,
        invoice_number,
        destination_code,
        destination_name,
        currency,
        difference_class,
        cause,
        traffic_dates,
        our_amount_micros,
        their_amount_micros,
        disputed_amount_micros,
        tolerance_micros,
        evidence,
        status
    from source_rows

)

select * from renamed
