{#-
    SIM cloning: one of our IMSIs seen in two places it cannot be in. A violation is two
    consecutive records of the IMSI at cell sites at least `sim_cloning_min_distance_km`
    apart with a travel speed between them above `sim_cloning_max_speed_kmh` (the time
    between their starts, at least a minute), or two voice calls of the IMSI that overlap
    in time from different handsets (IMEIs). An IMSI with at least
    `sim_cloning_min_violations` in the period alerts. Score: 50 x violations / threshold,
    capped at 100. Amount at risk: the termination cost of the IMSI's outbound calls from
    a handset other than its usual one (its most frequent IMEI): the clone's calls.
-#}
{%- set fraud = var('fraud') -%}
with

rated_usage_records as (

    select * from {{ ref('stg_lake__rated_usage_records') }}

),

cell_sites as (

    select * from {{ ref('stg_reference__cell_sites') }}

),

calls as (

    select * from {{ ref('int_fraud_calls_enriched') }}

),

located as (

    select
        rated_usage_records.billing_period,
        rated_usage_records.served_imsi,
        rated_usage_records.served_msisdn,
        rated_usage_records.usage_id,
        rated_usage_records.started_at,
        rated_usage_records.ended_at,
        cell_sites.latitude,
        cell_sites.longitude,
        cell_sites.city
    from rated_usage_records
    inner join cell_sites on rated_usage_records.cell_id = cell_sites.cell_id
    where
        rated_usage_records.served_imsi is not null
        and rated_usage_records.subscriber_id is not null

),

consecutive as (

    select
        *,
        lag(usage_id) over by_imsi as previous_usage_id,
        lag(started_at) over by_imsi as previous_started_at,
        lag(latitude) over by_imsi as previous_latitude,
        lag(longitude) over by_imsi as previous_longitude,
        lag(city) over by_imsi as previous_city
    from located
    window by_imsi as (
        partition by billing_period, served_imsi order by started_at, usage_id
    )

),

travel as (

    select
        *,
        2 * 6371 * asin(sqrt(
            pow(sin(radians(latitude - previous_latitude) / 2), 2)
            + cos(radians(previous_latitude)) * cos(radians(latitude))
            * pow(sin(radians(longitude - previous_longitude) / 2), 2)
        )) as distance_km,
        greatest(60, epoch(started_at) - epoch(previous_started_at)) as gap_seconds
    from consecutive
    where previous_usage_id is not null

),

impossible_travel as (

    select
        billing_period,
        served_imsi,
        any_value(served_msisdn) as served_msisdn,
        previous_usage_id as first_usage_id,
        usage_id as second_usage_id,
        previous_started_at as first_event_at,
        started_at as last_event_at,
        previous_city || ' -> ' || city as route
    from travel
    where
        distance_km >= {{ fraud['sim_cloning_min_distance_km'] }}
        and distance_km / (gap_seconds / 3600.0) > {{ fraud['sim_cloning_max_speed_kmh'] }}
    group by all

),

voice_calls as (

    select *
    from calls
    where served_imsi is not null and subscriber_id is not null

),

two_handset_overlaps as (

    select
        first_call.billing_period,
        first_call.served_imsi,
        first_call.served_msisdn,
        first_call.usage_id as first_usage_id,
        second_call.usage_id as second_usage_id,
        first_call.started_at as first_event_at,
        greatest(first_call.ended_at, second_call.ended_at) as last_event_at,
        'overlapping calls' as route
    from voice_calls as first_call
    inner join voice_calls as second_call
        on
            first_call.served_imsi = second_call.served_imsi
            and first_call.billing_period = second_call.billing_period
            and first_call.usage_id < second_call.usage_id
            and first_call.served_imei != second_call.served_imei
            and first_call.started_at < second_call.ended_at
            and first_call.ended_at > second_call.started_at

),

violations as (

    select * from impossible_travel
    union
    select * from two_handset_overlaps

),

usual_handsets as (

    select
        billing_period,
        served_imsi,
        mode(served_imei) as usual_imei
    from voice_calls
    group by billing_period, served_imsi

),

other_handset_costs as (

    select
        voice_calls.billing_period,
        voice_calls.served_imsi,
        sum(voice_calls.termination_cost_micros) as termination_cost_micros,
        string_agg(distinct voice_calls.served_imei, ',') as other_imeis
    from voice_calls
    inner join usual_handsets
        on
            voice_calls.billing_period = usual_handsets.billing_period
            and voice_calls.served_imsi = usual_handsets.served_imsi
    where
        voice_calls.served_imei != usual_handsets.usual_imei
        and voice_calls.direction = 'outbound'
    group by voice_calls.billing_period, voice_calls.served_imsi

),

clones as (

    select
        billing_period,
        served_imsi,
        any_value(served_msisdn) as served_msisdn,
        count(*) as violation_count,
        count(*) filter (where route != 'overlapping calls') as travel_violations,
        count(*) filter (where route = 'overlapping calls') as overlap_violations,
        list(distinct route) as routes,
        min(first_event_at) as first_event_at,
        max(last_event_at) as last_event_at,
        list_distinct(flatten(list([first_usage_id, second_usage_id]))) as usage_ids
    from violations
    group by billing_period, served_imsi
    having count(*) >= {{ fraud['sim_cloning_min_violations'] }}

),

final as (

    select
        clones.billing_period,
        'sim_cloning' as detector,
        cast(least(
            100, round(50.0 * clones.violation_count / {{ fraud['sim_cloning_min_violations'] }})
        ) as integer) as score,
        'imsi' as subject_type,
        clones.served_imsi as subject_id,
        clones.billing_period as alert_window,
        cast(1 as bigint) as lines_affected,
        clones.served_msisdn as affected_lines,
        clones.first_event_at,
        clones.last_event_at,
        cast(len(clones.usage_ids) as bigint) as record_count,
        cast(coalesce(other_handset_costs.termination_cost_micros, 0) as bigint)
            as amount_at_risk_micros,
        cast(json_object(
            'violations', clones.violation_count,
            'impossible_travel', clones.travel_violations,
            'overlapping_calls_other_handset', clones.overlap_violations,
            'routes', list_sort(clones.routes),
            'other_imeis', other_handset_costs.other_imeis,
            'sample_usage_ids', list_sort(clones.usage_ids)[1:6]
        ) as varchar) as evidence
    from clones
    left join other_handset_costs
        on
            clones.billing_period = other_handset_costs.billing_period
            and clones.served_imsi = other_handset_costs.served_imsi

)

select * from final
