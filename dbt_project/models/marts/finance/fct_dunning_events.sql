{#-
    Every dunning stage of every dunned invoice, from each account's latest bill run (as of
    its latest bill date): the stage's trigger date, how far past due that is, what was
    open then, and whether it triggered, is still scheduled, or was cancelled by payment.
-#}
with

dunning_events as (

    select * from {{ ref('stg_lake__dunning_events') }}

),

invoice_balances as (

    select * from {{ ref('stg_lake__invoice_balances') }}

),

ar_aging as (

    select * from {{ ref('fct_ar_aging') }}

),

latest_events as (

    select
        dunning_events.*,
        ar_aging.as_of_date
    from dunning_events
    inner join ar_aging
        on
            dunning_events.account_id = ar_aging.account_id
            and dunning_events.billing_period = ar_aging.billing_period

),

final as (

    select
        latest_events.invoice_id || '/' || latest_events.stage as dunning_event_key,
        latest_events.invoice_id,
        latest_events.account_id,
        latest_events.stage,
        cast(
            row_number() over (
                partition by latest_events.invoice_id order by latest_events.trigger_date
            ) as integer
        ) as stage_number,
        cast(latest_events.trigger_date - invoice_balances.due_date as integer) as days_past_due,
        invoice_balances.due_date,
        latest_events.trigger_date,
        latest_events.open_micros_at_trigger,
        latest_events.dunning_status,
        invoice_balances.open_micros as invoice_open_micros,
        latest_events.billing_period,
        latest_events.as_of_date
    from latest_events
    left join invoice_balances
        on
            latest_events.billing_period = invoice_balances.billing_period
            and latest_events.invoice_id = invoice_balances.invoice_id

)

select * from final
