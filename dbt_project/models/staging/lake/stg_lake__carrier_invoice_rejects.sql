with

source_rows as (

    select * from {{ lake_source('carrier_invoice_rejects') }}

),

renamed as (

    select
        billing_period,
        carrier_id,
        file_name,
        line_number,
        reason_code,
        reason_detail,
        raw_text
    from source_rows

)

select * from renamed
