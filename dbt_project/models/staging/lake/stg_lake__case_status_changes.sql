with

source_rows as (

    select * from {{ lake_source('case_status_changes') }}

),

renamed as (

    select
        change_id,
        case_id,
        case_kind,
        billing_period,
        change_seq,
        from_status,
        to_status,
        changed_at,
        change_month,
        changed_by,
        note,
        recovered_micros
    from source_rows

)

select * from renamed
