with

source_rows as (

    select * from {{ lake_source('interconnect_legs') }}

),

renamed as (

    select
        usage_id,
        leg_direction,
        usage_id || '/' || leg_direction as leg_id,
        billing_period,
        event_date,
        started_at,
        trunk_group,
        carrier_id,
        served_msisdn,
        other_party_number,
        rated_number,
        ported,
        terminating_spid,
        destination_prefix,
        destination_name,
        destination_group,
        duration_seconds,
        billable_seconds,
        price_micros,
        amount_micros,
        currency,
        rating_status,
        suspense_reason,
        tariff_version
    from source_rows

)

select * from renamed
