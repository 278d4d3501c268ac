{#-
    zero_rated_usage: usage priced at zero that should not be. A `rated` or `zero_rated`
    record with chargeable units (nothing drawn from an allowance), charge 0, to a
    destination that is not free (toll_free and emergency calls are zero rated by rule),
    and not in a category priced on aggregate for the line (usage_aggregate_charges: those
    records carry their charge per cycle). One finding per subscriber, destination prefix
    and billing period.

    Amount at risk: the chargeable units at an independent price, the retail rate deck's
    (rate_deck.csv, not the tariff catalog rating used) average positive price per unit of
    the record's service, destination group and time band (peak when the band has none).
-#}
with

rated_usage_records as (

    select * from {{ ref('stg_lake__rated_usage_records') }}

),

rate_deck_entries as (

    select * from {{ ref('stg_reference__rate_deck_entries') }}

),

usage_aggregate_charges as (

    select * from {{ ref('stg_lake__usage_aggregate_charges') }}

),

deck_prices as (

    select
        service,
        destination_group,
        time_band,
        avg(cast(price_micros as double) / price_unit) as micros_per_unit
    from rate_deck_entries
    where price_micros > 0 and price_unit > 0
    group by service, destination_group, time_band

),

aggregate_priced as (

    select distinct
        billing_period,
        subscriber_id,
        service
    from usage_aggregate_charges

),

zero_priced as (

    select rated_usage_records.*
    from rated_usage_records
    left join aggregate_priced
        on
            rated_usage_records.billing_period = aggregate_priced.billing_period
            and rated_usage_records.subscriber_id = aggregate_priced.subscriber_id
            and rated_usage_records.service = aggregate_priced.service
    where
        rated_usage_records.rating_status in ('rated', 'zero_rated')
        and coalesce(rated_usage_records.charge_micros, 0) = 0
        and coalesce(rated_usage_records.allowance_units, 0) = 0
        and greatest(
            coalesce(rated_usage_records.chargeable_units, 0),
            case
                when rated_usage_records.rating_status = 'zero_rated'
                    then coalesce(rated_usage_records.billable_units, 0)
                else 0
            end
        ) > 0
        and coalesce(rated_usage_records.destination_group, '') not in ('toll_free', 'emergency')
        and aggregate_priced.subscriber_id is null

),

valued as (

    select
        zero_priced.billing_period,
        zero_priced.subscriber_id,
        zero_priced.destination_prefix,
        any_value(zero_priced.destination_name) as destination_name,
        any_value(zero_priced.destination_group) as destination_group,
        count(*) as record_count,
        sum(
            greatest(zero_priced.chargeable_units, zero_priced.billable_units)
            * coalesce(band_prices.micros_per_unit, peak_prices.micros_per_unit, 0)
        ) as estimated_micros,
        list(distinct zero_priced.rate_id) as rate_ids,
        list(zero_priced.usage_id order by zero_priced.usage_id)[1:5] as sample_usage_ids
    from zero_priced
    left join deck_prices as band_prices
        on
            zero_priced.service = band_prices.service
            and zero_priced.destination_group = band_prices.destination_group
            and split_part(zero_priced.time_band, '/', 1) = band_prices.time_band
    left join deck_prices as peak_prices
        on
            zero_priced.service = peak_prices.service
            and zero_priced.destination_group = peak_prices.destination_group
            and peak_prices.time_band = 'peak'
    group by zero_priced.billing_period, zero_priced.subscriber_id, zero_priced.destination_prefix

),

final as (

    select
        billing_period,
        'zero_rated_usage' as category,
        'subscriber' as subject_type,
        subscriber_id as subject_id,
        subscriber_id || ':' || coalesce(destination_prefix, '') as subject_key,
        record_count,
        cast(round(estimated_micros) as bigint) as amount_at_risk_micros,
        'chargeable units x the rate deck''s average positive price of the service,'
        || ' destination group and time band' as estimation_method,
        json_object(
            'destination_prefix', destination_prefix,
            'destination_name', destination_name,
            'destination_group', destination_group,
            'rate_ids', rate_ids,
            'sample_usage_ids', sample_usage_ids
        ) as evidence
    from valued

)

select * from final
