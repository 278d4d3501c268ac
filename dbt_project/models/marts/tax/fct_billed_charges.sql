{#-
    Every charge of a bill run as the tax engine saw it: what was billed (recurring or usage
    per tax category), where it is taxed (tax area, customer class), its interstate share,
    its tax status, and the taxes it carries, billable and carrier-paid. A charge the engine
    could not tax has tax_status other than `ok` and no taxes: the billing checks fail on it.
-#}
with

billed_charges as (

    select * from {{ ref('stg_lake__billed_charges') }}

),

tax_lines as (

    select * from {{ ref('stg_lake__tax_lines') }}

),

usf_factors as (

    select * from {{ ref('stg_reference__usf_factors') }}

),

charge_taxes as (

    select
        billing_period,
        charge_id,
        count(*) as tax_line_count,
        sum(case when is_billable then tax_micros else 0 end) as billable_tax_micros,
        sum(case when is_billable then 0 else tax_micros end) as carrier_tax_micros,
        sum(case when tax_type = 'usf' and is_billable then tax_micros else 0 end)
            as usf_billed_micros,
        bool_or(tax_type = 'usf' and is_billable) as has_usf_line
    from tax_lines
    group by billing_period, charge_id

),

final as (

    select
        billed_charges.billing_period,
        billed_charges.charge_id,
        'INV-'
        || replace(billed_charges.billing_period, '-', '')
        || '-'
        || billed_charges.account_id as invoice_id,
        billed_charges.charge_source,
        billed_charges.account_id,
        billed_charges.subscriber_id,
        billed_charges.plan_id,
        billed_charges.service_type,
        billed_charges.category,
        billed_charges.charge_date,
        billed_charges.customer_class,
        billed_charges.tax_area_id,
        billed_charges.currency,
        billed_charges.lines,
        billed_charges.minutes_micros,
        billed_charges.records,
        billed_charges.amount_micros,
        billed_charges.interstate_share_ppm,
        billed_charges.interstate_micros,
        billed_charges.net_micros,
        billed_charges.tax_status,
        billed_charges.ruleset_version,
        cast(coalesce(charge_taxes.tax_line_count, 0) as bigint) as tax_line_count,
        cast(coalesce(charge_taxes.billable_tax_micros, 0) as bigint) as billable_tax_micros,
        cast(coalesce(charge_taxes.carrier_tax_micros, 0) as bigint) as carrier_tax_micros,
        cast(coalesce(charge_taxes.usf_billed_micros, 0) as bigint) as usf_billed_micros,
        coalesce(charge_taxes.has_usf_line, false) as has_usf_line,
        usf_factors.factor_ppm as usf_factor_ppm
    from billed_charges
    left join charge_taxes
        on
            billed_charges.billing_period = charge_taxes.billing_period
            and billed_charges.charge_id = charge_taxes.charge_id
    left join usf_factors
        on
            {{ billing_period_quarter('billed_charges.billing_period') }}
            = usf_factors.filing_quarter

)

select * from final
