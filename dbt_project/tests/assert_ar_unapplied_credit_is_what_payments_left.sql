{#-
    Per bill run and account, the aging's unapplied credit is what its payments received by
    the bill date and its credit notes left unallocated: the sum of (amount - allocated)
    over them. Rows returned are accounts whose credit does not tie.
-#}
with

ar_aging as (

    select * from {{ ref('stg_lake__ar_aging') }}

),

payments as (

    select * from {{ ref('stg_lake__payments') }}

),

invoice_balances as (

    select * from {{ ref('stg_lake__invoice_balances') }}

),

payment_allocations as (

    select * from {{ ref('stg_lake__payment_allocations') }}

),

sources as (

    select
        payments.billing_period,
        payments.account_id,
        'payment' as allocation_source,
        payments.payment_id,
        payments.amount_micros
    from payments
    inner join ar_aging
        on
            payments.billing_period = ar_aging.billing_period
            and payments.account_id = ar_aging.account_id
    where payments.received_date <= ar_aging.as_of_date

    union all

    select
        billing_period,
        account_id,
        'credit_note' as allocation_source,
        invoice_id as payment_id,
        -amount_micros as amount_micros
    from invoice_balances
    where amount_micros < 0

),

allocated as (

    select
        billing_period,
        allocation_source,
        payment_id,
        sum(allocated_micros) as allocated_micros
    from payment_allocations
    group by billing_period, allocation_source, payment_id

),

left_over as (

    select
        sources.billing_period,
        sources.account_id,
        sum(sources.amount_micros - coalesce(allocated.allocated_micros, 0)) as left_over_micros
    from sources
    left join allocated
        on
            sources.billing_period = allocated.billing_period
            and sources.allocation_source = allocated.allocation_source
            and sources.payment_id = allocated.payment_id
    group by sources.billing_period, sources.account_id

)

select
    ar_aging.billing_period,
    ar_aging.account_id,
    ar_aging.unapplied_credit_micros,
    coalesce(left_over.left_over_micros, 0) as left_over_micros
from ar_aging
left join left_over
    on
        ar_aging.billing_period = left_over.billing_period
        and ar_aging.account_id = left_over.account_id
where ar_aging.unapplied_credit_micros <> coalesce(left_over.left_over_micros, 0)
