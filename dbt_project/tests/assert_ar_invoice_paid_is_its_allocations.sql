{#-
    Per bill run and invoice, what the balances say was paid is what the allocations
    applied to it: an invoice's paid = the sum of its allocations and its paid_date the
    last of them once nothing is open; a credit note (negative amount) is settled by
    itself (paid = amount) and receives no allocation. Every allocation pays an invoice of
    the run's balances, of the same account. Rows returned are invoices that do not tie.
-#}
with

invoice_balances as (

    select * from {{ ref('stg_lake__invoice_balances') }}

),

payment_allocations as (

    select * from {{ ref('stg_lake__payment_allocations') }}

),

allocated as (

    select
        billing_period,
        invoice_id,
        min(account_id) as account_id,
        count(distinct account_id) as account_count,
        sum(allocated_micros) as allocated_micros,
        max(applied_date) as last_applied_date
    from payment_allocations
    group by billing_period, invoice_id

),

compared as (

    select
        coalesce(invoice_balances.billing_period, allocated.billing_period) as billing_period,
        coalesce(invoice_balances.invoice_id, allocated.invoice_id) as invoice_id,
        invoice_balances.account_id,
        allocated.account_id as allocations_account_id,
        allocated.account_count as allocations_account_count,
        invoice_balances.amount_micros,
        invoice_balances.paid_micros,
        invoice_balances.open_micros,
        invoice_balances.paid_date,
        coalesce(allocated.allocated_micros, 0) as allocated_micros,
        allocated.last_applied_date
    from invoice_balances
    full outer join allocated
        on
            invoice_balances.billing_period = allocated.billing_period
            and invoice_balances.invoice_id = allocated.invoice_id

)

select *
from compared
where
    amount_micros is null
    or allocations_account_id <> account_id
    or allocations_account_count > 1
    or (amount_micros >= 0 and paid_micros <> allocated_micros)
    or (amount_micros < 0 and (paid_micros <> amount_micros or allocated_micros <> 0))
    or (amount_micros > 0 and open_micros = 0 and paid_date <> last_applied_date)
