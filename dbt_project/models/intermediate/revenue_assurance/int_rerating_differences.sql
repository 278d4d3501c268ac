{#-
    Finding rows (category rerating_difference) of the independent re-rating control: one
    per sampled priced record the reference engine priced differently from the bill, or
    could not price. Amount at risk: the absolute difference, in the record's billing
    currency; when the reference engine refused the record, the whole billed charge (it is
    unverified). The sample, not the population: the rate of mismatches in the sample,
    times the period's priced records, estimates the population's (rpt_rerating_sample).
-#}
with

rerating_checks as (

    select * from {{ ref('stg_lake__rerating_checks') }}

),

mismatches as (

    select *
    from rerating_checks
    where check_status = 'mismatch'

),

final as (

    select
        billing_period,
        'rerating_difference' as category,
        'usage_record' as subject_type,
        usage_id as subject_id,
        usage_id as subject_key,
        cast(1 as bigint) as record_count,
        cast(coalesce(abs(difference_micros), abs(billed_charge_micros)) as bigint)
            as amount_at_risk_micros,
        case
            when difference_micros is null
                then 'billed charge, unverified: the reference engine could not price it'
            else 'absolute difference between the re-rated and the billed charge'
        end as estimation_method,
        json_object(
            'usage_id', usage_id,
            'subscriber_id', subscriber_id,
            'account_id', account_id,
            'service', service,
            'event_date', event_date,
            'billed_currency', billed_currency,
            'billed_charge_micros', billed_charge_micros,
            'rerated_charge_micros', rerated_charge_micros,
            'difference_micros', difference_micros,
            'mismatch_reason', mismatch_reason,
            'rerated_rates', rerated_rates,
            'catalog_version', catalog_version,
            'sample_seed', sample_seed
        ) as evidence
    from mismatches

)

select * from final
