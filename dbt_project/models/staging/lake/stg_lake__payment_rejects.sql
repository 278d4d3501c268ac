with

source_rows as (

    select * from {{ lake_source('payment_rejects') }}

),

renamed as (

    select
        billing_period,
        payment_id,
        account_id,
        received_date,
        amount_micros,
        method,
        invoice_id,
        reject_reason
    from source_rows

)

select * from renamed
