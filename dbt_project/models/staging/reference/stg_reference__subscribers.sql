with

source_rows as (

    select * from {{ source('reference', 'subscribers') }}

),

renamed as (

    select
        subscriber_id,
        account_id,
        service_type,
        msisdn,
        imsi,
        plan_id,
        service_address_id,
        cast(activated_date as date) as activated_date,
        cast(cancelled_date as date) as cancelled_date,
        status
    from source_rows

)

select * from renamed
