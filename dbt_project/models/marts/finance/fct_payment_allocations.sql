{#-
    Every piece of a payment or credit note applied to an invoice, from each account's
    latest allocation (as of its latest bill date), with the invoice's dates: what paid
    which invoice, when, and whether after its due date.
-#}
with

payment_allocations as (

    select * from {{ ref('stg_lake__payment_allocations') }}

),

invoice_balances as (

    select * from {{ ref('stg_lake__invoice_balances') }}

),

ar_aging as (

    select * from {{ ref('fct_ar_aging') }}

),

latest_allocations as (

    select
        payment_allocations.*,
        ar_aging.as_of_date
    from payment_allocations
    inner join ar_aging
        on
            payment_allocations.account_id = ar_aging.account_id
            and payment_allocations.billing_period = ar_aging.billing_period

),

final as (

    select
        latest_allocations.allocation_source
        || '/' || latest_allocations.payment_id
        || '/' || latest_allocations.invoice_id as allocation_key,
        latest_allocations.payment_id,
        latest_allocations.allocation_source,
        latest_allocations.invoice_id,
        latest_allocations.account_id,
        latest_allocations.applied_date,
        latest_allocations.allocated_micros,
        invoice_balances.invoice_date,
        invoice_balances.due_date,
        latest_allocations.applied_date > invoice_balances.due_date as is_after_due_date,
        latest_allocations.billing_period,
        latest_allocations.as_of_date
    from latest_allocations
    left join invoice_balances
        on
            latest_allocations.billing_period = invoice_balances.billing_period
            and latest_allocations.invoice_id = invoice_balances.invoice_id

)

select * from final
