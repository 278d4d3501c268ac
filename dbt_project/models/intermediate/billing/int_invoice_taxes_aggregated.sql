{#-
    Per account, billing period and tax: the tax engine's lines summed, with what each tax
    was levied on (lines for per-line fees, minutes for per-minute taxes, otherwise the
    taxable base). Zero-tax lines count too: the filing marts and the invoice choose what
    to show.
-#}
with

tax_lines as (

    select * from {{ ref('int_issued_tax_lines') }}

),

billed_charges as (

    select * from {{ ref('int_issued_billed_charges') }}

),

aggregated as (

    select
        tax_lines.account_id,
        tax_lines.billing_period,
        tax_lines.tax_id,
        tax_lines.tax_name,
        tax_lines.jurisdiction_level,
        tax_lines.jurisdiction_code,
        tax_lines.kind,
        tax_lines.method,
        tax_lines.is_billable,
        count(*) as charge_count,
        sum(billed_charges.lines) as billed_lines,
        sum(billed_charges.minutes_micros) // 1000000 as billed_minutes,
        sum(tax_lines.taxable_base_micros) as taxable_base_micros,
        sum(tax_lines.tax_micros) as tax_micros,
        bool_or(tax_lines.tax_type = 'usf') as is_usf
    from tax_lines
    inner join billed_charges
        on
            tax_lines.billing_period = billed_charges.billing_period
            and tax_lines.charge_id = billed_charges.charge_id
    group by
        tax_lines.account_id,
        tax_lines.billing_period,
        tax_lines.tax_id,
        tax_lines.tax_name,
        tax_lines.jurisdiction_level,
        tax_lines.jurisdiction_code,
        tax_lines.kind,
        tax_lines.method,
        tax_lines.is_billable

),

final as (

    select
        account_id,
        billing_period,
        tax_id,
        tax_name,
        jurisdiction_level,
        jurisdiction_code,
        kind,
        method,
        is_billable,
        cast(charge_count as bigint) as charge_count,
        cast(billed_lines as bigint) as billed_lines,
        cast(billed_minutes as bigint) as billed_minutes,
        cast(taxable_base_micros as bigint) as taxable_base_micros,
        cast(tax_micros as bigint) as tax_micros,
        {{ invoiced_tax('tax_micros', 'is_usf') }} as invoiced_micros
    from aggregated

)

select * from final
