with

source_rows as (

    select * from {{ lake_source('roaming_events') }}

),

renamed as (

    select
        billing_period,
        direction,
        tadig,
        file_name,
        file_sequence_number,
        record_number,
        usage_id,
        record_type,
        service,
        served_imsi,
        served_msisdn,
        other_party_number,
        started_at,
        event_date,
        units,
        billed_units,
        charge_micros,
        tax_micros,
        discount_micros,
        tap_currency,
        iot_version,
        is_settled,
        exclusion_reason,
        reject_reason
    from source_rows

)

select * from renamed
