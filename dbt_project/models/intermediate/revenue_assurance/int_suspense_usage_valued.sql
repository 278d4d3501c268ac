{#-
    Usage left in suspense, per billing period, category, suspense reason and subject (the
    subscriber, or the served number when no subscriber is known). Two categories
    (int_suspense_records_assigned): suspense_aged, usage older than
    var revenue_assurance.suspense_aged_days at the period's close, and usage_in_suspense,
    the younger rest. Suspense of payable roaming events and of terminated lines is their
    own categories' and is not counted here. Value at risk: the records' estimate (the
    volume at the rate deck's average peak price of the service), rounded to the micro.
-#}
with

suspense_records as (

    select * from {{ ref('int_suspense_records_assigned') }}

),

valued as (

    select
        billing_period,
        leakage_category,
        suspense_reason,
        case when subscriber_id is null then 'msisdn' else 'subscriber' end as subject_type,
        coalesce(subscriber_id, served_msisdn, 'unknown') as subject_id,
        count(*) as record_count,
        sum(estimated_micros) as estimated_micros,
        list(usage_id order by usage_id)[1:5] as sample_usage_ids,
        sum(case when service = 'voice' then priced_units end) as voice_seconds,
        max(age_days_at_close) as oldest_age_days
    from suspense_records
    where leakage_category in ('usage_in_suspense', 'suspense_aged')
    group by
        billing_period,
        leakage_category,
        suspense_reason,
        case when subscriber_id is null then 'msisdn' else 'subscriber' end,
        coalesce(subscriber_id, served_msisdn, 'unknown')

),

final as (

    select
        billing_period,
        leakage_category as category,
        subject_type,
        subject_id,
        coalesce(suspense_reason, 'unspecified') || ':' || subject_type || ':' || subject_id
            as subject_key,
        record_count,
        cast(estimated_micros as bigint) as amount_at_risk_micros,
        'volume x average international peak price of the service in the rate deck'
        || ' (data: average peak data price)' as estimation_method,
        json_object(
            'suspense_reason', suspense_reason,
            'voice_seconds', coalesce(voice_seconds, 0),
            'oldest_age_days', oldest_age_days,
            'sample_usage_ids', sample_usage_ids
        ) as evidence
    from valued

)

select * from final
