with

source_rows as (

    select * from {{ lake_source('carrier_invoice_lines') }}

),

renamed as (

    select
        billing_period,
        carrier_id,
        file_name,
        line_number,
        record_type,
        invoice_number,
        invoice_date,
        currency,
        traffic_date,
        destination_code,
        destination_name,
        batch_id,
        calls,
        minutes,
        billable_seconds,
        rate,
        rate_micros,
        amount,
        amount_micros,
        amount_decimals,
        finding,
        finding_detail
    from source_rows

)

select * from renamed
