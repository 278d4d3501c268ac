{#-
    One row per accepted payment (payments.csv), as the latest bill run knows it, with what
    the account's latest allocation (as of its latest bill date) applied of it. Unapplied =
    amount - allocated: the account's credit for a payment received by that date, cash not
    yet allocated for one received after it (`pending`).
-#}
with

payments as (

    select * from {{ ref('stg_lake__payments') }}

),

payment_allocations as (

    select * from {{ ref('stg_lake__payment_allocations') }}

),

ar_aging as (

    select * from {{ ref('fct_ar_aging') }}

),

latest_payments as (

    select *
    from payments
    qualify row_number() over (partition by payment_id order by billing_period desc) = 1

),

allocated as (

    select
        payment_allocations.payment_id,
        count(*) as allocation_count,
        sum(payment_allocations.allocated_micros) as allocated_micros,
        max(payment_allocations.applied_date) as last_applied_date
    from payment_allocations
    inner join ar_aging
        on
            payment_allocations.account_id = ar_aging.account_id
            and payment_allocations.billing_period = ar_aging.billing_period
    where payment_allocations.allocation_source = 'payment'
    group by payment_allocations.payment_id

),

joined as (

    select
        latest_payments.payment_id,
        latest_payments.account_id,
        latest_payments.received_date,
        latest_payments.amount_micros,
        latest_payments.method,
        latest_payments.invoice_id as named_invoice_id,
        ar_aging.billing_period as as_of_billing_period,
        ar_aging.as_of_date,
        coalesce(allocated.allocation_count, 0) as allocation_count,
        coalesce(allocated.allocated_micros, 0) as allocated_micros,
        allocated.last_applied_date
    from latest_payments
    left join ar_aging
        on latest_payments.account_id = ar_aging.account_id
    left join allocated
        on latest_payments.payment_id = allocated.payment_id

),

final as (

    select
        payment_id,
        account_id,
        received_date,
        amount_micros,
        method,
        named_invoice_id,
        as_of_billing_period,
        as_of_date,
        cast(allocation_count as integer) as allocation_count,
        cast(allocated_micros as bigint) as allocated_micros,
        cast(amount_micros - allocated_micros as bigint) as unapplied_micros,
        last_applied_date,
        case
            when as_of_date is null or received_date > as_of_date then 'pending'
            when allocated_micros = amount_micros then 'allocated'
            when allocated_micros > 0 then 'partly_allocated'
            else 'unallocated'
        end as allocation_status
    from joined

)

select * from final
