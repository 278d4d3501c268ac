{#-
    irsf_burst: a line placing >= 10 answered outbound calls to premium destinations (rate
    deck group `premium`, or the international premium / satellite ranges 881, 882, 883,
    870 and 979) within a 2-hour window. Windows are fixed 2-hour buckets aligned on even
    UTC hours (time_bucket in UTC), so a burst straddling a bucket edge counts in two halves; a
    sliding window would catch it, at a cost the fixture-scale detector does not need yet.
    score = min(100, 5 x call_count): 10 calls score 50, 20 or more score 100.
-#}
{%- set burst_threshold = 10 -%}
with

rated_usage_records as (

    select * from {{ ref('stg_lake__rated_usage_records') }}

),

premium_calls as (

    select
        billing_period,
        subscriber_id,
        served_msisdn,
        other_party_number,
        destination_name,
        started_at,
        duration_seconds,
        charge_micros,
        time_bucket(interval 2 hour, started_at, 'UTC') as window_start_at
    from rated_usage_records
    where
        service = 'voice'
        and direction = 'outbound'
        and is_answered
        and (
            destination_group = 'premium'
            or regexp_matches(other_party_number, '^(881|882|883|870|979)')
        )

),

bursts as (

    select
        served_msisdn,
        window_start_at,
        min(billing_period) as billing_period,
        any_value(subscriber_id) as subscriber_id,
        count(*) as call_count,
        sum(duration_seconds) as total_seconds,
        sum(charge_micros) as charge_micros,
        string_agg(
            distinct coalesce(destination_name, left(other_party_number, 3)), ', '
            order by coalesce(destination_name, left(other_party_number, 3))
        ) as destinations
    from premium_calls
    group by served_msisdn, window_start_at
    having count(*) >= {{ burst_threshold }}

),

final as (

    select
        md5('irsf_burst|' || served_msisdn || '|' || cast(window_start_at as varchar))
            as alert_id,
        billing_period,
        'irsf_burst' as detector,
        subscriber_id,
        served_msisdn,
        window_start_at,
        window_start_at + interval 2 hour as window_end_at,
        cast(call_count as bigint) as call_count,
        cast(total_seconds as bigint) as total_seconds,
        cast(coalesce(charge_micros, 0) as bigint) as charge_micros,
        destinations,
        cast(least(100, 5 * call_count) as integer) as score
    from bursts

)

select * from final
