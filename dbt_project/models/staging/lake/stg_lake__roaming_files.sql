with

source_rows as (

    select * from {{ lake_source('roaming_files') }}

),

renamed as (

    select
        billing_period,
        direction,
        tadig,
        sender,
        recipient,
        file_name,
        file_path,
        file_id,
        file_sequence_number,
        file_kind,
        file_date,
        file_created_at,
        events,
        total_charge_micros,
        tap_currency,
        tap_decimal_places,
        file_status
    from source_rows

)

select * from renamed
