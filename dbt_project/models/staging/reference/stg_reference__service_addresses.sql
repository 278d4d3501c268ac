with

source_rows as (

    select * from {{ source('reference', 'service_addresses') }}

),

renamed as (

    select
        service_address_id,
        street,
        city,
        county,
        state,
        postal_code,
        country
    from source_rows

)

select * from renamed
