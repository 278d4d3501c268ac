with

source_rows as (

    select * from {{ lake_source('cpni_access_log') }}

),

renamed as (

    select
        access_id,
        access_date,
        accessed_at,
        accessed_by,
        command,
        arguments,
        reason,
        rows_returned,
        key_id
    from source_rows

)

select * from renamed
