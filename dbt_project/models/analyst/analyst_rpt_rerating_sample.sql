{{ config(alias='rpt_rerating_sample') }}

{#- No column names a subscriber, a number or a person: every one is kept. -#}
with

rerating_sample as (

    select * from {{ ref('rpt_rerating_sample') }}

),

final as (

    select
        billing_period,
        billed_currency,
        sample_seed,
        sample_size,
        records_sampled,
        records_matched,
        records_mismatched,
        billed_charge_micros,
        rerated_charge_micros,
        net_difference_micros,
        absolute_difference_micros
    from rerating_sample

)

select * from final
