{#-
    Where every accepted usage record went: one row per row of the lake's `usage`, with the
    row that bills it and its record_outcome.

    - A repeat (in `usage_repeats`) is never rated: `repeated`.
    - A standalone record (no session_key) is billed by its own rated row.
    - A partial record (session_key set) is billed by its session's rated row, found through
      the session's partial_usage_ids; partials of a held session are `held`, and a partial
      in no session whose session's billing period (operator-local month of the session
      key's earliest partial) was not consolidated for its feed is `awaiting_correlation`.
    - A record to be billed by a row that is not rated is `awaiting_rating` when its billing
      period has not been rated at all (a file date straddles two periods).
    - Anything else is `unexplained`: a bug or a stage to rerun.
-#}
with

usage_records as (

    select * from {{ ref('stg_lake__usage_records') }}

),

usage_repeats as (

    select * from {{ ref('stg_lake__usage_repeats') }}

),

session_partials as (

    select * from {{ ref('int_session_partials_unnested') }}

),

session_partitions as (

    select * from {{ ref('stg_lake__session_partitions') }}

),

rated_usage_records as (

    select * from {{ ref('stg_lake__rated_usage_records') }}

),

rated_periods as (

    select distinct billing_period from rated_usage_records

),

consolidated_periods as (

    select distinct
        feed,
        billing_period
    from session_partitions

),

correlated_partials as (

    select
        usage_records.usage_id,
        usage_records.switch_id,
        usage_records.session_key,
        usage_records.event_date,
        session_partials.session_usage_id,
        session_partials.correlation_status,
        session_partials.billing_period as session_billing_period
    from usage_records
    left join usage_repeats
        on usage_records.usage_id = usage_repeats.usage_id
    left join session_partials
        on usage_records.usage_id = session_partials.partial_usage_id
    where usage_records.session_key is not null and usage_repeats.usage_id is null

),

session_key_periods as (

    select
        switch_id,
        session_key,
        strftime(min(event_date), '%Y-%m') as billing_period
    from correlated_partials
    group by switch_id, session_key

),

classified as (

    select
        usage_records.usage_id,
        usage_records.feed,
        usage_records.switch_id,
        usage_records.file_id,
        usage_records.file_name,
        usage_records.file_date,
        usage_records.record_number,
        usage_records.event_date,
        usage_records.session_key,
        usage_repeats.usage_id is not null as is_repeat,
        correlated_partials.usage_id is not null as is_partial,
        usage_repeats.repeat_of_usage_id,
        correlated_partials.session_usage_id,
        correlated_partials.correlation_status,
        case
            when usage_repeats.usage_id is not null then usage_repeats.billing_period
            when correlated_partials.usage_id is null
                then strftime(usage_records.event_date, '%Y-%m')
            else
                coalesce(
                    correlated_partials.session_billing_period,
                    session_key_periods.billing_period
                )
        end as billing_period,
        case
            when usage_repeats.usage_id is not null then null
            when correlated_partials.usage_id is null then usage_records.usage_id
            when correlated_partials.correlation_status in ('complete', 'incomplete')
                then correlated_partials.session_usage_id
        end as billed_usage_id
    from usage_records
    left join usage_repeats
        on usage_records.usage_id = usage_repeats.usage_id
    left join correlated_partials
        on usage_records.usage_id = correlated_partials.usage_id
    left join session_key_periods
        on
            correlated_partials.switch_id = session_key_periods.switch_id
            and correlated_partials.session_key = session_key_periods.session_key

),

traced as (

    select
        classified.*,
        case
            when classified.is_repeat then 'repeated'
            when rated_usage_records.usage_id is not null then rated_usage_records.rating_status
            when classified.correlation_status = 'held' then 'held'
            when
                classified.is_partial
                and classified.session_usage_id is null
                and consolidated_periods.billing_period is null
                then 'awaiting_correlation'
            when
                classified.billed_usage_id is not null
                and rated_periods.billing_period is null
                then 'awaiting_rating'
            else 'unexplained'
        end as record_outcome
    from classified
    left join rated_usage_records
        on classified.billed_usage_id = rated_usage_records.usage_id
    left join rated_periods
        on classified.billing_period = rated_periods.billing_period
    left join consolidated_periods
        on
            classified.feed = consolidated_periods.feed
            and classified.billing_period = consolidated_periods.billing_period

)

select * from traced
