{#- Compliance-only taxes: owed by the carrier, never on the customer's invoice. -#}
with

taxes as (

    select * from {{ ref('int_taxes_computed') }}

),

compliance_only as (

    select
        account_id,
        billing_period,
        tax_rule_id,
        tax_name,
        jurisdiction_level,
        jurisdiction_code,
        charge_category,
        service_type,
        calculation_method,
        rate_ppm,
        amount_per_line_micros,
        base_micros,
        active_lines,
        tax_micros
    from taxes
    where not is_billable

)

select * from compliance_only
