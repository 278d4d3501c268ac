with

source_rows as (

    select * from {{ lake_source('rated_usage') }}

),

renamed as (

    select
        usage_id,
        file_id,
        file_name,
        record_number,
        feed,
        switch_id,
        file_date,
        event_date,
        record_key,
        record_type,
        service,
        direction,
        served_msisdn,
        served_imsi,
        served_imei,
        other_party_number,
        other_party_region,
        other_party_number_type,
        started_at,
        answered_at,
        ended_at,
        duration_seconds,
        uplink_bytes,
        downlink_bytes,
        data_volume_bytes,
        is_answered,
        release_cause,
        outgoing_trunk_group,
        incoming_trunk_group,
        cell_id,
        session_key,
        partial_sequence,
        is_last_partial,
        billing_period,
        subscriber_id,
        account_id,
        plan_id,
        rate_deck_id,
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
    from source_rows

)

select * from renamed
