{{ config(alias='fct_adjustments') }}

with

adjustments as (

    select * from {{ ref('fct_adjustments') }}

),

final as (

    select
        adjustment_key,
        adjustment_id,
        billing_period,
        account_id,
        subscriber_id,
        adjustment_type,
        category,
        amount_micros,
        cpni_mask_text(description) as description,
        approved_by,
        approval_limit_micros,
        adjustment_status,
        hold_reason,
        invoice_id
    from adjustments

)

select * from final
