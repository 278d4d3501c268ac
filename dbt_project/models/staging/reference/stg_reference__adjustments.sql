with

source_rows as (

    select * from {{ reference_source('adjustments') }}

),

-- promotion_id is optional in the file: a file without it reads as naming no promotion.
with_promotion as (

    select * from source_rows
    union all by name
    select cast(null as varchar) as promotion_id
    where false

),

renamed as (

    select
        adjustment_id,
        billing_period,
        account_id,
        subscriber_id,
        adjustment_type,
        cast(amount_micros as bigint) as amount_micros,
        approved_by,
        promotion_id
    from with_promotion

)

select * from renamed
