with

source_rows as (

    select * from {{ lake_source('usage_repeats') }}

),

renamed as (

    select
        usage_id,
        repeat_of_usage_id,
        feed,
        switch_id,
        record_key,
        file_name,
        file_date,
        record_number,
        original_file_date,
        event_date,
        billing_period
    from source_rows

)

select * from renamed
