{#-
    The independent re-rating control per billing period and billing currency: how many
    priced records were sampled and re-rated, how many matched the bill, and the billed and
    re-rated totals of the sample (re-rated: of the records the reference engine priced).
-#}
with

rerating_checks as (

    select * from {{ ref('stg_lake__rerating_checks') }}

),

final as (

    select
        billing_period,
        billed_currency,
        any_value(sample_seed) as sample_seed,
        any_value(sample_size) as sample_size,
        count(*) as records_sampled,
        count(*) filter (where check_status = 'match') as records_matched,
        count(*) filter (where check_status = 'mismatch') as records_mismatched,
        cast(sum(billed_charge_micros) as bigint) as billed_charge_micros,
        cast(coalesce(sum(rerated_charge_micros), 0) as bigint) as rerated_charge_micros,
        cast(coalesce(sum(difference_micros), 0) as bigint) as net_difference_micros,
        cast(coalesce(sum(abs(difference_micros)), 0) as bigint) as absolute_difference_micros
    from rerating_checks
    group by billing_period, billed_currency

)

select * from final
