with

recurring_charges as (

    select * from {{ ref('stg_lake__recurring_charges') }}

),

usage_charges as (

    select * from {{ ref('int_usage_charges_aggregated') }}

),

subscribers as (

    select * from {{ ref('stg_reference__subscribers') }}

),

recurring_by_service_type as (

    select
        account_id,
        billing_period,
        service_type,
        sum(charge_micros) as recurring_micros,
        count(*) as recurring_lines,
        count(distinct case when active_days > 0 then subscriber_id end) as active_lines
    from recurring_charges
    group by account_id, billing_period, service_type

),

usage_by_service_type as (

    select
        usage_charges.account_id,
        usage_charges.billing_period,
        coalesce(subscribers.service_type, 'unknown') as service_type,
        sum(usage_charges.charge_micros) as usage_micros,
        count(*) as usage_lines
    from usage_charges
    left join subscribers
        on usage_charges.subscriber_id = subscribers.subscriber_id
    group by
        usage_charges.account_id,
        usage_charges.billing_period,
        coalesce(subscribers.service_type, 'unknown')

),

joined as (

    select
        coalesce(recurring_totals.account_id, usage_totals.account_id) as account_id,
        coalesce(recurring_totals.billing_period, usage_totals.billing_period) as billing_period,
        coalesce(recurring_totals.service_type, usage_totals.service_type) as service_type,
        coalesce(recurring_totals.recurring_micros, 0) as recurring_micros,
        coalesce(recurring_totals.recurring_lines, 0) as recurring_lines,
        coalesce(recurring_totals.active_lines, 0) as active_lines,
        coalesce(usage_totals.usage_micros, 0) as usage_micros,
        coalesce(usage_totals.usage_lines, 0) as usage_lines
    from recurring_by_service_type as recurring_totals
    full outer join usage_by_service_type as usage_totals
        on
            recurring_totals.account_id = usage_totals.account_id
            and recurring_totals.billing_period = usage_totals.billing_period
            and recurring_totals.service_type = usage_totals.service_type

),

final as (

    select
        account_id,
        billing_period,
        {{ billing_period_start('billing_period') }} as period_start_date,
        service_type,
        cast(recurring_micros as bigint) as recurring_micros,
        cast(recurring_lines as bigint) as recurring_lines,
        cast(active_lines as bigint) as active_lines,
        cast(usage_micros as bigint) as usage_micros,
        cast(usage_lines as bigint) as usage_lines
    from joined

)

select * from final
