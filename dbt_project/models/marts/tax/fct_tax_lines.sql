{#-
    Every tax, surcharge and fee the tax engine computed, one row per billed charge and
    applicable rule, with the invoice it lands on (billable lines) and the charge it was
    levied on: the audit trail from an invoice's tax line to the rule version and the charge.
-#}
with

tax_lines as (

    select * from {{ ref('stg_lake__tax_lines') }}

),

billed_charges as (

    select * from {{ ref('stg_lake__billed_charges') }}

),

joined as (

    select
        tax_lines.billing_period,
        tax_lines.charge_id,
        tax_lines.tax_id,
        tax_lines.rule_effective_from,
        tax_lines.account_id,
        billed_charges.subscriber_id,
        billed_charges.charge_source,
        billed_charges.category,
        billed_charges.customer_class,
        billed_charges.tax_area_id,
        billed_charges.amount_micros as charge_amount_micros,
        tax_lines.jurisdiction_id,
        tax_lines.jurisdiction_level,
        tax_lines.jurisdiction_code,
        tax_lines.jurisdiction_name,
        tax_lines.tax_type,
        tax_lines.tax_name,
        tax_lines.kind,
        tax_lines.method,
        tax_lines.taxable_base_micros,
        tax_lines.rate_ppm,
        tax_lines.amount_per_unit_micros,
        tax_lines.tax_micros,
        tax_lines.is_billable,
        tax_lines.calc_order,
        tax_lines.ruleset_version
    from tax_lines
    inner join billed_charges
        on
            tax_lines.billing_period = billed_charges.billing_period
            and tax_lines.charge_id = billed_charges.charge_id

),

final as (

    select
        billing_period || '/' || charge_id || '/' || tax_id as tax_line_id,
        case
            when is_billable
                then 'INV-' || replace(billing_period, '-', '') || '-' || account_id
        end as invoice_id,
        *
    from joined

)

select * from final
