{#-
    IRSF: a line placing at least `irsf_min_calls` answered outbound calls to premium
    ranges (rate deck group premium, a premium number type, or a premium / non-geographic
    prefix) on one operator-local date. Score: 50 x calls / threshold, halved for daytime
    calls (x (0.5 + 0.5 x off-hours share)), capped at 100. Amount at risk: the carriers'
    termination cost of the burst.
-#}
{%- set fraud = var('fraud') -%}
with

calls as (

    select * from {{ ref('int_fraud_calls_enriched') }}

),

premium_calls as (

    select *
    from calls
    where direction = 'outbound' and is_answered and is_premium_range

),

bursts as (

    select
        billing_period,
        served_msisdn,
        local_date,
        count(*) as record_count,
        count(*) filter (where is_off_hours) as off_hours_calls,
        sum(duration_seconds) as talk_seconds,
        sum(coalesce(charge_micros, 0)) as retail_charge_micros,
        sum(termination_cost_micros) as termination_cost_micros,
        min(started_at) as first_event_at,
        max(ended_at) as last_event_at,
        list(distinct coalesce(destination_prefix, left(other_party_number, 3))) as ranges,
        list(usage_id order by started_at, usage_id)[1:5] as sample_usage_ids
    from premium_calls
    group by billing_period, served_msisdn, local_date
    having count(*) >= {{ fraud['irsf_min_calls'] }}

),

final as (

    select
        billing_period,
        'irsf' as detector,
        cast(least(
            100,
            round(
                50.0 * record_count / {{ fraud['irsf_min_calls'] }}
                * (0.5 + 0.5 * off_hours_calls / record_count)
            )
        ) as integer) as score,
        'line' as subject_type,
        served_msisdn as subject_id,
        cast(local_date as varchar) as alert_window,
        cast(1 as bigint) as lines_affected,
        served_msisdn as affected_lines,
        first_event_at,
        last_event_at,
        cast(record_count as bigint) as record_count,
        cast(termination_cost_micros as bigint) as amount_at_risk_micros,
        cast(json_object(
            'local_date', local_date,
            'answered_premium_calls', record_count,
            'off_hours_calls', off_hours_calls,
            'talk_seconds', talk_seconds,
            'ranges', list_sort(ranges),
            'retail_charge_micros', retail_charge_micros,
            'sample_usage_ids', sample_usage_ids
        ) as varchar) as evidence
    from bursts

)

select * from final
