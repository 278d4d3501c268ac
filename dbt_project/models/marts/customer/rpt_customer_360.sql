{#-
    One row per billing account: what a customer service representative needs on one
    screen. Lines by status with the active plans and the numbers in service; the balance
    and past-due amount as of the latest bill date; the last invoice; how far dunning went;
    disputed credits awaiting approval; the device balance left to bill; and porting.
-#}
with

accounts as (

    select * from {{ ref('dim_accounts') }}

),

subscribers as (

    select * from {{ ref('dim_subscribers') }}

),

ar_aging as (

    select * from {{ ref('fct_ar_aging') }}

),

invoices as (

    select * from {{ ref('fct_invoices') }}

),

dunning_events as (

    select * from {{ ref('fct_dunning_events') }}

),

adjustments as (

    select * from {{ ref('fct_adjustments') }}

),

device_receivables as (

    select * from {{ ref('fct_device_receivables') }}

),

port_requests as (

    select * from {{ ref('stg_reference__port_requests') }}

),

lines_summarised as (

    select
        account_id,
        count(*) as line_count,
        count(*) filter (where status = 'active') as active_line_count,
        count(*) filter (where status = 'suspended') as suspended_line_count,
        count(*) filter (where status = 'cancelled') as cancelled_line_count,
        string_agg(distinct plan_id, ', ' order by plan_id) filter (
            where status = 'active'
        ) as active_plan_ids,
        string_agg(msisdn, ', ' order by msisdn) filter (
            where status <> 'cancelled'
        ) as msisdns
    from subscribers
    group by account_id

),

last_invoices as (

    select *
    from invoices
    qualify row_number() over (partition by account_id order by billing_period desc) = 1

),

highest_dunning as (

    select *
    from dunning_events
    where dunning_status = 'triggered'
    qualify row_number() over (
        partition by account_id
        order by days_past_due desc, trigger_date desc, invoice_id asc
    ) = 1

),

latest_adjustments as (

    select *
    from adjustments
    qualify row_number() over (
        partition by adjustment_id order by billing_period desc
    ) = 1

),

open_disputes as (

    select
        account_id,
        count(*) as open_dispute_count,
        sum(amount_micros) as open_dispute_micros
    from latest_adjustments
    where adjustment_type = 'dispute' and adjustment_status = 'held'
    group by account_id

),

latest_device_receivables as (

    select *
    from device_receivables
    qualify billing_period = max(billing_period) over ()

),

device_balances as (

    select
        account_id,
        count(*) as active_device_agreement_count,
        sum(remaining_balance_micros) as device_balance_micros
    from latest_device_receivables
    where agreement_status = 'active'
    group by account_id

),

account_port_requests as (

    select
        subscribers.account_id,
        port_requests.*
    from port_requests
    inner join subscribers
        on port_requests.subscriber_id = subscribers.subscriber_id

),

latest_port_requests as (

    select *
    from account_port_requests
    qualify row_number() over (
        partition by account_id order by requested_date desc, request_id desc
    ) = 1

),

pending_port_outs as (

    select distinct account_id
    from account_port_requests
    where direction = 'port_out' and request_status = 'pending'

),

final as (

    select
        accounts.account_id,
        accounts.account_name,
        accounts.account_class,
        accounts.city,
        accounts.state,
        accounts.bill_cycle_day,
        accounts.currency,
        case
            when lines_summarised.active_line_count > 0 then 'active'
            when lines_summarised.suspended_line_count > 0 then 'suspended'
            when lines_summarised.cancelled_line_count > 0 then 'closed'
            else 'no_lines'
        end as account_status,
        cast(coalesce(lines_summarised.line_count, 0) as integer) as line_count,
        cast(coalesce(lines_summarised.active_line_count, 0) as integer) as active_line_count,
        cast(coalesce(lines_summarised.suspended_line_count, 0) as integer)
            as suspended_line_count,
        cast(coalesce(lines_summarised.cancelled_line_count, 0) as integer)
            as cancelled_line_count,
        lines_summarised.active_plan_ids,
        lines_summarised.msisdns,
        ar_aging.as_of_date as balance_as_of_date,
        coalesce(ar_aging.net_balance_micros, 0) as net_balance_micros,
        coalesce(ar_aging.past_due_micros, 0) as past_due_micros,
        ar_aging.oldest_open_due_date,
        last_invoices.invoice_id as last_invoice_id,
        last_invoices.invoice_date as last_invoice_date,
        last_invoices.total_micros as last_invoice_total_micros,
        last_invoices.amount_due_micros as last_invoice_amount_due_micros,
        last_invoices.due_date as last_invoice_due_date,
        highest_dunning.stage as dunning_stage,
        highest_dunning.trigger_date as dunning_stage_date,
        highest_dunning.invoice_id as dunning_invoice_id,
        cast(coalesce(open_disputes.open_dispute_count, 0) as integer) as open_dispute_count,
        cast(coalesce(open_disputes.open_dispute_micros, 0) as bigint) as open_dispute_micros,
        cast(coalesce(device_balances.active_device_agreement_count, 0) as integer)
            as active_device_agreement_count,
        cast(coalesce(device_balances.device_balance_micros, 0) as bigint)
            as device_balance_micros,
        case
            when latest_port_requests.request_id is null then 'none'
            when latest_port_requests.direction = 'port_in'
                then
                    case latest_port_requests.request_status
                        when 'completed' then 'ported_in'
                        when 'pending' then 'port_in_pending'
                        when 'rejected' then 'port_in_rejected'
                    end
            when latest_port_requests.direction = 'port_out'
                then
                    case latest_port_requests.request_status
                        when 'completed' then 'ported_out'
                        when 'pending' then 'port_out_pending'
                        when 'rejected' then 'port_out_rejected'
                    end
        end as porting_status,
        latest_port_requests.msisdn as porting_msisdn,
        latest_port_requests.other_carrier as porting_other_carrier,
        latest_port_requests.requested_date as porting_requested_date,
        pending_port_outs.account_id is not null as has_pending_port_out
    from accounts
    left join lines_summarised
        on accounts.account_id = lines_summarised.account_id
    left join ar_aging
        on accounts.account_id = ar_aging.account_id
    left join last_invoices
        on accounts.account_id = last_invoices.account_id
    left join highest_dunning
        on accounts.account_id = highest_dunning.account_id
    left join open_disputes
        on accounts.account_id = open_disputes.account_id
    left join device_balances
        on accounts.account_id = device_balances.account_id
    left join latest_port_requests
        on accounts.account_id = latest_port_requests.account_id
    left join pending_port_outs
        on accounts.account_id = pending_port_outs.account_id

)

select * from final
