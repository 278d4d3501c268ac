with

source_rows as (

    select * from {{ lake_source('sessions') }}

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
        correlation_status,
        partials,
        missing_partials,
        partial_usage_ids
    from source_rows

)

select * from renamed
