{#-
    Invoice header per account and billing period. The amounts are summed from the charge
    sources themselves (recurring charges, rated usage and usage priced on aggregate,
    the tax engine's lines, the applied credits), not from fct_invoice_lines, so the test `total = sum of lines` compares two independent paths.
-#}
with

invoice_lines as (

    select * from {{ ref('fct_invoice_lines') }}

),

recurring_charges as (

    select * from {{ ref('stg_lake__recurring_charges') }}

),

rated_usage_records as (

    select * from {{ ref('stg_lake__rated_usage_records') }}

),

usage_aggregate_charges as (

    select * from {{ ref('stg_lake__usage_aggregate_charges') }}

),

tax_lines as (

    select * from {{ ref('stg_lake__tax_lines') }}

),

billed_charges as (

    select * from {{ ref('stg_lake__billed_charges') }}

),

invoices as (

    select
        invoice_id,
        account_id,
        billing_period,
        count(*) as line_count
    from invoice_lines
    group by invoice_id, account_id, billing_period

),

recurring_totals as (

    select
        account_id,
        billing_period,
        sum(charge_micros) as recurring_micros
    from recurring_charges
    group by account_id, billing_period

),

usage_charges as (

    select
        account_id,
        billing_period,
        charge_micros
    from rated_usage_records
    where rating_status = 'rated'
    union all
    select
        account_id,
        billing_period,
        charge_micros
    from usage_aggregate_charges

),

usage_totals as (

    select
        account_id,
        billing_period,
        sum(charge_micros) as usage_micros
    from usage_charges
    group by account_id, billing_period

),

credit_totals as (

    select
        account_id,
        billing_period,
        sum(amount_micros) as credit_micros
    from billed_charges
    where charge_source = 'adjustment'
    group by account_id, billing_period

),

tax_totals as (

    select
        account_id,
        billing_period,
        sum(tax_micros) as tax_micros
    from tax_lines
    where is_billable
    group by account_id, billing_period

),

joined as (

    select
        invoices.invoice_id,
        invoices.account_id,
        invoices.billing_period,
        invoices.line_count,
        coalesce(recurring_totals.recurring_micros, 0) as recurring_micros,
        coalesce(usage_totals.usage_micros, 0) as usage_micros,
        coalesce(credit_totals.credit_micros, 0) as credit_micros,
        coalesce(tax_totals.tax_micros, 0) as tax_micros
    from invoices
    left join recurring_totals
        on
            invoices.account_id = recurring_totals.account_id
            and invoices.billing_period = recurring_totals.billing_period
    left join usage_totals
        on
            invoices.account_id = usage_totals.account_id
            and invoices.billing_period = usage_totals.billing_period
    left join credit_totals
        on
            invoices.account_id = credit_totals.account_id
            and invoices.billing_period = credit_totals.billing_period
    left join tax_totals
        on
            invoices.account_id = tax_totals.account_id
            and invoices.billing_period = tax_totals.billing_period

),

final as (

    select
        invoice_id,
        account_id,
        billing_period,
        {{ billing_period_start('billing_period') }} as period_start_date,
        {{ billing_period_end('billing_period') }} as period_end_date,
        cast({{ billing_period_end('billing_period') }} + interval 1 day as date) as invoice_date,
        cast({{ billing_period_end('billing_period') }} + interval 22 day as date) as due_date,
        cast(line_count as integer) as line_count,
        cast(recurring_micros as bigint) as recurring_micros,
        cast(usage_micros as bigint) as usage_micros,
        cast(credit_micros as bigint) as credit_micros,
        cast(recurring_micros + usage_micros + credit_micros as bigint) as subtotal_micros,
        cast(tax_micros as bigint) as tax_micros,
        cast(recurring_micros + usage_micros + credit_micros + tax_micros as bigint)
            as total_micros
    from joined

)

select * from final
