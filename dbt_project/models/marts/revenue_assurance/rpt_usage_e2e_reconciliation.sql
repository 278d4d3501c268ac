{#-
    End-to-end reconciliation per billing period, file date and feed: switch files ->
    mediated -> rated -> billed, with the gap at each step by reason
    (int_e2e_feed_days_reconciled) and the files the switch's sequence says never arrived
    (rpt_file_sequence_gaps: their records are unknown, so they are counted as files).
-#}
with

feed_days as (

    select * from {{ ref('int_e2e_feed_days_reconciled') }}

),

sequence_gaps as (

    select * from {{ ref('rpt_file_sequence_gaps') }}

),

missing_files as (

    select
        strftime(detected_file_date, '%Y-%m') as billing_period,
        detected_file_date as file_date,
        feed,
        sum(file_count) as missing_files
    from sequence_gaps
    where sequence_anomaly = 'gap'
    group by all

),

final as (

    select
        feed_days.billing_period,
        feed_days.file_date,
        feed_days.feed,
        cast(coalesce(missing_files.missing_files, 0) as bigint) as missing_files,
        cast(feed_days.switch_records as bigint) as switch_records,
        cast(feed_days.rejected_records as bigint) as rejected_records,
        cast(feed_days.duplicate_record_records as bigint) as duplicate_records,
        cast(feed_days.duplicate_file_records as bigint) as duplicate_file_records,
        cast(feed_days.mediated_records as bigint) as mediated_records,
        cast(feed_days.mediated_seconds as bigint) as mediated_seconds,
        cast(feed_days.mediated_bytes as bigint) as mediated_bytes,
        cast(feed_days.repeated_records as bigint) as repeated_records,
        cast(feed_days.repeated_seconds as bigint) as repeated_seconds,
        cast(feed_days.repeated_bytes as bigint) as repeated_bytes,
        cast(feed_days.held_records as bigint) as held_records,
        cast(feed_days.held_seconds as bigint) as held_seconds,
        cast(feed_days.held_bytes as bigint) as held_bytes,
        cast(feed_days.awaiting_correlation_records as bigint) as awaiting_correlation_records,
        cast(feed_days.awaiting_correlation_seconds as bigint) as awaiting_correlation_seconds,
        cast(feed_days.awaiting_correlation_bytes as bigint) as awaiting_correlation_bytes,
        cast(feed_days.awaiting_rating_records as bigint) as awaiting_rating_records,
        cast(feed_days.awaiting_rating_seconds as bigint) as awaiting_rating_seconds,
        cast(feed_days.awaiting_rating_bytes as bigint) as awaiting_rating_bytes,
        cast(feed_days.merged_into_session_records as bigint) as merged_into_session_records,
        cast(feed_days.merged_into_session_seconds as bigint) as merged_into_session_seconds,
        cast(feed_days.merged_into_session_bytes as bigint) as merged_into_session_bytes,
        cast(feed_days.untraced_records as bigint) as untraced_records,
        cast(feed_days.rated_records as bigint) as rated_records,
        cast(feed_days.rated_seconds as bigint) as rated_seconds,
        cast(feed_days.rated_bytes as bigint) as rated_bytes,
        cast(feed_days.charged_records as bigint) as charged_records,
        cast(feed_days.charged_seconds as bigint) as charged_seconds,
        cast(feed_days.charged_bytes as bigint) as charged_bytes,
        cast(feed_days.zero_rated_records as bigint) as zero_rated_records,
        cast(feed_days.zero_rated_seconds as bigint) as zero_rated_seconds,
        cast(feed_days.zero_rated_bytes as bigint) as zero_rated_bytes,
        cast(feed_days.not_billable_records as bigint) as not_billable_records,
        cast(feed_days.not_billable_seconds as bigint) as not_billable_seconds,
        cast(feed_days.not_billable_bytes as bigint) as not_billable_bytes,
        cast(feed_days.suspense_records as bigint) as suspense_records,
        cast(feed_days.suspense_seconds as bigint) as suspense_seconds,
        cast(feed_days.suspense_bytes as bigint) as suspense_bytes,
        cast(feed_days.billed_records as bigint) as billed_records,
        cast(feed_days.billed_seconds as bigint) as billed_seconds,
        cast(feed_days.billed_bytes as bigint) as billed_bytes,
        cast(feed_days.awaiting_invoice_records as bigint) as awaiting_invoice_records,
        cast(feed_days.awaiting_invoice_seconds as bigint) as awaiting_invoice_seconds,
        cast(feed_days.awaiting_invoice_bytes as bigint) as awaiting_invoice_bytes,
        cast(feed_days.not_invoiced_records as bigint) as not_invoiced_records,
        cast(feed_days.not_invoiced_seconds as bigint) as not_invoiced_seconds,
        cast(feed_days.not_invoiced_bytes as bigint) as not_invoiced_bytes,
        cast(feed_days.unexplained_records as bigint) as unexplained_records,
        feed_days.unexplained_records = 0 as is_explained
    from feed_days
    left join missing_files
        on
            feed_days.billing_period = missing_files.billing_period
            and feed_days.file_date = missing_files.file_date
            and feed_days.feed = missing_files.feed
    -- Every file date has a row for its own month; it is empty when all of its records are
    -- billed in the period before.
    where
        feed_days.switch_records > 0
        or feed_days.rated_records > 0
        or missing_files.missing_files > 0

)

select * from final
