{#-
    Per bill run and account, the aging ties to the invoices and payments it comes from
    (docs/billing.md, "Allocation" and "Aging"):
    - invoiced - received = open - unapplied credit, where invoiced is every invoice in the
      run's balances (lake invoices, opening balances, credit notes negative) and received
      every payment of the run's payments received by the account's bill date;
    - total open = the open of its invoices, and each bucket = the open of its invoices
      that many days past due (as_of_date - due_date) on the aging's as-of date.
    Rows returned are accounts that do not tie, or invoices without an aging row.
-#}
with

ar_aging as (

    select * from {{ ref('stg_lake__ar_aging') }}

),

invoice_balances as (

    select * from {{ ref('stg_lake__invoice_balances') }}

),

payments as (

    select * from {{ ref('stg_lake__payments') }}

),

aged_balances as (

    select
        invoice_balances.billing_period,
        invoice_balances.account_id,
        invoice_balances.amount_micros,
        invoice_balances.open_micros,
        invoice_balances.as_of_date,
        ar_aging.as_of_date - invoice_balances.due_date as days_past_due
    from invoice_balances
    left join ar_aging
        on
            invoice_balances.billing_period = ar_aging.billing_period
            and invoice_balances.account_id = ar_aging.account_id

),

balance_totals as (

    select
        billing_period,
        account_id,
        count(distinct as_of_date) as as_of_date_count,
        max(as_of_date) as as_of_date,
        sum(amount_micros) as invoiced_micros,
        sum(open_micros) as open_micros,
        sum(open_micros) filter (where days_past_due <= 0) as current_micros,
        sum(open_micros) filter (where days_past_due between 1 and 30) as past_due_1_30_micros,
        sum(open_micros) filter (where days_past_due between 31 and 60) as past_due_31_60_micros,
        sum(open_micros) filter (where days_past_due between 61 and 90) as past_due_61_90_micros,
        sum(open_micros) filter (where days_past_due > 90) as past_due_over_90_micros
    from aged_balances
    group by billing_period, account_id

),

received as (

    select
        payments.billing_period,
        payments.account_id,
        sum(payments.amount_micros) as received_micros
    from payments
    inner join ar_aging
        on
            payments.billing_period = ar_aging.billing_period
            and payments.account_id = ar_aging.account_id
    where payments.received_date <= ar_aging.as_of_date
    group by payments.billing_period, payments.account_id

),

compared as (

    select
        coalesce(ar_aging.billing_period, balance_totals.billing_period) as billing_period,
        coalesce(ar_aging.account_id, balance_totals.account_id) as account_id,
        ar_aging.as_of_date,
        balance_totals.as_of_date as balances_as_of_date,
        balance_totals.as_of_date_count,
        coalesce(balance_totals.invoiced_micros, 0) as invoiced_micros,
        coalesce(received.received_micros, 0) as received_micros,
        coalesce(balance_totals.open_micros, 0) as invoices_open_micros,
        ar_aging.total_open_micros,
        ar_aging.unapplied_credit_micros,
        coalesce(balance_totals.current_micros, 0) as invoices_current_micros,
        ar_aging.current_micros,
        coalesce(balance_totals.past_due_1_30_micros, 0) as invoices_past_due_1_30_micros,
        ar_aging.past_due_1_30_micros,
        coalesce(balance_totals.past_due_31_60_micros, 0) as invoices_past_due_31_60_micros,
        ar_aging.past_due_31_60_micros,
        coalesce(balance_totals.past_due_61_90_micros, 0) as invoices_past_due_61_90_micros,
        ar_aging.past_due_61_90_micros,
        coalesce(balance_totals.past_due_over_90_micros, 0) as invoices_past_due_over_90_micros,
        ar_aging.past_due_over_90_micros
    from ar_aging
    full outer join balance_totals
        on
            ar_aging.billing_period = balance_totals.billing_period
            and ar_aging.account_id = balance_totals.account_id
    left join received
        on
            ar_aging.billing_period = received.billing_period
            and ar_aging.account_id = received.account_id

)

select *
from compared
where
    as_of_date is null
    or balances_as_of_date <> as_of_date
    or as_of_date_count > 1
    or invoiced_micros - received_micros <> invoices_open_micros - unapplied_credit_micros
    or invoices_open_micros <> total_open_micros
    or invoices_current_micros <> current_micros
    or invoices_past_due_1_30_micros <> past_due_1_30_micros
    or invoices_past_due_31_60_micros <> past_due_31_60_micros
    or invoices_past_due_61_90_micros <> past_due_61_90_micros
    or invoices_past_due_over_90_micros <> past_due_over_90_micros
