{{ config(alias='rpt_usage_reconciliation') }}

{#- No column names a subscriber, a number or a person: every one is kept. -#}
with

usage_reconciliation as (

    select * from {{ ref('rpt_usage_reconciliation') }}

),

final as (

    select
        feed,
        file_date,
        files,
        duplicate_files,
        records_in,
        records_accepted,
        records_rejected,
        records_duplicate,
        records_rated,
        records_zero_rated,
        records_not_billable,
        records_suspense,
        records_awaiting_rating,
        records_repeated,
        records_held,
        records_awaiting_correlation,
        records_unexplained,
        records_in_sessions,
        charge_micros
    from usage_reconciliation

)

select * from final
