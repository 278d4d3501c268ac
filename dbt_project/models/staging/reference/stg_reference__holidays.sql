with

source_rows as (

    select * from {{ reference_source('holidays') }}

),

renamed as (

    select
        cast(holiday_date as date) as holiday_date,
        holiday_name,
        country
    from source_rows

)

select * from renamed
