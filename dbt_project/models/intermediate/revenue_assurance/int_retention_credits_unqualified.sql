{#-
    retention_credit_unqualified: an applied retention credit on an account that did not
    churn-risk qualify within var revenue_assurance.retention_window_days before the
    credit's period close: no port-out request of a line of the account (port_requests.csv,
    any status), no line of the account cancelled (subscribers.csv cancelled_date, set by
    its cancellation order), and no churn score at or above
    var revenue_assurance.churn_score_threshold (churn_scores.csv). Amount at risk: the
    credit.
-#}
with

applied_credits as (

    select * from {{ ref('int_applied_credits_enriched') }}

),

port_requests as (

    select * from {{ ref('stg_reference__port_requests') }}

),

subscribers as (

    select * from {{ ref('stg_reference__subscribers') }}

),

churn_scores as (

    select * from {{ ref('stg_reference__churn_scores') }}

),

retention_credits as (

    select
        applied_credits.*,
        cast(
            applied_credits.period_close_date
            - to_days({{ var('revenue_assurance')['retention_window_days'] }}) as date
        ) as window_start_date
    from applied_credits
    where applied_credits.adjustment_type = 'retention'

),

signals as (

    select
        retention_credits.credit_key,
        'port_out_request' as churn_signal,
        port_requests.requested_date as signal_date
    from retention_credits
    inner join subscribers
        on retention_credits.account_id = subscribers.account_id
    inner join port_requests
        on subscribers.subscriber_id = port_requests.subscriber_id
    where
        port_requests.direction = 'port_out'
        and port_requests.requested_date
        between retention_credits.window_start_date and retention_credits.period_close_date

    union all

    select
        retention_credits.credit_key,
        'cancellation' as churn_signal,
        subscribers.cancelled_date as signal_date
    from retention_credits
    inner join subscribers
        on retention_credits.account_id = subscribers.account_id
    where
        subscribers.cancelled_date
        between retention_credits.window_start_date and retention_credits.period_close_date

    union all

    select
        retention_credits.credit_key,
        'churn_score' as churn_signal,
        churn_scores.scored_on as signal_date
    from retention_credits
    inner join churn_scores
        on retention_credits.account_id = churn_scores.account_id
    where
        churn_scores.churn_score >= {{ var('revenue_assurance')['churn_score_threshold'] }}
        and churn_scores.scored_on
        between retention_credits.window_start_date and retention_credits.period_close_date

),

best_scores as (

    select
        retention_credits.credit_key,
        max(churn_scores.churn_score) as best_churn_score
    from retention_credits
    inner join churn_scores
        on retention_credits.account_id = churn_scores.account_id
    where
        churn_scores.scored_on
        between retention_credits.window_start_date and retention_credits.period_close_date
    group by retention_credits.credit_key

),

final as (

    select
        retention_credits.billing_period,
        'retention_credit_unqualified' as category,
        'adjustment' as subject_type,
        retention_credits.adjustment_id as subject_id,
        retention_credits.adjustment_id as subject_key,
        cast(1 as bigint) as record_count,
        retention_credits.amount_micros as amount_at_risk_micros,
        'the credit applied' as estimation_method,
        json_object(
            'adjustment_id', retention_credits.adjustment_id,
            'account_id', retention_credits.account_id,
            'subscriber_id', retention_credits.subscriber_id,
            'window_start_date', retention_credits.window_start_date,
            'window_end_date', retention_credits.period_close_date,
            'best_churn_score', best_scores.best_churn_score
        ) as evidence
    from retention_credits
    left join best_scores
        on retention_credits.credit_key = best_scores.credit_key
    where
        retention_credits.credit_key not in (select signals.credit_key from signals)

)

select * from final
