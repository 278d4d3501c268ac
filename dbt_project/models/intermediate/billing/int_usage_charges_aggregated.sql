{#-
    The usage invoice lines: per billing period, account, subscriber and service, the
    charges of the rated records plus the charges of the usage priced on aggregate
    (graduated, volume or package tiers), whose records carry charge 0 in rated_usage. A full
    outer combination: a group with aggregate charges only still gets its line. An aggregate
    charge's service is its rating category (`<service>@<zone>` abroad): it goes on the line
    of its service. record_count counts rated records only (the line's quantity).
-#}
with

rated_usage_records as (

    select * from {{ ref('stg_lake__rated_usage_records') }}

),

usage_aggregate_charges as (

    select * from {{ ref('stg_lake__usage_aggregate_charges') }}

),

rated_usage as (

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

),

aggregate_priced_usage as (

    select
        billing_period,
        account_id,
        subscriber_id,
        split_part(service, '@', 1) as service,
        sum(charge_micros) as charge_micros
    from usage_aggregate_charges
    group by billing_period, account_id, subscriber_id, split_part(service, '@', 1)

),

combined as (

    select
        coalesce(rated_usage.billing_period, aggregate_priced_usage.billing_period)
            as billing_period,
        coalesce(rated_usage.account_id, aggregate_priced_usage.account_id) as account_id,
        coalesce(rated_usage.subscriber_id, aggregate_priced_usage.subscriber_id)
            as subscriber_id,
        coalesce(rated_usage.service, aggregate_priced_usage.service) as service,
        coalesce(rated_usage.record_count, 0) as record_count,
        coalesce(rated_usage.chargeable_units, 0) as chargeable_units,
        coalesce(rated_usage.charge_micros, 0) as rated_charge_micros,
        coalesce(aggregate_priced_usage.charge_micros, 0) as aggregate_charge_micros
    from rated_usage
    full outer join aggregate_priced_usage
        on
            rated_usage.billing_period = aggregate_priced_usage.billing_period
            and rated_usage.account_id is not distinct from aggregate_priced_usage.account_id
            and rated_usage.subscriber_id is not distinct from aggregate_priced_usage.subscriber_id
            and rated_usage.service = aggregate_priced_usage.service

),

final as (

    select
        billing_period,
        account_id,
        subscriber_id,
        service,
        cast(record_count as bigint) as record_count,
        cast(chargeable_units as bigint) as chargeable_units,
        cast(rated_charge_micros as bigint) as rated_charge_micros,
        cast(aggregate_charge_micros as bigint) as aggregate_charge_micros,
        cast(rated_charge_micros + aggregate_charge_micros as bigint) as charge_micros
    from combined

)

select * from final
