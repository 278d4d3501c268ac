{#-
    End-to-end record reconciliation per feed and file date: switch files -> mediation
    (accepted, rejected, duplicate) -> consolidation (repeated, held, awaiting correlation)
    -> rating (rated, zero-rated, not billable, suspense). Every accepted record counts under
    the feed and file date mediation gave it, with the outcome int_usage_records_traced
    found for it: a partial record takes the rating status of its session's rated row, so
    a session cut into three partials counts three records. A file date straddles billing
    periods, so records of a period not rated yet are records_awaiting_rating.
    records_unexplained is what none of this explains; it must be zero.

    charge_micros sums the rated rows by their own feed and file date (a session's is its
    first partial's), so a session's charge counts once, not once per partial.
-#}
with

raw_files as (

    select * from {{ ref('stg_lake__raw_files') }}

),

traced_usage as (

    select * from {{ ref('int_usage_records_traced') }}

),

rated_usage_records as (

    select * from {{ ref('stg_lake__rated_usage_records') }}

),

mediated as (

    select
        feed,
        file_date,
        count(*) as files,
        count(*) filter (where file_status = 'duplicate_file') as duplicate_files,
        sum(records_in) as records_in,
        sum(records_accepted) as records_accepted,
        sum(records_rejected) as records_rejected,
        sum(records_duplicate) as records_duplicate
    from raw_files
    group by feed, file_date

),

outcomes as (

    select
        feed,
        file_date,
        count(*) filter (where record_outcome = 'rated') as records_rated,
        count(*) filter (where record_outcome = 'zero_rated') as records_zero_rated,
        count(*) filter (where record_outcome = 'not_billable') as records_not_billable,
        count(*) filter (where record_outcome = 'suspense') as records_suspense,
        count(*) filter (where record_outcome = 'awaiting_rating') as records_awaiting_rating,
        count(*) filter (where record_outcome = 'repeated') as records_repeated,
        count(*) filter (where record_outcome = 'held') as records_held,
        count(*) filter (
            where record_outcome = 'awaiting_correlation'
        ) as records_awaiting_correlation,
        count(*) filter (
            where is_partial and correlation_status in ('complete', 'incomplete')
        ) as records_in_sessions
    from traced_usage
    group by feed, file_date

),

charged as (

    select
        feed,
        file_date,
        sum(charge_micros) as charge_micros
    from rated_usage_records
    where rating_status = 'rated'
    group by feed, file_date

),

final as (

    select
        mediated.feed,
        mediated.file_date,
        cast(mediated.files as bigint) as files,
        cast(mediated.duplicate_files as bigint) as duplicate_files,
        cast(mediated.records_in as bigint) as records_in,
        cast(mediated.records_accepted as bigint) as records_accepted,
        cast(mediated.records_rejected as bigint) as records_rejected,
        cast(mediated.records_duplicate as bigint) as records_duplicate,
        cast(coalesce(outcomes.records_rated, 0) as bigint) as records_rated,
        cast(coalesce(outcomes.records_zero_rated, 0) as bigint) as records_zero_rated,
        cast(coalesce(outcomes.records_not_billable, 0) as bigint) as records_not_billable,
        cast(coalesce(outcomes.records_suspense, 0) as bigint) as records_suspense,
        cast(
            coalesce(outcomes.records_awaiting_rating, 0) as bigint
        ) as records_awaiting_rating,
        cast(coalesce(outcomes.records_repeated, 0) as bigint) as records_repeated,
        cast(coalesce(outcomes.records_held, 0) as bigint) as records_held,
        cast(
            coalesce(outcomes.records_awaiting_correlation, 0) as bigint
        ) as records_awaiting_correlation,
        cast(
            mediated.records_accepted
            - coalesce(outcomes.records_rated, 0)
            - coalesce(outcomes.records_zero_rated, 0)
            - coalesce(outcomes.records_not_billable, 0)
            - coalesce(outcomes.records_suspense, 0)
            - coalesce(outcomes.records_awaiting_rating, 0)
            - coalesce(outcomes.records_repeated, 0)
            - coalesce(outcomes.records_held, 0)
            - coalesce(outcomes.records_awaiting_correlation, 0)
            as bigint
        ) as records_unexplained,
        cast(coalesce(outcomes.records_in_sessions, 0) as bigint) as records_in_sessions,
        cast(coalesce(charged.charge_micros, 0) as bigint) as charge_micros
    from mediated
    left join outcomes
        on
            mediated.feed = outcomes.feed
            and mediated.file_date = outcomes.file_date
    left join charged
        on
            mediated.feed = charged.feed
            and mediated.file_date = charged.file_date

)

select * from final
