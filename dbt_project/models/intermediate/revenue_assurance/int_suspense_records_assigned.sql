{#-
    Every suspense record of the rated usage, valued and assigned to exactly one leakage
    category, so that no money is counted twice across findings:

    1. roaming_not_passed_on: the record of a payable TAP event (our subscriber abroad),
    2. terminated_line_usage: usage of a number whose line was cancelled on or before the
       event's day (and no line in service held it that day),
    3. suspense_aged: usage older than var revenue_assurance.suspense_aged_days at the
       close of its billing period (its last day),
    4. usage_in_suspense: the rest (young suspense).

    Value: the volume priced at the rate deck's average peak price of the service's
    international destinations (voice per second, SMS per message), data at the average
    peak data price per byte: a typical retail price, as rating failed to give the exact one.
-#}
with

rated_usage_records as (

    select * from {{ ref('stg_lake__rated_usage_records') }}

),

rate_deck_entries as (

    select * from {{ ref('stg_reference__rate_deck_entries') }}

),

roaming_events as (

    select * from {{ ref('stg_lake__roaming_events') }}

),

terminated_line_records as (

    select * from {{ ref('int_terminated_line_records_matched') }}

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

payable_roaming_usage as (

    select distinct usage_id
    from roaming_events
    where direction = 'payable' and usage_id is not null

),

suspense_records as (

    select
        billing_period,
        suspense_reason,
        subscriber_id,
        served_msisdn,
        served_imsi,
        usage_id,
        service,
        event_date,
        case service
            when 'voice' then duration_seconds
            when 'sms' then 1
            when 'data' then data_volume_bytes
            else 0
        end as priced_units
    from rated_usage_records
    where rating_status = 'suspense'

),

assigned as (

    select
        suspense_records.*,
        cast(
            round(suspense_records.priced_units * coalesce(unit_prices.micros_per_unit, 0))
            as bigint
        ) as estimated_micros,
        date_diff(
            'day',
            suspense_records.event_date,
            last_day(cast(suspense_records.billing_period || '-01' as date))
        ) as age_days_at_close,
        case
            when payable_roaming_usage.usage_id is not null then 'roaming_not_passed_on'
            when terminated_line_records.usage_id is not null then 'terminated_line_usage'
            when
                date_diff(
                    'day',
                    suspense_records.event_date,
                    last_day(cast(suspense_records.billing_period || '-01' as date))
                ) > {{ var('revenue_assurance')['suspense_aged_days'] }}
                then 'suspense_aged'
            else 'usage_in_suspense'
        end as leakage_category
    from suspense_records
    left join unit_prices
        on suspense_records.service = unit_prices.service
    left join payable_roaming_usage
        on suspense_records.usage_id = payable_roaming_usage.usage_id
    left join terminated_line_records
        on suspense_records.usage_id = terminated_line_records.usage_id

)

select * from assigned
