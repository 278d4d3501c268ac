{#-
    file_sequence_gap: one finding per run of missing file sequence numbers
    (rpt_file_sequence_gaps). The usage in a file that never arrived is unknown, so it is
    estimated: the missing files times the average charge of the rated records per
    registered file of the same switch in the billing period of the file that revealed the
    gap (0 when the switch has no rated charge in that period, e.g. it is not rated yet).
-#}
with

sequence_anomalies as (

    select * from {{ ref('rpt_file_sequence_gaps') }}

),

raw_files as (

    select * from {{ ref('stg_lake__raw_files') }}

),

rated_usage_records as (

    select * from {{ ref('stg_lake__rated_usage_records') }}

),

switch_files as (

    select
        feed,
        switch_id,
        strftime(file_date, '%Y-%m') as billing_period,
        count(distinct file_name) as files
    from raw_files
    group by feed, switch_id, strftime(file_date, '%Y-%m')

),

switch_charges as (

    select
        feed,
        switch_id,
        strftime(file_date, '%Y-%m') as billing_period,
        sum(charge_micros) as charge_micros
    from rated_usage_records
    where rating_status = 'rated'
    group by feed, switch_id, strftime(file_date, '%Y-%m')

),

gaps as (

    select
        sequence_anomalies.*,
        strftime(sequence_anomalies.detected_file_date, '%Y-%m') as billing_period
    from sequence_anomalies
    where sequence_anomalies.sequence_anomaly = 'gap'

),

final as (

    select
        gaps.billing_period,
        'file_sequence_gap' as category,
        'file_sequence' as subject_type,
        gaps.switch_id || ':' || gaps.first_sequence_number || '-' || gaps.last_sequence_number
            as subject_id,
        gaps.feed || '/' || gaps.switch_id || '/' || gaps.first_sequence_number as subject_key,
        cast(0 as bigint) as record_count,
        cast(
            round(
                gaps.file_count
                * coalesce(switch_charges.charge_micros, 0)
                / nullif(switch_files.files, 0)
            ) as bigint
        ) as amount_at_risk_micros,
        case
            when coalesce(switch_charges.charge_micros, 0) = 0
                then 'not quantified: no rated charge of the switch in the period to average'
            else 'missing files x average rated charge per file of the switch in the period'
        end as estimation_method,
        json_object(
            'feed', gaps.feed,
            'switch_id', gaps.switch_id,
            'first_sequence_number', gaps.first_sequence_number,
            'last_sequence_number', gaps.last_sequence_number,
            'missing_files', gaps.file_count,
            'file_before', gaps.file_before,
            'file_after', gaps.file_after
        ) as evidence
    from gaps
    left join switch_files
        on
            gaps.feed = switch_files.feed
            and gaps.switch_id = switch_files.switch_id
            and gaps.billing_period = switch_files.billing_period
    left join switch_charges
        on
            gaps.feed = switch_charges.feed
            and gaps.switch_id = switch_charges.switch_id
            and gaps.billing_period = switch_charges.billing_period

)

select * from final
