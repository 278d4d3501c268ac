with

source_rows as (

    select * from {{ lake_source('retention_purges') }}

),

renamed as (

    select
        purge_id,
        purge_date,
        purged_at,
        as_of_date,
        keep_from_month,
        table_name,
        event_month,
        partition,
        records_before,
        records_purged,
        records_held,
        records_not_due,
        hold_ids
    from source_rows

)

select * from renamed
