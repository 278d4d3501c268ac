with

source_rows as (

    select * from {{ lake_source('invoice_balances') }}

),

renamed as (

    select
        billing_period,
        invoice_id,
        account_id,
        invoice_date,
        due_date,
        amount_micros,
        paid_micros,
        open_micros,
        paid_date,
        as_of_date
    from source_rows

)

select * from renamed
