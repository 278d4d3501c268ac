with

source_rows as (

    select * from {{ reference_source('crm_orders') }}

),

renamed as (

    select
        order_id,
        account_id,
        subscriber_id,
        order_type,
        plan_id,
        cast(ordered_date as date) as ordered_date,
        cast(nullif(completed_date, '') as date) as completed_date,
        order_status
    from source_rows

)

select * from renamed
