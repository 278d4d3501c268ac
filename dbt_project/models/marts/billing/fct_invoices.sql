{#-
    Invoice header per account and billing period: the bill run's invoice (lake `invoices`:
    dates on the account's cycle, total, the credit and debit notes issued with it for
    earlier invoices, previous balance, payments, amount due) with its amounts by kind. Recurring fees are summed from the lake's recurring charges and taxes
    from the tax engine's lines, not from fct_invoice_lines, so the test
    `total = sum of lines` compares independent paths.
-#}
with

invoices as (

    select * from {{ ref('stg_lake__invoices') }}

),

recurring_charges as (

    select * from {{ ref('int_issued_recurring_charges') }}

),

billed_charges as (

    select * from {{ ref('int_issued_billed_charges') }}

),

tax_lines as (

    select * from {{ ref('int_issued_tax_lines') }}

),

invoice_lines as (

    select * from {{ ref('fct_invoice_lines') }}

),

line_counts as (

    select
        invoice_id,
        count(*) as line_count
    from invoice_lines
    group by invoice_id

),

recurring_totals as (

    select
        account_id,
        billing_period,
        sum(charge_micros) as recurring_micros
    from recurring_charges
    group by account_id, billing_period

),

charge_totals as (

    select
        account_id,
        billing_period,
        sum(amount_micros) filter (where charge_source = 'usage') as usage_micros,
        sum(amount_micros) filter (where charge_source = 'one_time') as one_time_micros,
        sum(amount_micros) filter (where charge_source = 'installment') as equipment_micros,
        sum(amount_micros) filter (where charge_source = 'late_fee') as late_fee_micros,
        sum(amount_micros) filter (where charge_source = 'adjustment') as credit_micros
    from billed_charges
    group by account_id, billing_period

),

invoice_taxes as (

    select
        account_id,
        billing_period,
        tax_id,
        {{ invoiced_tax('sum(tax_micros)', "bool_or(tax_type = 'usf')") }} as tax_micros
    from tax_lines
    where is_billable
    group by account_id, billing_period, tax_id

),

tax_totals as (

    select
        account_id,
        billing_period,
        sum(tax_micros) as tax_micros
    from invoice_taxes
    group by account_id, billing_period

),

joined as (

    select
        invoices.*,
        coalesce(line_counts.line_count, 0) as line_count,
        coalesce(recurring_totals.recurring_micros, 0) as recurring_micros,
        coalesce(charge_totals.usage_micros, 0) as usage_micros,
        coalesce(charge_totals.one_time_micros, 0) as one_time_micros,
        coalesce(charge_totals.equipment_micros, 0) as equipment_micros,
        coalesce(charge_totals.late_fee_micros, 0) as late_fee_micros,
        coalesce(charge_totals.credit_micros, 0) as credit_micros,
        coalesce(tax_totals.tax_micros, 0) as line_tax_micros
    from invoices
    left join line_counts
        on invoices.invoice_id = line_counts.invoice_id
    left join recurring_totals
        on
            invoices.account_id = recurring_totals.account_id
            and invoices.billing_period = recurring_totals.billing_period
    left join charge_totals
        on
            invoices.account_id = charge_totals.account_id
            and invoices.billing_period = charge_totals.billing_period
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
        rating_version,
        currency,
        bill_cycle_day,
        time_zone,
        usage_from,
        usage_to,
        advance_from,
        advance_to,
        invoice_date,
        due_date,
        cast(line_count as integer) as line_count,
        cast(recurring_micros as bigint) as recurring_micros,
        cast(usage_micros as bigint) as usage_micros,
        cast(one_time_micros as bigint) as one_time_micros,
        cast(equipment_micros as bigint) as equipment_micros,
        cast(late_fee_micros as bigint) as late_fee_micros,
        cast(credit_micros as bigint) as credit_micros,
        cast(
            recurring_micros + usage_micros + one_time_micros + equipment_micros
            + late_fee_micros + credit_micros as bigint
        ) as subtotal_micros,
        cast(line_tax_micros as bigint) as tax_micros,
        total_micros,
        corrections_micros,
        previous_balance_micros,
        payments_micros,
        amount_due_micros
    from joined

)

select * from final
