{{ config(alias='dim_subscribers') }}

with

subscribers as (

    select * from {{ ref('dim_subscribers') }}

),

final as (

    select
        subscriber_id,
        account_id,
        service_type,
        cpni_token(msisdn) as msisdn,
        cpni_token(imsi) as imsi,
        plan_id,
        status,
        activated_date,
        cancelled_date
    from subscribers

)

select * from final
