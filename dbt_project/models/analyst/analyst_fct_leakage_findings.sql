{{ config(alias='fct_leakage_findings') }}

{#- finding_id is md5(category|subject|period): a token, as alert_id is. -#}
with

findings as (

    select * from {{ ref('fct_leakage_findings') }}

),

final as (

    select
        cpni_token(finding_id) as finding_id,
        billing_period,
        category,
        subject_type,
        case
            when subject_type in ('imsi', 'msisdn') then cpni_token(subject_id)
            else subject_id
        end as subject_id,
        record_count,
        amount_at_risk_micros,
        estimation_method,
        cpni_mask_evidence(evidence) as evidence,
        finding_status,
        status_changed_at,
        status_changed_by,
        recovered_micros
    from findings

)

select * from final
