{#-
    Wangiri: one calling range (the number less its last `wangiri_range_drop_digits`
    digits) ringing at least `wangiri_min_lines` of our lines in the period with inbound
    calls left unanswered within `wangiri_max_ring_seconds`. Callbacks are our lines'
    outbound calls to the same range. Score: 50 x lines rung / threshold + 10 per
    callback, capped at 100. Amount at risk: the termination cost of the callbacks.
-#}
{%- set fraud = var('fraud') -%}
with

calls as (

    select * from {{ ref('int_fraud_calls_enriched') }}

),

rings as (

    select *
    from calls
    where
        direction = 'inbound'
        and not is_answered
        and elapsed_seconds <= {{ fraud['wangiri_max_ring_seconds'] }}
        and calling_range is not null

),

waves as (

    select
        billing_period,
        calling_range,
        count(*) as rings,
        count(distinct served_msisdn) as lines_rung,
        string_agg(distinct served_msisdn, ',' order by served_msisdn) as line_list,
        min(started_at) as first_ring_at,
        max(ended_at) as last_ring_at,
        list(usage_id order by started_at, usage_id)[1:5] as sample_usage_ids
    from rings
    group by billing_period, calling_range
    having count(distinct served_msisdn) >= {{ fraud['wangiri_min_lines'] }}

),

callbacks as (

    select
        waves.billing_period,
        waves.calling_range,
        count(*) as callbacks,
        string_agg(distinct calls.served_msisdn, ',' order by calls.served_msisdn)
            as callback_lines,
        sum(calls.termination_cost_micros) as termination_cost_micros,
        max(calls.ended_at) as last_callback_at,
        list(calls.usage_id order by calls.started_at, calls.usage_id)[1:5]
            as sample_usage_ids
    from waves
    inner join calls
        on
            waves.billing_period = calls.billing_period
            and waves.calling_range = calls.calling_range
            and calls.direction = 'outbound'
    group by waves.billing_period, waves.calling_range

),

final as (

    select
        waves.billing_period,
        'wangiri' as detector,
        cast(least(
            100,
            round(50.0 * waves.lines_rung / {{ fraud['wangiri_min_lines'] }})
            + 10 * coalesce(callbacks.callbacks, 0)
        ) as integer) as score,
        'calling_range' as subject_type,
        waves.calling_range as subject_id,
        waves.billing_period as alert_window,
        cast(waves.lines_rung as bigint) as lines_affected,
        waves.line_list as affected_lines,
        waves.first_ring_at as first_event_at,
        greatest(waves.last_ring_at, callbacks.last_callback_at) as last_event_at,
        cast(waves.rings + coalesce(callbacks.callbacks, 0) as bigint) as record_count,
        cast(coalesce(callbacks.termination_cost_micros, 0) as bigint)
            as amount_at_risk_micros,
        cast(json_object(
            'calling_range', waves.calling_range,
            'short_unanswered_rings', waves.rings,
            'lines_rung', waves.lines_rung,
            'callbacks', coalesce(callbacks.callbacks, 0),
            'callback_lines', callbacks.callback_lines,
            'sample_usage_ids', waves.sample_usage_ids,
            'sample_callback_usage_ids', callbacks.sample_usage_ids
        ) as varchar) as evidence
    from waves
    left join callbacks
        on
            waves.billing_period = callbacks.billing_period
            and waves.calling_range = callbacks.calling_range

)

select * from final
