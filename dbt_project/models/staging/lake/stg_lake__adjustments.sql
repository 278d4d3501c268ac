with

source_rows as (

    select * from {{ lake_source('adjustments') }}

),

renamed as (

    select
        adjustment_id,
        billing_period,
        account_id,
        subscriber_id,
        adjustment_type,
        category,
        amount_micros,
        description,
        approved_by,
        approval_limit_micros,
        adjustment_status,
        hold_reason
    from source_rows

)

select * from renamed
