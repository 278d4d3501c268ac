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

unioned as (

    select * from provisioning_gaps
    union all by name
    select * from suspense_usage
    union all by name
    select * from file_anomalies

),

final as (

    select
        md5(category || '|' || subject_key || '|' || billing_period) as finding_id,
        billing_period,
        category,
        subject_type,
        subject_id,
        cast(record_count as bigint) as record_count,
        cast(amount_at_risk_micros as bigint) as amount_at_risk_micros,
        estimation_method,
        cast(evidence as varchar) as evidence,
        'open' as finding_status
    from unioned

)

select * from final
