{#-
    Each account's receivables aged as of its latest bill date: the account's row of the
    latest bill run that replayed it (every run replays the whole history, so the latest
    holds everything the earlier ones did). Buckets by days past due (as_of_date -
    due_date); net balance = open - unapplied credit, negative for an account in credit.
-#}
with

ar_aging as (

    select * from {{ ref('stg_lake__ar_aging') }}

),

invoice_balances as (

    select * from {{ ref('stg_lake__invoice_balances') }}

),

latest_aging as (

    select *
    from ar_aging
    qualify row_number() over (partition by account_id order by billing_period desc) = 1

),

open_invoices as (

    select
        billing_period,
        account_id,
        count(*) as open_invoice_count,
        min(due_date) as oldest_open_due_date
    from invoice_balances
    where open_micros > 0
    group by billing_period, account_id

),

final as (

    select
        latest_aging.account_id,
        latest_aging.billing_period,
        latest_aging.as_of_date,
        latest_aging.current_micros,
        latest_aging.past_due_1_30_micros,
        latest_aging.past_due_31_60_micros,
        latest_aging.past_due_61_90_micros,
        latest_aging.past_due_over_90_micros,
        latest_aging.past_due_1_30_micros
        + latest_aging.past_due_31_60_micros
        + latest_aging.past_due_61_90_micros
        + latest_aging.past_due_over_90_micros as past_due_micros,
        latest_aging.total_open_micros,
        latest_aging.unapplied_credit_micros,
        latest_aging.net_balance_micros,
        cast(coalesce(open_invoices.open_invoice_count, 0) as integer) as open_invoice_count,
        open_invoices.oldest_open_due_date
    from latest_aging
    left join open_invoices
        on
            latest_aging.billing_period = open_invoices.billing_period
            and latest_aging.account_id = open_invoices.account_id

)

select * from final
