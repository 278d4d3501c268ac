with

provisioning_gaps as (

    select * from {{ ref('int_provisioning_gaps_detected') }}

),

suspense_usage as (

    select * from {{ ref('int_suspense_usage_valued') }}

),

file_anomalies as (

    select * from {{ ref('int_file_anomalies_flagged') }}

),

zero_rated_usage as (

    select * from {{ ref('int_zero_rated_usage_detected') }}

),

terminated_line_usage as (

    select * from {{ ref('int_terminated_line_usage_detected') }}

),

file_sequence_gaps as (

    select * from {{ ref('int_file_sequence_gaps_valued') }}

),

promo_credits_not_eligible as (

    select * from {{ ref('int_promo_credits_not_eligible') }}

),

credits_above_authority as (

    select * from {{ ref('int_credits_above_authority') }}

),

retention_credits_unqualified as (

    select * from {{ ref('int_retention_credits_unqualified') }}

),

interconnect_negative_margins as (

    select * from {{ ref('int_interconnect_negative_margins_detected') }}

),

roaming_not_passed_on as (

    select * from {{ ref('int_roaming_not_passed_on_detected') }}

),

unexplained_usage_gaps as (

    select * from {{ ref('int_e2e_unexplained_gaps') }}

),

rerating_differences as (

    select * from {{ ref('int_rerating_differences') }}

),

case_status_current as (

    select * from {{ ref('int_case_status_current') }}

),

unioned as (

    select * from provisioning_gaps
    union all by name
    select * from suspense_usage
    union all by name
    select * from file_anomalies
    union all by name
    select * from zero_rated_usage
    union all by name
    select * from terminated_line_usage
    union all by name
    select * from file_sequence_gaps
    union all by name
    select * from promo_credits_not_eligible
    union all by name
    select * from credits_above_authority
    union all by name
    select * from retention_credits_unqualified
    union all by name
    select * from interconnect_negative_margins
    union all by name
    select * from roaming_not_passed_on
    union all by name
    select * from unexplained_usage_gaps
    union all by name
    select * from rerating_differences

),

identified as (

    select
        md5(category || '|' || subject_key || '|' || billing_period) as finding_id,
        *
    from unioned

),

final as (

    select
        identified.finding_id,
        identified.billing_period,
        identified.category,
        identified.subject_type,
        identified.subject_id,
        cast(identified.record_count as bigint) as record_count,
        cast(identified.amount_at_risk_micros as bigint) as amount_at_risk_micros,
        identified.estimation_method,
        cast(identified.evidence as varchar) as evidence,
        -- A finding no analyst has moved yet is open.
        coalesce(case_status_current.case_status, 'open') as finding_status,
        case_status_current.status_changed_at,
        case_status_current.changed_by as status_changed_by,
        cast(case_status_current.recovered_micros as bigint) as recovered_micros
    from identified
    left join case_status_current
        on identified.finding_id = case_status_current.case_id

)

select * from final
