with

source_rows as (

    select * from {{ source('reference', 'carriers') }}

),

renamed as (

    select
        carrier_id,
        carrier_name,
        country,
        currency,
        settlement_period
    from source_rows

)

select * from renamed
