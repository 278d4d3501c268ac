{{ config(alias='fct_fraud_alerts') }}

{#-
    alert_id is md5(detector|subject|window): an unkeyed hash of a line's number, which
    trying every number would reverse, so it is a token too (fct_case_status_history's
    case_id is the same token).
-#}
with

alerts as (

    select * from {{ ref('fct_fraud_alerts') }}

),

final as (

    select
        cpni_token(alert_id) as alert_id,
        billing_period,
        detector,
        score,
        subject_type,
        case
            when subject_type in ('line', 'imsi') then cpni_token(subject_id)
            else subject_id
        end as subject_id,
        lines_affected,
        cpni_token_list(affected_lines) as affected_lines,
        first_event_at,
        last_event_at,
        record_count,
        amount_at_risk_micros,
        cpni_mask_evidence(evidence) as evidence,
        alert_status,
        status_changed_at,
        status_changed_by,
        recovered_micros
    from alerts

)

select * from final
