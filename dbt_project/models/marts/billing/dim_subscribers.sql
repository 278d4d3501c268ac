with

subscribers as (

    select * from {{ ref('stg_reference__subscribers') }}

),

final as (

    select
        subscriber_id,
        account_id,
        service_type,
        msisdn,
        imsi,
        plan_id,
        status,
        activated_date,
        cancelled_date
    from subscribers

)

select * from final
