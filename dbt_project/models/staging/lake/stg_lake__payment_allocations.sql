with

source_rows as (

    select * from {{ lake_source('payment_allocations') }}

),

renamed as (

    select
        billing_period,
        payment_id,
        allocation_source,
        invoice_id,
        account_id,
        applied_date,
        allocated_micros
    from source_rows

)

select * from renamed
