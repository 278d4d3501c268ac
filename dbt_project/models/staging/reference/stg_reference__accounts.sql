with

source_rows as (

    select * from {{ source('reference', 'accounts') }}

),

renamed as (

    select
        account_id,
        account_name,
        account_class,
        cast(bill_cycle_day as integer) as bill_cycle_day,
        currency,
        service_address_id,
        cast(created_date as date) as created_date
    from source_rows

)

select * from renamed
