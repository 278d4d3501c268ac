{#-
    End-to-end reconciliation per billing period, file date and feed: switch files ->
    mediated -> rated -> billed, records, voice seconds and data bytes at each step, with
    every gap named (docs/marts.md, rpt_usage_e2e_reconciliation).

    - Billing period: an accepted record's is the one it is billed in (int_usage_records_traced:
      its session's for a partial); a rejected or duplicate record was never parsed into an
      event, so it counts in its file date's month.
    - Switch records are the records of the raw files: mediated (rows of `usage`) + rejected
      (record-level `rejects` rows) + duplicate (file_registry). Tested against the files'
      records_in per feed and file date.
    - Partial records: each partial counts once as mediated; a session bills once, so the
      partials of complete and incomplete sessions become one rated row (counted under its
      own file date: its first partial's) and the rest are `merged_into_session`.
    - Rated rows split by rating_status; a `rated` row is billed when it is in a usage
      charge of an issued invoice (lake `billed_charge_usage`), awaiting_invoice while its
      period has no invoice, and unexplained otherwise.
    - Seconds are duration_seconds of voice records, bytes data_volume_bytes of data records.
      Rejected and duplicate records have neither: nothing of them was parsed or kept.
-#}
with

raw_files as (

    select * from {{ ref('stg_lake__raw_files') }}

),

rejected_records as (

    select * from {{ ref('stg_lake__rejected_records') }}

),

usage_records as (

    select * from {{ ref('stg_lake__usage_records') }}

),

traced_usage as (

    select * from {{ ref('int_usage_records_traced') }}

),

rated_usage_records as (

    select * from {{ ref('stg_lake__rated_usage_records') }}

),

issued_charge_usage as (

    select * from {{ ref('int_e2e_issued_charge_usage') }}

),

invoices as (

    select * from {{ ref('stg_lake__invoices') }}

),

duplicates as (

    select
        strftime(file_date, '%Y-%m') as billing_period,
        file_date,
        feed,
        sum(records_duplicate) filter (
            where file_status <> 'duplicate_file'
        ) as duplicate_record_records,
        sum(records_duplicate) filter (
            where file_status = 'duplicate_file'
        ) as duplicate_file_records
    from raw_files
    group by all

),

rejects as (

    select
        strftime(file_date, '%Y-%m') as billing_period,
        file_date,
        feed,
        count(*) as rejected_records
    from rejected_records
    -- record_number 0 is a file-level reject (an empty file): no record of it is lost.
    where record_number > 0
    group by all

),

traced_measures as (

    select
        traced_usage.billing_period,
        traced_usage.file_date,
        traced_usage.feed,
        traced_usage.record_outcome,
        case when usage_records.service = 'voice' then usage_records.duration_seconds end
            as voice_seconds,
        case when usage_records.service = 'data' then usage_records.data_volume_bytes end
            as data_bytes
    from traced_usage
    inner join usage_records
        on traced_usage.usage_id = usage_records.usage_id

),

mediated as (

    select
        billing_period,
        file_date,
        feed,
        count(*) as mediated_records,
        coalesce(sum(voice_seconds), 0) as mediated_seconds,
        coalesce(sum(data_bytes), 0) as mediated_bytes,
        count(*) filter (where record_outcome = 'repeated') as repeated_records,
        coalesce(sum(voice_seconds) filter (where record_outcome = 'repeated'), 0)
            as repeated_seconds,
        coalesce(sum(data_bytes) filter (where record_outcome = 'repeated'), 0)
            as repeated_bytes,
        count(*) filter (where record_outcome = 'held') as held_records,
        coalesce(sum(voice_seconds) filter (where record_outcome = 'held'), 0) as held_seconds,
        coalesce(sum(data_bytes) filter (where record_outcome = 'held'), 0) as held_bytes,
        count(*) filter (
            where record_outcome = 'awaiting_correlation'
        ) as awaiting_correlation_records,
        coalesce(
            sum(voice_seconds) filter (where record_outcome = 'awaiting_correlation'), 0
        ) as awaiting_correlation_seconds,
        coalesce(
            sum(data_bytes) filter (where record_outcome = 'awaiting_correlation'), 0
        ) as awaiting_correlation_bytes,
        count(*) filter (where record_outcome = 'awaiting_rating') as awaiting_rating_records,
        coalesce(sum(voice_seconds) filter (where record_outcome = 'awaiting_rating'), 0)
            as awaiting_rating_seconds,
        coalesce(sum(data_bytes) filter (where record_outcome = 'awaiting_rating'), 0)
            as awaiting_rating_bytes,
        count(*) filter (where record_outcome = 'unexplained') as untraced_records,
        count(*) filter (
            where record_outcome in ('rated', 'zero_rated', 'not_billable', 'suspense')
        ) as rating_input_records,
        coalesce(
            sum(voice_seconds) filter (
                where record_outcome in ('rated', 'zero_rated', 'not_billable', 'suspense')
            ),
            0
        ) as rating_input_seconds,
        coalesce(
            sum(data_bytes) filter (
                where record_outcome in ('rated', 'zero_rated', 'not_billable', 'suspense')
            ),
            0
        ) as rating_input_bytes
    from traced_measures
    group by all

),

invoiced_periods as (

    select distinct billing_period from invoices

),

invoiced_usage as (

    select distinct
        billing_period,
        usage_id
    from issued_charge_usage
    where link_source = 'rated_usage'

),

rated_measures as (

    select
        rated_usage_records.billing_period,
        rated_usage_records.file_date,
        rated_usage_records.feed,
        rated_usage_records.rating_status,
        case
            when rated_usage_records.rating_status <> 'rated' then null
            when invoiced_usage.usage_id is not null then 'billed'
            when invoiced_periods.billing_period is null then 'awaiting_invoice'
            else 'not_invoiced'
        end as billing_outcome,
        rated_usage_records.charge_micros,
        case
            when rated_usage_records.service = 'voice'
                then rated_usage_records.duration_seconds
        end as voice_seconds,
        case
            when rated_usage_records.service = 'data'
                then rated_usage_records.data_volume_bytes
        end as data_bytes
    from rated_usage_records
    left join invoiced_usage
        on
            rated_usage_records.billing_period = invoiced_usage.billing_period
            and rated_usage_records.usage_id = invoiced_usage.usage_id
    left join invoiced_periods
        on rated_usage_records.billing_period = invoiced_periods.billing_period

),

rated as (

    select
        billing_period,
        file_date,
        feed,
        count(*) as rated_records,
        coalesce(sum(voice_seconds), 0) as rated_seconds,
        coalesce(sum(data_bytes), 0) as rated_bytes,
        count(*) filter (where rating_status = 'rated') as charged_records,
        coalesce(sum(voice_seconds) filter (where rating_status = 'rated'), 0)
            as charged_seconds,
        coalesce(sum(data_bytes) filter (where rating_status = 'rated'), 0) as charged_bytes,
        count(*) filter (where rating_status = 'zero_rated') as zero_rated_records,
        coalesce(sum(voice_seconds) filter (where rating_status = 'zero_rated'), 0)
            as zero_rated_seconds,
        coalesce(sum(data_bytes) filter (where rating_status = 'zero_rated'), 0)
            as zero_rated_bytes,
        count(*) filter (where rating_status = 'not_billable') as not_billable_records,
        coalesce(sum(voice_seconds) filter (where rating_status = 'not_billable'), 0)
            as not_billable_seconds,
        coalesce(sum(data_bytes) filter (where rating_status = 'not_billable'), 0)
            as not_billable_bytes,
        count(*) filter (where rating_status = 'suspense') as suspense_records,
        coalesce(sum(voice_seconds) filter (where rating_status = 'suspense'), 0)
            as suspense_seconds,
        coalesce(sum(data_bytes) filter (where rating_status = 'suspense'), 0)
            as suspense_bytes,
        count(*) filter (where billing_outcome = 'billed') as billed_records,
        coalesce(sum(voice_seconds) filter (where billing_outcome = 'billed'), 0)
            as billed_seconds,
        coalesce(sum(data_bytes) filter (where billing_outcome = 'billed'), 0) as billed_bytes,
        count(*) filter (where billing_outcome = 'awaiting_invoice') as awaiting_invoice_records,
        coalesce(sum(voice_seconds) filter (where billing_outcome = 'awaiting_invoice'), 0)
            as awaiting_invoice_seconds,
        coalesce(sum(data_bytes) filter (where billing_outcome = 'awaiting_invoice'), 0)
            as awaiting_invoice_bytes,
        count(*) filter (where billing_outcome = 'not_invoiced') as not_invoiced_records,
        coalesce(sum(voice_seconds) filter (where billing_outcome = 'not_invoiced'), 0)
            as not_invoiced_seconds,
        coalesce(sum(data_bytes) filter (where billing_outcome = 'not_invoiced'), 0)
            as not_invoiced_bytes,
        coalesce(sum(charge_micros) filter (where billing_outcome = 'not_invoiced'), 0)
            as not_invoiced_charge_micros
    from rated_measures
    group by all

),

feed_days as (

    select
        billing_period,
        file_date,
        feed
    from duplicates
    union
    select
        billing_period,
        file_date,
        feed
    from rejects
    union
    select
        billing_period,
        file_date,
        feed
    from mediated
    union
    select
        billing_period,
        file_date,
        feed
    from rated

),

joined as (

    select
        feed_days.billing_period,
        feed_days.file_date,
        feed_days.feed,
        coalesce(rejects.rejected_records, 0) as rejected_records,
        coalesce(duplicates.duplicate_record_records, 0) as duplicate_record_records,
        coalesce(duplicates.duplicate_file_records, 0) as duplicate_file_records,
        coalesce(mediated.mediated_records, 0) as mediated_records,
        coalesce(mediated.mediated_seconds, 0) as mediated_seconds,
        coalesce(mediated.mediated_bytes, 0) as mediated_bytes,
        coalesce(mediated.repeated_records, 0) as repeated_records,
        coalesce(mediated.repeated_seconds, 0) as repeated_seconds,
        coalesce(mediated.repeated_bytes, 0) as repeated_bytes,
        coalesce(mediated.held_records, 0) as held_records,
        coalesce(mediated.held_seconds, 0) as held_seconds,
        coalesce(mediated.held_bytes, 0) as held_bytes,
        coalesce(mediated.awaiting_correlation_records, 0) as awaiting_correlation_records,
        coalesce(mediated.awaiting_correlation_seconds, 0) as awaiting_correlation_seconds,
        coalesce(mediated.awaiting_correlation_bytes, 0) as awaiting_correlation_bytes,
        coalesce(mediated.awaiting_rating_records, 0) as awaiting_rating_records,
        coalesce(mediated.awaiting_rating_seconds, 0) as awaiting_rating_seconds,
        coalesce(mediated.awaiting_rating_bytes, 0) as awaiting_rating_bytes,
        coalesce(mediated.untraced_records, 0) as untraced_records,
        coalesce(mediated.rating_input_records, 0) as rating_input_records,
        coalesce(mediated.rating_input_seconds, 0) as rating_input_seconds,
        coalesce(mediated.rating_input_bytes, 0) as rating_input_bytes,
        coalesce(rated.rated_records, 0) as rated_records,
        coalesce(rated.rated_seconds, 0) as rated_seconds,
        coalesce(rated.rated_bytes, 0) as rated_bytes,
        coalesce(rated.charged_records, 0) as charged_records,
        coalesce(rated.charged_seconds, 0) as charged_seconds,
        coalesce(rated.charged_bytes, 0) as charged_bytes,
        coalesce(rated.zero_rated_records, 0) as zero_rated_records,
        coalesce(rated.zero_rated_seconds, 0) as zero_rated_seconds,
        coalesce(rated.zero_rated_bytes, 0) as zero_rated_bytes,
        coalesce(rated.not_billable_records, 0) as not_billable_records,
        coalesce(rated.not_billable_seconds, 0) as not_billable_seconds,
        coalesce(rated.not_billable_bytes, 0) as not_billable_bytes,
        coalesce(rated.suspense_records, 0) as suspense_records,
        coalesce(rated.suspense_seconds, 0) as suspense_seconds,
        coalesce(rated.suspense_bytes, 0) as suspense_bytes,
        coalesce(rated.billed_records, 0) as billed_records,
        coalesce(rated.billed_seconds, 0) as billed_seconds,
        coalesce(rated.billed_bytes, 0) as billed_bytes,
        coalesce(rated.awaiting_invoice_records, 0) as awaiting_invoice_records,
        coalesce(rated.awaiting_invoice_seconds, 0) as awaiting_invoice_seconds,
        coalesce(rated.awaiting_invoice_bytes, 0) as awaiting_invoice_bytes,
        coalesce(rated.not_invoiced_records, 0) as not_invoiced_records,
        coalesce(rated.not_invoiced_seconds, 0) as not_invoiced_seconds,
        coalesce(rated.not_invoiced_bytes, 0) as not_invoiced_bytes,
        coalesce(rated.not_invoiced_charge_micros, 0) as not_invoiced_charge_micros
    from feed_days
    left join duplicates
        on
            feed_days.billing_period = duplicates.billing_period
            and feed_days.file_date = duplicates.file_date
            and feed_days.feed = duplicates.feed
    left join rejects
        on
            feed_days.billing_period = rejects.billing_period
            and feed_days.file_date = rejects.file_date
            and feed_days.feed = rejects.feed
    left join mediated
        on
            feed_days.billing_period = mediated.billing_period
            and feed_days.file_date = mediated.file_date
            and feed_days.feed = mediated.feed
    left join rated
        on
            feed_days.billing_period = rated.billing_period
            and feed_days.file_date = rated.file_date
            and feed_days.feed = rated.feed

),

final as (

    select
        *,
        rejected_records + duplicate_record_records + duplicate_file_records + mediated_records
            as switch_records,
        -- Partials of a session beyond the one rated row that bills it; the seconds and bytes
        -- are what correlation changed (a call's legs collapse into the answered leg's time).
        rating_input_records - rated_records as merged_into_session_records,
        rating_input_seconds - rated_seconds as merged_into_session_seconds,
        rating_input_bytes - rated_bytes as merged_into_session_bytes,
        untraced_records + not_invoiced_records as unexplained_records
    from joined

)

select * from final
