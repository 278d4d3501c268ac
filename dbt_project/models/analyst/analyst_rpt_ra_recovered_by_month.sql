{{ config(alias='rpt_ra_recovered_by_month') }}

{#- No column names a subscriber, a number or a person: every one is kept. -#}
with

ra_recovered_by_month as (

    select * from {{ ref('rpt_ra_recovered_by_month') }}

),

final as (

    select
        month,
        case_kind,
        case_type,
        cases,
        recovered_micros,
        amount_at_risk_micros
    from ra_recovered_by_month

)

select * from final
