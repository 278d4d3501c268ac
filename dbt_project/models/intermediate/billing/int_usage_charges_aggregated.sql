with

rated_usage_records as (

    select * from {{ ref('stg_lake__rated_usage_records') }}

),

billed_usage as (

    select
        billing_period,
        account_id,
        subscriber_id,
        service,
        count(*) as record_count,
        sum(chargeable_units) as chargeable_units,
        sum(charge_micros) as charge_micros
    from rated_usage_records
    where rating_status = 'rated'
    group by billing_period, account_id, subscriber_id, service

)

select * from billed_usage
