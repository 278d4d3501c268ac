with

source_rows as (

    select * from {{ lake_source('rating_suspense') }}

),

renamed as (

    select
        usage_id,
        billing_period,
        event_date,
        started_at,
        record_type,
        service,
        served_msisdn,
        other_party_number,
        subscriber_id,
        account_id,
        plan_id,
        suspense_reason,
        suspense_state,
        first_suspended_at,
        last_attempt_at,
        attempts,
        reference_checksum,
        resolved_at,
        resolved_run_id,
        resolved_status,
        resolved_charge_micros
    from source_rows

)

select * from renamed
