{#-
    The ledger ties to what was billed and received, per billing period and kind. Each kind
    compares the journal with an independent source:

    | kind | journal | expected |
    |---|---|---|
    | receivables_billed | 1200 debits of invoice entries | fct_invoices.total |
    | service_revenue | 4100-4199 credits of invoice entries | fct_invoices.recurring less the advance |
    | deferred_revenue | 2400 credits of invoice entries | lake recurring charges of kind `advance` |
    | deferred_revenue_released | 2400 debits of release entries | the same advance |
    | usage_revenue | 4200-4299 of invoice entries | fct_invoices.usage |
    | one_time_revenue | 4500 of invoice entries | fct_invoices.one_time |
    | late_fee_income | 4800 of invoice entries | fct_invoices.late_fee |
    | device_installments_billed | 1300 credits of invoice entries | fct_invoices.equipment |
    | credits | 4900 of invoice entries (contra revenue, negative) | fct_invoices.credit |
    | taxes_billed | 2300 and 2310 of invoice entries | fct_invoices.tax |
    | notes_receivable | 1200 debits of credit and debit note entries | fct_invoices.corrections |
    | note_charges | 4900 of note entries | lake credit_notes charges_delta |
    | note_taxes | 2300 and 2310 of note entries | lake credit_notes tax_delta |
    | devices_sold | 4600 of device sale entries | lake device_receivables financed_recognised |
    | payments_received | 1200 credits of payment entries | lake payments, each once, in the period first recording it |
    | receivables_balance | 1200 balance in the period | opening balances brought forward, invoice totals and notes, less payments |

    fct_invoices sums its kinds from the lake's recurring and billed charges and tax lines,
    the journal from fct_invoice_lines; the advance is the recurring engine's own kind, the
    journal's split a date rule. Rows returned are the (period, kind) that do not tie.
-#}
with

journal as (

    select * from {{ ref('fct_gl_journal') }}

),

invoices as (

    select * from {{ ref('fct_invoices') }}

),

recurring_charges as (

    select * from {{ ref('int_issued_recurring_charges') }}

),

credit_notes as (

    select * from {{ ref('stg_lake__credit_notes') }}

),

device_receivables as (

    select * from {{ ref('stg_lake__device_receivables') }}

),

payments as (

    select * from {{ ref('stg_lake__payments') }}

),

opening_balances as (

    -- The opening balances from the previous system: the receivables settled in the lake
    -- that no bill run issued (lake invoices and credit notes are the others).
    select
        min(billing_period) as billing_period,
        invoice_id,
        any_value(amount_micros) as amount_micros
    from {{ ref('stg_lake__invoice_balances') }}
    where
        invoice_id not in (select invoices.invoice_id from invoices)
        and invoice_id not in (select credit_notes.note_id from credit_notes)
    group by invoice_id

),

opening_by_period as (

    select
        billing_period,
        sum(amount_micros) as amount_micros
    from opening_balances
    group by billing_period

),

journal_kinds as (

    select
        billing_period,
        case
            when entry_type = 'invoice' and gl_account_code = '1200' then 'receivables_billed'
            when
                entry_type = 'invoice' and gl_account_code between '4100' and '4199'
                then 'service_revenue'
            when entry_type = 'invoice' and gl_account_code = '2400' then 'deferred_revenue'
            when
                entry_type = 'deferred_revenue_release' and gl_account_code = '2400'
                then 'deferred_revenue_released'
            when
                entry_type = 'invoice' and gl_account_code between '4200' and '4299'
                then 'usage_revenue'
            when entry_type = 'invoice' and gl_account_code = '4500' then 'one_time_revenue'
            when entry_type = 'invoice' and gl_account_code = '4800' then 'late_fee_income'
            when
                entry_type = 'invoice' and gl_account_code = '1300'
                then 'device_installments_billed'
            when entry_type = 'invoice' and gl_account_code = '4900' then 'credits'
            when
                entry_type = 'invoice' and gl_account_code in ('2300', '2310')
                then 'taxes_billed'
            when
                entry_type = 'correction_note' and gl_account_code = '1200'
                then 'notes_receivable'
            when
                entry_type = 'correction_note' and gl_account_code = '4900'
                then 'note_charges'
            when
                entry_type = 'correction_note' and gl_account_code in ('2300', '2310')
                then 'note_taxes'
            when entry_type = 'device_sale' and gl_account_code = '4600' then 'devices_sold'
            when entry_type = 'payment' and gl_account_code = '1200' then 'payments_received'
        end as kind,
        case
            when gl_account_code = '1200' and entry_type in ('invoice', 'correction_note')
                then debit_micros - credit_micros
            when gl_account_code = '2400' and entry_type = 'deferred_revenue_release'
                then debit_micros - credit_micros
            else credit_micros - debit_micros
        end as amount_micros
    from journal

),

ledger as (

    select
        billing_period,
        kind,
        sum(amount_micros) as amount_micros
    from journal_kinds
    where kind is not null
    group by billing_period, kind
    union all
    select
        billing_period,
        'receivables_balance' as kind,
        sum(debit_micros - credit_micros) as amount_micros
    from journal
    where gl_account_code = '1200'
    group by billing_period

),

advance_billed as (

    select
        billing_period,
        sum(charge_micros) as advance_micros
    from recurring_charges
    where recurring_kind = 'advance'
    group by billing_period

),

billed as (

    select
        invoices.billing_period,
        sum(invoices.total_micros) as total_micros,
        sum(invoices.recurring_micros) as recurring_micros,
        sum(invoices.usage_micros) as usage_micros,
        sum(invoices.one_time_micros) as one_time_micros,
        sum(invoices.late_fee_micros) as late_fee_micros,
        sum(invoices.equipment_micros) as equipment_micros,
        sum(invoices.credit_micros) as credit_micros,
        sum(invoices.tax_micros) as tax_micros,
        sum(invoices.corrections_micros) as corrections_micros
    from invoices
    group by invoices.billing_period

),

notes_issued as (

    select
        billing_period,
        sum(charges_delta_micros) as charges_delta_micros,
        sum(tax_delta_micros) as tax_delta_micros
    from credit_notes
    group by billing_period

),

devices_recognised as (

    select
        billing_period,
        sum(financed_recognised_micros) as financed_micros
    from device_receivables
    group by billing_period

),

payments_by_id as (

    select
        payment_id,
        min(billing_period) as billing_period,
        any_value(amount_micros) as amount_micros
    from payments
    group by payment_id

),

payments_recorded as (

    select
        billing_period,
        sum(amount_micros) as amount_micros
    from payments_by_id
    group by billing_period

),

billing_periods as (

    select billing_period from billed
    union
    select billing_period from advance_billed
    union
    select billing_period from notes_issued
    union
    select billing_period from devices_recognised
    union
    select billing_period from payments_recorded
    union
    select billing_period from opening_by_period

),

expected_by_period as (

    select
        billing_periods.billing_period,
        coalesce(billed.total_micros, 0) as receivables_billed,
        coalesce(billed.recurring_micros, 0) - coalesce(advance_billed.advance_micros, 0)
            as service_revenue,
        coalesce(advance_billed.advance_micros, 0) as deferred_revenue,
        coalesce(advance_billed.advance_micros, 0) as deferred_revenue_released,
        coalesce(billed.usage_micros, 0) as usage_revenue,
        coalesce(billed.one_time_micros, 0) as one_time_revenue,
        coalesce(billed.late_fee_micros, 0) as late_fee_income,
        coalesce(billed.equipment_micros, 0) as device_installments_billed,
        coalesce(billed.credit_micros, 0) as credits,
        coalesce(billed.tax_micros, 0) as taxes_billed,
        coalesce(billed.corrections_micros, 0) as notes_receivable,
        coalesce(notes_issued.charges_delta_micros, 0) as note_charges,
        coalesce(notes_issued.tax_delta_micros, 0) as note_taxes,
        coalesce(devices_recognised.financed_micros, 0) as devices_sold,
        coalesce(payments_recorded.amount_micros, 0) as payments_received,
        coalesce(opening_by_period.amount_micros, 0)
        + coalesce(billed.total_micros, 0)
        + coalesce(billed.corrections_micros, 0)
        - coalesce(payments_recorded.amount_micros, 0) as receivables_balance
    from billing_periods
    left join billed
        on billing_periods.billing_period = billed.billing_period
    left join advance_billed
        on billing_periods.billing_period = advance_billed.billing_period
    left join notes_issued
        on billing_periods.billing_period = notes_issued.billing_period
    left join devices_recognised
        on billing_periods.billing_period = devices_recognised.billing_period
    left join payments_recorded
        on billing_periods.billing_period = payments_recorded.billing_period
    left join opening_by_period
        on billing_periods.billing_period = opening_by_period.billing_period

),

expected as (

    unpivot expected_by_period
    on columns(* exclude (billing_period))
    into name kind value amount_micros

),

compared as (

    select
        coalesce(ledger.billing_period, expected.billing_period) as billing_period,
        coalesce(ledger.kind, expected.kind) as kind,
        coalesce(ledger.amount_micros, 0) as ledger_micros,
        coalesce(expected.amount_micros, 0) as expected_micros
    from ledger
    full outer join expected
        on
            ledger.billing_period = expected.billing_period
            and ledger.kind = expected.kind

),

-- Receivables compare as a balance: the movements of every period through this one.
balances as (

    select
        billing_period,
        kind,
        case
            when kind = 'receivables_balance'
                then sum(ledger_micros) over (partition by kind order by billing_period)
            else ledger_micros
        end as ledger_micros,
        case
            when kind = 'receivables_balance'
                then sum(expected_micros) over (partition by kind order by billing_period)
            else expected_micros
        end as expected_micros
    from compared

)

select *
from balances
where ledger_micros <> expected_micros
