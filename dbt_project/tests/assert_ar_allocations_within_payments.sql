{#-
    Per bill run, no payment or credit note is allocated beyond its amount, nor before it
    arrived: a payment's allocations add up to at most its amount and are applied on or
    after its received date, to invoices of its own account; a credit note's add up to at
    most its (negative) amount's magnitude and are applied on or after its invoice date.
    Each allocation's source is in the run's payments or balances. Rows returned are
    sources that break it.
-#}
with

payment_allocations as (

    select * from {{ ref('stg_lake__payment_allocations') }}

),

payments as (

    select * from {{ ref('stg_lake__payments') }}

),

invoice_balances as (

    select * from {{ ref('stg_lake__invoice_balances') }}

),

by_source as (

    select
        billing_period,
        allocation_source,
        payment_id,
        min(account_id) as account_id,
        count(distinct account_id) as account_count,
        sum(allocated_micros) as allocated_micros,
        min(applied_date) as first_applied_date
    from payment_allocations
    group by billing_period, allocation_source, payment_id

),

sources as (

    select
        billing_period,
        'payment' as allocation_source,
        payment_id,
        account_id,
        amount_micros,
        received_date as available_date
    from payments

    union all

    select
        billing_period,
        'credit_note' as allocation_source,
        invoice_id as payment_id,
        account_id,
        -amount_micros as amount_micros,
        invoice_date as available_date
    from invoice_balances
    where amount_micros < 0

),

compared as (

    select
        by_source.*,
        sources.account_id as source_account_id,
        sources.amount_micros as source_amount_micros,
        sources.available_date
    from by_source
    left join sources
        on
            by_source.billing_period = sources.billing_period
            and by_source.allocation_source = sources.allocation_source
            and by_source.payment_id = sources.payment_id

)

select *
from compared
where
    source_amount_micros is null
    or account_count > 1
    or account_id <> source_account_id
    or allocated_micros > source_amount_micros
    or first_applied_date < available_date
