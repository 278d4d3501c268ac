{{ config(alias='fct_invoice_lines') }}

with

invoice_lines as (

    select * from {{ ref('fct_invoice_lines') }}

),

final as (

    select
        invoice_line_id,
        invoice_id,
        account_id,
        billing_period,
        subscriber_id,
        line_type,
        category,
        plan_id,
        cpni_mask_text(description) as description,
        quantity,
        quantity_unit,
        service_from,
        service_to,
        tax_id,
        amount_micros
    from invoice_lines

)

select * from final
