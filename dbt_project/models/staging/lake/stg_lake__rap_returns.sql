with

source_rows as (

    select * from {{ lake_source('rap_returns') }}

),

renamed as (

    select
        billing_period,
        tadig,
        file_name,
        file_id,
        file_date,
        file_sequence_number,
        reason_code,
        reason_detail,
        returned_events,
        returned_charge_micros,
        tap_currency,
        rap_status,
        rap_file_name,
        rap_file_sequence_number,
        rap_created_at
    from source_rows

)

select * from renamed
