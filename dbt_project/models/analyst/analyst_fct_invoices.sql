{{ config(alias='fct_invoices') }}

{#- No column names a subscriber, a number or a person: every one is kept. -#}
with

invoices as (

    select * from {{ ref('fct_invoices') }}

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
        line_count,
        recurring_micros,
        usage_micros,
        one_time_micros,
        equipment_micros,
        late_fee_micros,
        credit_micros,
        subtotal_micros,
        tax_micros,
        total_micros,
        corrections_micros,
        previous_balance_micros,
        payments_micros,
        amount_due_micros
    from invoices

)

select * from final
