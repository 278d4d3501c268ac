with

source_rows as (

    select * from {{ lake_source('tax_lines') }}

),

renamed as (

    select
        billing_period,
        charge_id,
        account_id,
        tax_id,
        rule_effective_from,
        jurisdiction_id,
        jurisdiction_level,
        jurisdiction_code,
        jurisdiction_name,
        tax_type,
        tax_name,
        kind,
        method,
        taxable_base_micros,
        rate_ppm,
        amount_per_unit_micros,
        tax_micros,
        is_billable,
        calc_order,
        ruleset_version
    from source_rows

)

select * from renamed
