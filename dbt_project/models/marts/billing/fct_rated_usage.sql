with

rated_usage_records as (

    select * from {{ ref('stg_lake__rated_usage_records') }}

),

final as (

    select
        usage_id,
        billing_period,
        file_id,
        file_name,
        record_number,
        feed,
        record_type,
        service,
        direction,
        subscriber_id,
        account_id,
        plan_id,
        served_msisdn,
        other_party_number,
        other_party_region,
        other_party_number_type,
        started_at,
        duration_seconds,
        data_volume_bytes,
        destination_prefix,
        destination_name,
        destination_group,
        time_band,
        billable_units,
        allowance_units,
        chargeable_units,
        charge_micros,
        rating_status,
        suspense_reason,
        tariff_version,
        rating_plan_id,
        rate_id,
        catalog_version
    from rated_usage_records

)

select * from final
