with

source_rows as (

    select * from {{ lake_source('interconnect_legs') }}

),

renamed as (

    select
        usage_id,
        billing_period,
        started_at,
        served_msisdn,
        other_party_number,
        outgoing_trunk_group,
        carrier_id,
        destination_prefix,
        destination_name,
        duration_seconds,
        billable_seconds,
        cost_micros,
        rating_status,
        suspense_reason,
        tariff_version
    from source_rows

)

select * from renamed
