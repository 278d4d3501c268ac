{{ config(alias='rpt_customer_360') }}

with

customers as (

    select * from {{ ref('rpt_customer_360') }}

),

final as (

    select
        account_id,
        cpni_token(account_name) as account_name,
        account_class,
        city,
        state,
        bill_cycle_day,
        currency,
        account_status,
        line_count,
        active_line_count,
        suspended_line_count,
        cancelled_line_count,
        active_plan_ids,
        cpni_token_list(msisdns) as msisdns,
        balance_as_of_date,
        net_balance_micros,
        past_due_micros,
        oldest_open_due_date,
        last_invoice_id,
        last_invoice_date,
        last_invoice_total_micros,
        last_invoice_amount_due_micros,
        last_invoice_due_date,
        dunning_stage,
        dunning_stage_date,
        dunning_invoice_id,
        open_dispute_count,
        open_dispute_micros,
        active_device_agreement_count,
        device_balance_micros,
        porting_status,
        cpni_token(porting_msisdn) as porting_msisdn,
        porting_other_carrier,
        porting_requested_date,
        has_pending_port_out
    from customers

)

select * from final
