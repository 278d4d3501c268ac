with

source_rows as (

    select * from {{ source('reference', 'usf_factors') }}

),

renamed as (

    select
        quarter as filing_quarter,
        -- The factor as published (e.g. 0.366) to parts per million, exactly: no float.
        cast(cast(contribution_factor as decimal(9, 6)) * 1000000 as bigint) as factor_ppm
    from source_rows
    where contribution_factor is not null

)

select * from renamed
