with

source_rows as (

    select * from {{ lake_source('file_registry') }}

),

renamed as (

    select
        file_id,
        file_name,
        feed,
        switch_id,
        file_date,
        file_sequence_number,
        file_bytes,
        file_status,
        duplicate_of_file_id,
        records_in,
        records_accepted,
        records_rejected,
        records_duplicate,
        records_fixed
    from source_rows

)

select * from renamed
