with

source_rows as (

    select * from {{ lake_source('rejects') }}

),

renamed as (

    select
        file_id,
        file_name,
        feed,
        switch_id,
        file_date,
        record_number,
        reason_code,
        reason_detail,
        raw_text
    from source_rows

)

select * from renamed
