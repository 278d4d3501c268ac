with

source_rows as (

    select * from {{ reference_source('cell_sites') }}

),

renamed as (

    select
        cell_id,
        cast(latitude as double) as latitude,
        cast(longitude as double) as longitude,
        city
    from source_rows

)

select * from renamed
