{#-
    The ledger ties to the invoices, per billing period: revenue (credits - debits on
    revenue accounts) = the invoices' subtotals, receivables (debits - credits on 1200) =
    their totals, and taxes payable from invoices = their tax. Rows returned are periods
    that do not tie.
-#}
with

journal as (

    select * from {{ ref('fct_gl_journal') }}

),

invoices as (

    select * from {{ ref('fct_invoices') }}

),

ledger as (

    select
        billing_period,
        sum(
            case when account_type = 'revenue' then credit_micros - debit_micros else 0 end
        ) as revenue_micros,
        sum(
            case when gl_account_code = '1200' then debit_micros - credit_micros else 0 end
        ) as receivable_micros,
        sum(
            case
                when entry_type = 'invoice' and account_type = 'liability'
                    then credit_micros - debit_micros
                else 0
            end
        ) as tax_billed_micros
    from journal
    group by billing_period

),

billed as (

    select
        billing_period,
        sum(subtotal_micros) as subtotal_micros,
        sum(total_micros) as total_micros,
        sum(tax_micros) as tax_micros
    from invoices
    group by billing_period

)

select
    billed.billing_period,
    billed.subtotal_micros,
    ledger.revenue_micros,
    billed.total_micros,
    ledger.receivable_micros,
    billed.tax_micros,
    ledger.tax_billed_micros
from billed
left join ledger
    on billed.billing_period = ledger.billing_period
where
    ledger.billing_period is null
    or billed.subtotal_micros <> ledger.revenue_micros
    or billed.total_micros <> ledger.receivable_micros
    or billed.tax_micros <> ledger.tax_billed_micros
