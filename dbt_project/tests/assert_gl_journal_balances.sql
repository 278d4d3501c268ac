{#-
    Double entry: every journal entry, and so every period, has debits = credits. Rows
    returned are the entries that do not balance.
-#}
with

journal as (

    select * from {{ ref('fct_gl_journal') }}

),

entries as (

    select
        billing_period,
        journal_entry_id,
        sum(debit_micros) as debit_micros,
        sum(credit_micros) as credit_micros
    from journal
    group by billing_period, journal_entry_id

)

select *
from entries
where debit_micros <> credit_micros
