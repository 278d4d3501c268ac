{#-
    Every invoice line: each billed charge of the bill run (recurring fees, usage per line
    and tax category, one-time fees, device installments, late fees, credits), and per
    account one line per billable tax with its total. The charges are the tax engine's
    input, so each line's amount is the base its taxes were computed on.
-#}
with

billed_charges as (

    select * from {{ ref('int_issued_billed_charges') }}

),

invoice_taxes as (

    select * from {{ ref('int_invoice_taxes_aggregated') }}

),

charge_lines as (

    select
        account_id,
        billing_period,
        subscriber_id,
        case charge_source
            when 'installment' then 'equipment'
            when 'adjustment' then 'credit'
            else charge_source
        end as line_type,
        category,
        plan_id,
        charge_id as line_key,
        description,
        quantity,
        quantity_unit,
        service_from,
        service_to,
        cast(null as varchar) as tax_id,
        amount_micros
    from billed_charges

),

tax_lines as (

    select
        account_id,
        billing_period,
        cast(null as varchar) as subscriber_id,
        'tax' as line_type,
        cast(null as varchar) as category,
        cast(null as varchar) as plan_id,
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
        cast(null as date) as service_from,
        cast(null as date) as service_to,
        tax_id,
        invoiced_micros as amount_micros
    from invoice_taxes
    where is_billable and invoiced_micros <> 0

),

unioned as (

    select * from charge_lines
    union all
    select * from tax_lines

),

final as (

    select
        'INV-' || replace(billing_period, '-', '') || '-' || account_id || '/' || line_key
            as invoice_line_id,
        'INV-' || replace(billing_period, '-', '') || '-' || account_id as invoice_id,
        account_id,
        billing_period,
        subscriber_id,
        line_type,
        category,
        plan_id,
        description,
        cast(quantity as bigint) as quantity,
        quantity_unit,
        service_from,
        service_to,
        tax_id,
        cast(amount_micros as bigint) as amount_micros
    from unioned

)

select * from final
