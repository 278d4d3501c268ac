with

source_rows as (

    select * from {{ source('reference', 'rate_deck') }}

),

renamed as (

    select
        rate_deck_id,
        service,
        coalesce(prefix, '') as destination_prefix,
        destination_name,
        destination_group,
        time_band,
        cast(connect_fee_micros as bigint) as connect_fee_micros,
        cast(price_micros as bigint) as price_micros,
        cast(price_unit as bigint) as price_unit,
        cast(first_increment as bigint) as first_increment_units,
        cast(increment as bigint) as increment_units,
        cast(is_in_bundle as boolean) as is_in_bundle,
        cast(effective_from as date) as effective_from
    from source_rows

)

select * from renamed
