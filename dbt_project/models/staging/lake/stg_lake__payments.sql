with

source_rows as (

    select * from {{ lake_source('payments') }}

),

renamed as (

    select
        billing_period,
        payment_id,
        account_id,
        received_date,
        amount_micros,
        method,
        invoice_id
    from source_rows

)

select * from renamed
