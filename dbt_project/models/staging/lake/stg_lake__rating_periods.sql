with

source_rows as (

    select * from {{ lake_source('rating_periods') }}

),

renamed as (

    select
        billing_period,
        period_state,
        rating_version,
        reference_checksums,
        closed_at,
        closed_by,
        close_reason
    from source_rows

)

select * from renamed
