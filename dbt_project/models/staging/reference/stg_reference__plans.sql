with

source_rows as (

    select * from {{ source('reference', 'plans') }}

),

renamed as (

    select
        plan_id,
        plan_name,
        service_type,
        cast(monthly_fee_micros as bigint) as monthly_fee_micros,
        cast(included_voice_seconds as bigint) as included_voice_seconds,
        cast(included_sms as bigint) as included_sms,
        cast(included_data_bytes as bigint) as included_data_bytes,
        rate_deck_id,
        cast(effective_from as date) as effective_from,
        cast(effective_to as date) as effective_to
    from source_rows

)

select * from renamed
