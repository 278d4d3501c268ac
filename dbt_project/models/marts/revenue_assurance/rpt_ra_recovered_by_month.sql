{#-
    Money recovered per month of recovery (the operator's time zone), case kind and type
    (the finding's category or the alert's detector): the recovered cases, what was
    recovered and what the marts put at risk on those same cases. Recovered is final, so a
    case's current status dates its recovery. A recovered case the marts no longer raise
    (its control stopped finding it after a rebuild) counts under type 'unknown' at risk 0.
    The column `month` keeps the name the RA report reads, keyword or not.
-#}
with

case_status_current as (

    select * from {{ ref('int_case_status_current') }}

),

leakage_findings as (

    select * from {{ ref('fct_leakage_findings') }}

),

fraud_alerts as (

    select * from {{ ref('fct_fraud_alerts') }}

),

cases as (

    select
        finding_id as case_id,
        category as case_type,
        amount_at_risk_micros
    from leakage_findings
    union all
    select
        alert_id as case_id,
        detector as case_type,
        amount_at_risk_micros
    from fraud_alerts

),

recovered as (

    select
        case_status_current.case_id,
        case_status_current.case_kind,
        case_status_current.recovered_micros,
        strftime(
            timezone('{{ var("operator_timezone") }}', case_status_current.status_changed_at),
            '%Y-%m'
        ) as month,  -- noqa: RF04
        coalesce(cases.case_type, 'unknown') as case_type,
        coalesce(cases.amount_at_risk_micros, 0) as amount_at_risk_micros
    from case_status_current
    left join cases on case_status_current.case_id = cases.case_id
    where case_status_current.case_status = 'recovered'

),

final as (

    select
        month,
        case_kind,
        case_type,
        count(*) as cases,
        cast(sum(recovered_micros) as bigint) as recovered_micros,
        cast(sum(amount_at_risk_micros) as bigint) as amount_at_risk_micros
    from recovered
    group by month, case_kind, case_type

)

select * from final
