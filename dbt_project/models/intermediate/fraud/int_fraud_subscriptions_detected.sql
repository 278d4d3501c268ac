{#-
    Subscription fraud: an account created at most `subscription_new_account_days` before
    its period ends, with at least `subscription_min_service_changes` completed plan
    changes (or SIM swaps) within that many days of its creation, rated usage of at least
    `subscription_min_charge_micros` in the period, and no payment received in it. Score:
    50 x charge / threshold + 10 per service change, capped at 100. Amount at risk: the
    termination cost of its calls (its retail charges, never to be paid, are evidence).
-#}
{%- set fraud = var('fraud') -%}
with

accounts as (

    select * from {{ ref('stg_reference__accounts') }}

),

crm_orders as (

    select * from {{ ref('stg_reference__crm_orders') }}

),

payments as (

    select * from {{ ref('stg_lake__payments') }}

),

rated_usage_records as (

    select * from {{ ref('stg_lake__rated_usage_records') }}

),

calls as (

    select * from {{ ref('int_fraud_calls_enriched') }}

),

usage_by_account as (

    select
        billing_period,
        account_id,
        count(*) as record_count,
        sum(coalesce(charge_micros, 0)) as retail_charge_micros,
        string_agg(distinct served_msisdn, ',' order by served_msisdn) as line_list,
        count(distinct served_msisdn) as line_count,
        min(started_at) as first_event_at,
        max(ended_at) as last_event_at,
        list(usage_id order by charge_micros desc nulls last, usage_id asc)[1:5]
            as sample_usage_ids
    from rated_usage_records
    where account_id is not null
    group by billing_period, account_id

),

call_costs as (

    select
        billing_period,
        account_id,
        sum(termination_cost_micros) as termination_cost_micros
    from calls
    group by billing_period, account_id

),

new_accounts as (

    select
        usage_by_account.*,
        accounts.created_date
    from usage_by_account
    inner join accounts on usage_by_account.account_id = accounts.account_id
    where
        accounts.created_date
        >= last_day(cast(usage_by_account.billing_period || '-01' as date))
        - {{ fraud['subscription_new_account_days'] }}

),

service_changes as (

    select
        new_accounts.billing_period,
        new_accounts.account_id,
        count(*) as change_count
    from new_accounts
    inner join crm_orders
        on
            new_accounts.account_id = crm_orders.account_id
            and crm_orders.order_type in ('plan_change', 'sim_swap')
            and crm_orders.order_status = 'completed'
            and crm_orders.completed_date
            <= new_accounts.created_date + {{ fraud['subscription_new_account_days'] }}
    group by new_accounts.billing_period, new_accounts.account_id

),

paid as (

    select distinct
        billing_period,
        account_id
    from payments

),

suspects as (

    select
        new_accounts.*,
        service_changes.change_count,
        coalesce(call_costs.termination_cost_micros, 0) as termination_cost_micros
    from new_accounts
    inner join service_changes
        on
            new_accounts.billing_period = service_changes.billing_period
            and new_accounts.account_id = service_changes.account_id
    left join paid
        on
            new_accounts.billing_period = paid.billing_period
            and new_accounts.account_id = paid.account_id
    left join call_costs
        on
            new_accounts.billing_period = call_costs.billing_period
            and new_accounts.account_id = call_costs.account_id
    where
        paid.account_id is null
        and service_changes.change_count >= {{ fraud['subscription_min_service_changes'] }}
        and new_accounts.retail_charge_micros >= {{ fraud['subscription_min_charge_micros'] }}

),

final as (

    select
        billing_period,
        'subscription_fraud' as detector,
        cast(least(
            100,
            round(
                50.0 * retail_charge_micros / {{ fraud['subscription_min_charge_micros'] }}
            )
            + 10 * change_count
        ) as integer) as score,
        'account' as subject_type,
        account_id as subject_id,
        billing_period as alert_window,
        cast(line_count as bigint) as lines_affected,
        line_list as affected_lines,
        first_event_at,
        last_event_at,
        cast(record_count as bigint) as record_count,
        cast(termination_cost_micros as bigint) as amount_at_risk_micros,
        cast(json_object(
            'created_date', created_date,
            'service_changes', change_count,
            'retail_charge_micros', retail_charge_micros,
            'payments', 0,
            'sample_usage_ids', sample_usage_ids
        ) as varchar) as evidence
    from suspects

)

select * from final
