with

source_rows as (

    select * from {{ source('reference', 'hlr_snapshot') }}

),

renamed as (

    select
        imsi,
        msisdn,
        provisioning_status,
        cast(snapshot_date as date) as snapshot_date
    from source_rows

)

select * from renamed
