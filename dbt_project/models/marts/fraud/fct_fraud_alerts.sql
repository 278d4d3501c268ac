{#-
    Every fraud detector's alerts (docs/fraud.md), one row per alert. alert_id is
    md5(detector|subject|window): the same case in a rerun keeps its id, so an analyst's
    status (docs/cases.md) stays with it.
-#}
with

irsf as (

    select * from {{ ref('int_fraud_irsf_bursts_detected') }}

),

wangiri as (

    select * from {{ ref('int_fraud_wangiri_ranges_detected') }}

),

sim_cloning as (

    select * from {{ ref('int_fraud_sim_clones_detected') }}

),

pbx_hacking as (

    select * from {{ ref('int_fraud_pbx_bursts_detected') }}

),

subscription_fraud as (

    select * from {{ ref('int_fraud_subscriptions_detected') }}

),

case_status_current as (

    select * from {{ ref('int_case_status_current') }}

),

alerts as (

    select * from irsf
    union all
    select * from wangiri
    union all
    select * from sim_cloning
    union all
    select * from pbx_hacking
    union all
    select * from subscription_fraud

),

identified as (

    select
        md5(detector || '|' || subject_id || '|' || alert_window) as alert_id,
        *
    from alerts

),

final as (

    select
        identified.alert_id,
        identified.billing_period,
        identified.detector,
        identified.score,
        identified.subject_type,
        identified.subject_id,
        identified.lines_affected,
        identified.affected_lines,
        identified.first_event_at,
        identified.last_event_at,
        identified.record_count,
        identified.amount_at_risk_micros,
        identified.evidence,
        -- An alert no analyst has moved yet is open.
        coalesce(case_status_current.case_status, 'open') as alert_status,
        case_status_current.status_changed_at,
        case_status_current.changed_by as status_changed_by,
        cast(case_status_current.recovered_micros as bigint) as recovered_micros
    from identified
    left join case_status_current
        on identified.alert_id = case_status_current.case_id

)

select * from final
