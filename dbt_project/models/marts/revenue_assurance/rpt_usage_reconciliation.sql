{#-
    End-to-end record reconciliation per feed and file date: switch files -> mediation
    (accepted, rejected, duplicate) -> rating (rated, zero-rated, not billable, suspense).
    Rated rows are joined back to their usage row by usage_id, so a rated row counts under
    the feed and file date mediation gave it. A file date straddles billing periods (a
    session that starts after midnight on the 1st sits in the same files as the last calls
    of the month before): accepted records of a period that has not been rated yet are
    records_awaiting_rating. records_unexplained is what neither explains; it must be zero.
-#}
with

raw_files as (

    select * from {{ ref('stg_lake__raw_files') }}

),

usage_records as (

    select * from {{ ref('stg_lake__usage_records') }}

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

rated_periods as (

    select distinct billing_period from rated_usage_records

),

usage_with_period as (

    select
        usage_id,
        feed,
        file_date,
        strftime(timezone('{{ var("operator_timezone") }}', started_at), '%Y-%m')
            as billing_period
    from usage_records

),

awaiting_rating as (

    select
        usage_with_period.feed,
        usage_with_period.file_date,
        count(*) as records_awaiting_rating
    from usage_with_period
    left join rated_usage_records
        on usage_with_period.usage_id = rated_usage_records.usage_id
    left join rated_periods
        on usage_with_period.billing_period = rated_periods.billing_period
    where
        rated_usage_records.usage_id is null
        and rated_periods.billing_period is null
    group by usage_with_period.feed, usage_with_period.file_date

),

rated as (

    select
        usage_records.feed,
        usage_records.file_date,
        count(*) filter (where rated_usage_records.rating_status = 'rated') as records_rated,
        count(*) filter (
            where rated_usage_records.rating_status = 'zero_rated'
        ) as records_zero_rated,
        count(*) filter (
            where rated_usage_records.rating_status = 'not_billable'
        ) as records_not_billable,
        count(*) filter (
            where rated_usage_records.rating_status = 'suspense'
        ) as records_suspense,
        sum(rated_usage_records.charge_micros) filter (
            where rated_usage_records.rating_status = 'rated'
        ) as charge_micros
    from usage_records
    inner join rated_usage_records
        on usage_records.usage_id = rated_usage_records.usage_id
    group by usage_records.feed, usage_records.file_date

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
        cast(coalesce(rated.records_rated, 0) as bigint) as records_rated,
        cast(coalesce(rated.records_zero_rated, 0) as bigint) as records_zero_rated,
        cast(coalesce(rated.records_not_billable, 0) as bigint) as records_not_billable,
        cast(coalesce(rated.records_suspense, 0) as bigint) as records_suspense,
        cast(
            coalesce(awaiting_rating.records_awaiting_rating, 0) as bigint
        ) as records_awaiting_rating,
        cast(
            mediated.records_accepted
            - coalesce(rated.records_rated, 0)
            - coalesce(rated.records_zero_rated, 0)
            - coalesce(rated.records_not_billable, 0)
            - coalesce(rated.records_suspense, 0)
            - coalesce(awaiting_rating.records_awaiting_rating, 0)
            as bigint
        ) as records_unexplained,
        cast(coalesce(rated.charge_micros, 0) as bigint) as charge_micros
    from mediated
    left join rated
        on
            mediated.feed = rated.feed
            and mediated.file_date = rated.file_date
    left join awaiting_rating
        on
            mediated.feed = awaiting_rating.feed
            and mediated.file_date = awaiting_rating.file_date

)

select * from final
