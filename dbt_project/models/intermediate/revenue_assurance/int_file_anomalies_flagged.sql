{#-
    Mediation evidence per raw file: records dropped as duplicates, and records (or whole
    files) rejected. They are evidence for reconciliation, not quantified losses: the value
    of a record that could not be read is unknown, and a duplicate was billed once.
-#}
with

raw_files as (

    select * from {{ ref('stg_lake__raw_files') }}

),

rejected_records as (

    select * from {{ ref('stg_lake__rejected_records') }}

),

reason_counts as (

    select
        feed,
        switch_id,
        file_name,
        file_date,
        reason_code,
        count(*) as rejects
    from rejected_records
    group by feed, switch_id, file_name, file_date, reason_code

),

file_reasons as (

    select
        feed,
        switch_id,
        file_name,
        file_date,
        json_group_object(reason_code, rejects) as reasons
    from reason_counts
    group by feed, switch_id, file_name, file_date

),

duplicate_records as (

    select
        strftime(file_date, '%Y-%m') as billing_period,
        'duplicate_records' as category,
        'file' as subject_type,
        file_name as subject_id,
        feed || '/' || switch_id || '/' || file_name as subject_key,
        records_duplicate as record_count,
        cast(0 as bigint) as amount_at_risk_micros,
        'not quantified' as estimation_method,
        json_object(
            'feed', feed,
            'file_id', file_id,
            'file_status', file_status,
            'duplicate_of_file_id', duplicate_of_file_id,
            'records_in', records_in,
            'records_duplicate', records_duplicate
        ) as evidence
    from raw_files
    where records_duplicate > 0

),

rejected_files as (

    select
        strftime(raw_files.file_date, '%Y-%m') as billing_period,
        'rejected_records' as category,
        'file' as subject_type,
        raw_files.file_name as subject_id,
        raw_files.feed || '/' || raw_files.switch_id || '/' || raw_files.file_name as subject_key,
        raw_files.records_rejected as record_count,
        cast(0 as bigint) as amount_at_risk_micros,
        'not quantified' as estimation_method,
        json_object(
            'feed', raw_files.feed,
            'file_id', raw_files.file_id,
            'file_status', raw_files.file_status,
            'records_in', raw_files.records_in,
            'records_rejected', raw_files.records_rejected,
            'reasons', file_reasons.reasons
        ) as evidence
    from raw_files
    left join file_reasons
        on
            raw_files.feed = file_reasons.feed
            and raw_files.switch_id = file_reasons.switch_id
            and raw_files.file_name = file_reasons.file_name
            and raw_files.file_date = file_reasons.file_date
    where raw_files.records_rejected > 0 or raw_files.file_status in ('empty', 'unreadable')

),

unioned as (

    select * from duplicate_records
    union all
    select * from rejected_files

)

select * from unioned
