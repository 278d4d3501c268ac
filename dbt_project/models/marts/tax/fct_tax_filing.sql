{#-
    What the operator files per billing period, jurisdiction and tax: the taxable base, the
    tax billed to customers (billable lines) and the tax the carrier owes out of its own
    revenue (compliance-only lines). A state or local return is the sum of its
    jurisdiction's rows over the return's periods; filing_quarter groups them for quarterly
    returns.
-#}
with

tax_lines as (

    select * from {{ ref('stg_lake__tax_lines') }}

),

summed as (

    select
        billing_period,
        jurisdiction_id,
        jurisdiction_level,
        jurisdiction_code,
        jurisdiction_name,
        tax_id,
        tax_type,
        tax_name,
        kind,
        count(*) as charge_count,
        sum(taxable_base_micros) as taxable_base_micros,
        sum(case when is_billable then tax_micros else 0 end) as billed_tax_micros,
        sum(case when is_billable then 0 else tax_micros end) as carrier_owed_tax_micros
    from tax_lines
    group by
        billing_period,
        jurisdiction_id,
        jurisdiction_level,
        jurisdiction_code,
        jurisdiction_name,
        tax_id,
        tax_type,
        tax_name,
        kind

),

final as (

    select
        billing_period,
        {{ billing_period_quarter('billing_period') }} as filing_quarter,
        jurisdiction_id,
        jurisdiction_level,
        jurisdiction_code,
        jurisdiction_name,
        tax_id,
        tax_type,
        tax_name,
        kind,
        cast(charge_count as bigint) as charge_count,
        cast(taxable_base_micros as bigint) as taxable_base_micros,
        cast(billed_tax_micros as bigint) as billed_tax_micros,
        cast(carrier_owed_tax_micros as bigint) as carrier_owed_tax_micros,
        cast(billed_tax_micros + carrier_owed_tax_micros as bigint) as total_tax_micros
    from summed

)

select * from final
