{#-
    Double entry: every journal entry, and every billing period, has debits = credits, and an
    entry sits in one billing period on one posting date. Rows returned are the entries and
    periods that break it.
-#}
with

journal as (

    select * from {{ ref('fct_gl_journal') }}

),

entries as (

    select
        'entry' as scope,
        journal_entry_id as scope_id,
        sum(debit_micros) as debit_micros,
        sum(credit_micros) as credit_micros,
        count(distinct billing_period) as billing_periods,
        count(distinct posting_date) as posting_dates
    from journal
    group by journal_entry_id

),

periods as (

    select
        'billing_period' as scope,
        billing_period as scope_id,
        sum(debit_micros) as debit_micros,
        sum(credit_micros) as credit_micros,
        1 as billing_periods,
        1 as posting_dates
    from journal
    group by billing_period

),

unioned as (

    select * from entries
    union all
    select * from periods

)

select *
from unioned
where
    debit_micros <> credit_micros
    or billing_periods <> 1
    or posting_dates <> 1
