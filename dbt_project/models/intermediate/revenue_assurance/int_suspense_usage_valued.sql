{#-
    Usage left in suspense, per billing period, suspense reason and subject (the subscriber,
    or the served number when no subscriber is known). Value at risk is an estimate: the
    volume priced at the rate deck's average peak price of the service's international
    destinations (voice per second, SMS per message), data at the average peak data price
    per byte, rounded to the micro. The rate deck prices every plan, so this is a fair
    typical retail price; the exact one is unknown because rating failed.
-#}
with

rated_usage_records as (

    select * from {{ ref('stg_lake__rated_usage_records') }}

),

rate_deck_entries as (

    select * from {{ ref('stg_reference__rate_deck_entries') }}

),

unit_prices as (

    select
        service,
        avg(cast(price_micros as double) / price_unit) as micros_per_unit
    from rate_deck_entries
    where
        time_band = 'peak'
        and price_unit > 0
        and (
            (service in ('voice', 'sms') and destination_group = 'international')
            or service = 'data'
        )
    group by service

),

suspense_usage as (

    select
        billing_period,
        suspense_reason,
        subscriber_id,
        served_msisdn,
        usage_id,
        service,
        case service
            when 'voice' then duration_seconds
            when 'sms' then 1
            when 'data' then data_volume_bytes
            else 0
        end as priced_units
    from rated_usage_records
    where rating_status = 'suspense'

),

valued as (

    select
        suspense_usage.billing_period,
        suspense_usage.suspense_reason,
        case when suspense_usage.subscriber_id is null then 'msisdn' else 'subscriber' end
            as subject_type,
        coalesce(suspense_usage.subscriber_id, suspense_usage.served_msisdn, 'unknown')
            as subject_id,
        count(*) as record_count,
        sum(
            suspense_usage.priced_units * coalesce(unit_prices.micros_per_unit, 0)
        ) as estimated_micros,
        list(suspense_usage.usage_id order by suspense_usage.usage_id)[1:5] as sample_usage_ids,
        sum(case when suspense_usage.service = 'voice' then suspense_usage.priced_units end)
            as voice_seconds
    from suspense_usage
    left join unit_prices
        on suspense_usage.service = unit_prices.service
    group by
        suspense_usage.billing_period,
        suspense_usage.suspense_reason,
        case when suspense_usage.subscriber_id is null then 'msisdn' else 'subscriber' end,
        coalesce(suspense_usage.subscriber_id, suspense_usage.served_msisdn, 'unknown')

),

final as (

    select
        billing_period,
        'usage_in_suspense' as category,
        subject_type,
        subject_id,
        coalesce(suspense_reason, 'unspecified') || ':' || subject_type || ':' || subject_id
            as subject_key,
        record_count,
        cast(round(estimated_micros) as bigint) as amount_at_risk_micros,
        'volume x average international peak price of the service in the rate deck'
        || ' (data: average peak data price)' as estimation_method,
        json_object(
            'suspense_reason', suspense_reason,
            'voice_seconds', coalesce(voice_seconds, 0),
            'sample_usage_ids', sample_usage_ids
        ) as evidence
    from valued

)

select * from final
