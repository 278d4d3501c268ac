with

source_rows as (

    select * from {{ source('reference', 'carriers') }}

),

renamed as (

    select
        carrier_id,
        carrier_name,
        country,
        nullif(spid, '') as spid,
        currency,
        settlement_period,
        rounding_method,
        cast(rounding_decimals as integer) as rounding_decimals,
        cast(dispute_tolerance_micros as bigint) as dispute_tolerance_micros,
        cast(dispute_tolerance_bp as integer) as dispute_tolerance_bp
    from source_rows

)

select * from renamed
