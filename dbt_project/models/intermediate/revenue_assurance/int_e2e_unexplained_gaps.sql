{#-
    Findings of category unexplained_usage_gap: one per billing period, feed and file date
    whose end-to-end reconciliation leaves records unexplained (int_e2e_feed_days_reconciled):
    accepted records no step accounts for (untraced), and `rated` records of an invoiced
    period on no issued invoice (not_invoiced). The amount at risk is the rated charge of the
    not-invoiced records; an untraced record was never priced, so it adds nothing.
-#}
with

feed_days as (

    select * from {{ ref('int_e2e_feed_days_reconciled') }}

),

findings as (

    select
        billing_period,
        'unexplained_usage_gap' as category,
        'feed_day' as subject_type,
        feed || '/' || cast(file_date as varchar) as subject_id,
        feed || '/' || cast(file_date as varchar) as subject_key,
        cast(unexplained_records as bigint) as record_count,
        cast(not_invoiced_charge_micros as bigint) as amount_at_risk_micros,
        'rated charge of the records on no issued invoice; untraced records not quantified'
            as estimation_method,
        cast(json_object(
            'feed', feed,
            'file_date', file_date,
            'switch_records', switch_records,
            'mediated_records', mediated_records,
            'untraced_records', untraced_records,
            'rated_records', rated_records,
            'charged_records', charged_records,
            'billed_records', billed_records,
            'not_invoiced_records', not_invoiced_records
        ) as varchar) as evidence
    from feed_days
    where unexplained_records <> 0

)

select * from findings
