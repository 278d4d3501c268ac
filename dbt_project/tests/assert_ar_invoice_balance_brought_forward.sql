{#-
    Each invoice's balance brought forward is exactly what the bill run's rules make it
    (pipelines/billing/run.py):
    - previous_balance = what the account owed at the end of the day before the bill date:
      by the allocation identity (open - credit = invoiced - received), the account's
      invoices dated before the bill date less its payments received before it. Not the
      bill date's stored balances: those count payments received on the bill date and the
      credit applied to this invoice on it.
    - payments = payments received from the previous bill date (the cycle day of the
      period's own month) to the day before the bill date;
    - amount_due = previous_balance + corrections + total (the credit and debit notes
      issued with the bill are documents of their own, dated on the bill date);
    - the invoice is in its own run's balances, at its total, as of its invoice date.
    Rows returned are invoices that break it.
-#}
with

invoices as (

    select * from {{ ref('fct_invoices') }}

),

invoice_balances as (

    select * from {{ ref('stg_lake__invoice_balances') }}

),

payments as (

    select * from {{ ref('stg_lake__payments') }}

),

invoiced_before as (

    select
        invoices.invoice_id,
        sum(invoice_balances.amount_micros) as invoiced_micros
    from invoices
    inner join invoice_balances
        on
            invoices.billing_period = invoice_balances.billing_period
            and invoices.account_id = invoice_balances.account_id
    where invoice_balances.invoice_date < invoices.invoice_date
    group by invoices.invoice_id

),

received_before as (

    select
        invoices.invoice_id,
        sum(payments.amount_micros) as received_micros,
        sum(payments.amount_micros) filter (
            where payments.received_date >= cast(invoices.invoice_date - interval 1 month as date)
        ) as received_since_previous_bill_micros
    from invoices
    inner join payments
        on
            invoices.billing_period = payments.billing_period
            and invoices.account_id = payments.account_id
    where payments.received_date < invoices.invoice_date
    group by invoices.invoice_id

),

compared as (

    select
        invoices.invoice_id,
        invoices.billing_period,
        invoices.account_id,
        invoices.invoice_date,
        invoices.total_micros,
        invoices.corrections_micros,
        invoices.previous_balance_micros,
        coalesce(invoiced_before.invoiced_micros, 0)
        - coalesce(received_before.received_micros, 0) as expected_previous_balance_micros,
        invoices.payments_micros,
        coalesce(received_before.received_since_previous_bill_micros, 0)
            as expected_payments_micros,
        invoices.amount_due_micros,
        own_balance.amount_micros as balance_amount_micros,
        own_balance.as_of_date as balance_as_of_date
    from invoices
    left join invoice_balances as own_balance
        on
            invoices.billing_period = own_balance.billing_period
            and invoices.invoice_id = own_balance.invoice_id
    left join invoiced_before
        on invoices.invoice_id = invoiced_before.invoice_id
    left join received_before
        on invoices.invoice_id = received_before.invoice_id

)

select *
from compared
where
    amount_due_micros <> previous_balance_micros + corrections_micros + total_micros
    or previous_balance_micros <> expected_previous_balance_micros
    or payments_micros <> expected_payments_micros
    or balance_amount_micros is distinct from total_micros
    or balance_as_of_date is distinct from invoice_date
