{#-
    terminated_line_usage: usage of lines after their cancellation date
    (int_terminated_line_records_matched), one finding per cancelled line and billing
    period. Amount at risk: the charge of records rated to the line (billed to a closed
    account), and the suspense estimate of records left in suspense
    (int_suspense_records_assigned) - those are counted here, not under usage_in_suspense.
-#}
with

terminated_line_records as (

    select * from {{ ref('int_terminated_line_records_matched') }}

),

suspense_records as (

    select * from {{ ref('int_suspense_records_assigned') }}

),

valued as (

    select
        terminated_line_records.billing_period,
        terminated_line_records.subscriber_id,
        any_value(terminated_line_records.account_id) as account_id,
        any_value(terminated_line_records.cancelled_date) as cancelled_date,
        count(*) as record_count,
        sum(
            case
                when terminated_line_records.rating_status = 'suspense'
                    then coalesce(suspense_records.estimated_micros, 0)
                else coalesce(terminated_line_records.charge_micros, 0)
            end
        ) as amount_micros,
        count(*) filter (where terminated_line_records.rating_status = 'suspense')
            as suspense_records,
        min(terminated_line_records.event_date) as first_event_date,
        max(terminated_line_records.event_date) as last_event_date,
        list(terminated_line_records.usage_id order by terminated_line_records.usage_id)[1:5]
            as sample_usage_ids
    from terminated_line_records
    left join suspense_records
        on
            terminated_line_records.usage_id = suspense_records.usage_id
            and suspense_records.leakage_category = 'terminated_line_usage'
    group by terminated_line_records.billing_period, terminated_line_records.subscriber_id

),

final as (

    select
        billing_period,
        'terminated_line_usage' as category,
        'subscriber' as subject_type,
        subscriber_id as subject_id,
        subscriber_id as subject_key,
        record_count,
        cast(amount_micros as bigint) as amount_at_risk_micros,
        'charges rated to the cancelled line, plus its suspense at the suspense estimate'
            as estimation_method,
        json_object(
            'account_id', account_id,
            'cancelled_date', cancelled_date,
            'first_event_date', first_event_date,
            'last_event_date', last_event_date,
            'suspense_records', suspense_records,
            'sample_usage_ids', sample_usage_ids
        ) as evidence
    from valued

)

select * from final
