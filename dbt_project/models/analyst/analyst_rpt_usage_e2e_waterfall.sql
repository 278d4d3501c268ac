{{ config(alias='rpt_usage_e2e_waterfall') }}

{#- No column names a subscriber, a number or a person: every one is kept. -#}
with

usage_e2e_waterfall as (

    select * from {{ ref('rpt_usage_e2e_waterfall') }}

),

final as (

    select
        billing_period,
        step_order,
        step,
        kind,
        reason,
        records,
        seconds,
        bytes
    from usage_e2e_waterfall

)

select * from final
