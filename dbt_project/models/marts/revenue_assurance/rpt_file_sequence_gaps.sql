{#-
    File sequence control per switch: every switch numbers the files it closes, so a
    missing number is a file that never arrived (usage never billed) and a number seen on
    two different files is a switch restart or a re-sent file under an old number. One
    row per gap (a run of missing numbers) or per repeated number, over every file in the
    registry. Duplicate files (same bytes under a new number) are in the sequence as
    delivered; they are flagged by mediation, not here.
-#}
with

raw_files as (

    select * from {{ ref('stg_lake__raw_files') }}

),

numbered_files as (

    select
        feed,
        switch_id,
        file_sequence_number,
        file_name,
        file_date
    from raw_files
    where file_sequence_number is not null

),

sequenced as (

    select
        feed,
        switch_id,
        file_sequence_number,
        file_name,
        file_date,
        lead(file_sequence_number) over switch_order as next_sequence_number,
        lead(file_name) over switch_order as next_file_name,
        lead(file_date) over switch_order as next_file_date
    from numbered_files
    window switch_order as (
        partition by feed, switch_id
        order by file_sequence_number, file_name
    )

),

gaps as (

    select
        feed,
        switch_id,
        'gap' as sequence_anomaly,
        file_sequence_number + 1 as first_sequence_number,
        next_sequence_number - 1 as last_sequence_number,
        next_sequence_number - file_sequence_number - 1 as file_count,
        file_name as file_before,
        next_file_name as file_after,
        next_file_date as detected_file_date
    from sequenced
    where next_sequence_number > file_sequence_number + 1

),

repeats as (

    select
        feed,
        switch_id,
        'repeat' as sequence_anomaly,
        file_sequence_number as first_sequence_number,
        file_sequence_number as last_sequence_number,
        count(*) as file_count,
        min(file_name) as file_before,
        max(file_name) as file_after,
        max(file_date) as detected_file_date
    from numbered_files
    group by feed, switch_id, file_sequence_number
    having count(*) > 1

),

anomalies as (

    select * from gaps
    union all
    select * from repeats

),

final as (

    select
        md5(
            feed || '/' || switch_id || '/' || sequence_anomaly || '/'
            || cast(first_sequence_number as varchar)
        ) as sequence_anomaly_id,
        feed,
        switch_id,
        sequence_anomaly,
        cast(first_sequence_number as bigint) as first_sequence_number,
        cast(last_sequence_number as bigint) as last_sequence_number,
        cast(file_count as bigint) as file_count,
        file_before,
        file_after,
        detected_file_date
    from anomalies

)

select * from final
