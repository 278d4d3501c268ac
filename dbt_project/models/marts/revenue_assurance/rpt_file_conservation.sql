{#-
    Record conservation per raw file, recomputed from the lake's rows independently of
    mediation's own check (pipelines/mediation/stage.py, check_conservation): records_in =
    accepted + rejected + duplicate, accepted = the file's rows in `usage`, rejected = its
    record-level rows in `rejects`; is_balanced holds when all three do. records_repeated,
    records_partial and records_held say what consolidation did with the accepted rows.
-#}
with

raw_files as (

    select * from {{ ref('stg_lake__raw_files') }}

),

usage_records as (

    select * from {{ ref('stg_lake__usage_records') }}

),

rejected_records as (

    select * from {{ ref('stg_lake__rejected_records') }}

),

traced_usage as (

    select * from {{ ref('int_usage_records_traced') }}

),

usage_rows as (

    select
        feed,
        switch_id,
        file_date,
        file_name,
        count(*) as usage_rows
    from usage_records
    group by feed, switch_id, file_date, file_name

),

reject_rows as (

    select
        feed,
        switch_id,
        file_date,
        file_name,
        count(*) as reject_rows
    from rejected_records
    where record_number > 0
    group by feed, switch_id, file_date, file_name

),

consolidated as (

    select
        feed,
        switch_id,
        file_date,
        file_name,
        count(*) filter (where is_repeat) as records_repeated,
        count(*) filter (where is_partial) as records_partial,
        count(*) filter (where record_outcome = 'held') as records_held
    from traced_usage
    group by feed, switch_id, file_date, file_name

),

final as (

    select
        raw_files.feed,
        raw_files.switch_id,
        raw_files.file_name,
        raw_files.file_id,
        raw_files.file_date,
        raw_files.file_status,
        raw_files.records_in,
        raw_files.records_accepted,
        raw_files.records_rejected,
        raw_files.records_duplicate,
        raw_files.records_fixed,
        cast(coalesce(consolidated.records_repeated, 0) as bigint) as records_repeated,
        cast(coalesce(consolidated.records_partial, 0) as bigint) as records_partial,
        cast(coalesce(consolidated.records_held, 0) as bigint) as records_held,
        coalesce(
            raw_files.records_in
            = raw_files.records_accepted + raw_files.records_rejected + raw_files.records_duplicate
            and coalesce(usage_rows.usage_rows, 0) = raw_files.records_accepted
            and coalesce(reject_rows.reject_rows, 0) = raw_files.records_rejected,
            false
        ) as is_balanced
    from raw_files
    left join usage_rows
        on
            raw_files.feed = usage_rows.feed
            and raw_files.switch_id = usage_rows.switch_id
            and raw_files.file_date = usage_rows.file_date
            and raw_files.file_name = usage_rows.file_name
    left join reject_rows
        on
            raw_files.feed = reject_rows.feed
            and raw_files.switch_id = reject_rows.switch_id
            and raw_files.file_date = reject_rows.file_date
            and raw_files.file_name = reject_rows.file_name
    left join consolidated
        on
            raw_files.feed = consolidated.feed
            and raw_files.switch_id = consolidated.switch_id
            and raw_files.file_date = consolidated.file_date
            and raw_files.file_name = consolidated.file_name

)

select * from final
