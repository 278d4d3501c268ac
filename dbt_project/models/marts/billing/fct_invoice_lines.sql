with

recurring_charges as (

    select * from {{ ref('stg_lake__recurring_charges') }}

),

plans as (

    select * from {{ ref('stg_reference__plans') }}

),

usage_charges as (

    select * from {{ ref('int_usage_charges_aggregated') }}

),

adjustments as (

    select * from {{ ref('stg_lake__adjustments') }}

),

invoice_taxes as (

    select * from {{ ref('int_invoice_taxes_aggregated') }}

),

plan_names as (

    select
        plan_id,
        plan_name
    from plans
    qualify row_number() over (partition by plan_id order by effective_from desc) = 1

),

recurring_lines as (

    select
        recurring_charges.account_id,
        recurring_charges.billing_period,
        recurring_charges.subscriber_id,
        'recurring' as line_type,
        cast(null as varchar) as service,
        'REC-' || recurring_charges.subscriber_id || '-' || recurring_charges.plan_id as line_key,
        coalesce(plan_names.plan_name, recurring_charges.plan_id)
        || ' monthly fee, ' || recurring_charges.active_days || '/'
        || recurring_charges.period_days || ' days' as description,
        cast(recurring_charges.active_days as bigint) as quantity,
        'days' as quantity_unit,
        cast(null as varchar) as tax_id,
        recurring_charges.charge_micros as amount_micros
    from recurring_charges
    left join plan_names
        on recurring_charges.plan_id = plan_names.plan_id

),

usage_lines as (

    select
        account_id,
        billing_period,
        subscriber_id,
        'usage' as line_type,
        service,
        'USG-' || subscriber_id || '-' || service as line_key,
        service || ' usage' as description,
        record_count as quantity,
        case service
            when 'voice' then 'calls'
            when 'sms' then 'messages'
            when 'data' then 'sessions'
            else 'records'
        end as quantity_unit,
        cast(null as varchar) as tax_id,
        charge_micros as amount_micros
    from usage_charges

),

tax_lines as (

    select
        account_id,
        billing_period,
        cast(null as varchar) as subscriber_id,
        'tax' as line_type,
        cast(null as varchar) as service,
        'TAX-' || tax_id as line_key,
        tax_name as description,
        case method
            when 'per_line' then billed_lines
            when 'per_minute' then billed_minutes
            else taxable_base_micros
        end as quantity,
        case method
            when 'per_line' then 'lines'
            when 'per_minute' then 'minutes'
            else 'base_micros'
        end as quantity_unit,
        tax_id,
        tax_micros as amount_micros
    from invoice_taxes
    where is_billable and tax_micros <> 0

),

credit_lines as (

    select
        account_id,
        billing_period,
        subscriber_id,
        'credit' as line_type,
        cast(null as varchar) as service,
        'CRD-' || adjustment_id as line_key,
        upper(left(adjustment_type, 1)) || substr(adjustment_type, 2) || ' credit: '
        || coalesce(description, adjustment_id) as description,
        cast(null as bigint) as quantity,
        cast(null as varchar) as quantity_unit,
        cast(null as varchar) as tax_id,
        -amount_micros as amount_micros
    from adjustments
    where adjustment_status = 'applied'

),

unioned as (

    select * from recurring_lines
    union all
    select * from usage_lines
    union all
    select * from credit_lines
    union all
    select * from tax_lines

),

final as (

    select
        'INV-' || replace(billing_period, '-', '') || '-' || account_id || '-' || line_key
            as invoice_line_id,
        'INV-' || replace(billing_period, '-', '') || '-' || account_id as invoice_id,
        account_id,
        billing_period,
        subscriber_id,
        line_type,
        service,
        description,
        cast(quantity as bigint) as quantity,
        quantity_unit,
        tax_id,
        cast(amount_micros as bigint) as amount_micros
    from unioned

)

select * from final
