{#-
    Every credit granted to an account for a billing period: applied (on the invoice, as a
    negative line, with its taxes reversed) or held with the reason, with who approved it
    and up to what limit. What finance and revenue assurance review.
-#}
with

adjustments as (

    select * from {{ ref('stg_lake__adjustments') }}

),

final as (

    select
        billing_period || '/' || adjustment_id as adjustment_key,
        adjustment_id,
        billing_period,
        account_id,
        subscriber_id,
        adjustment_type,
        category,
        amount_micros,
        description,
        approved_by,
        approval_limit_micros,
        adjustment_status,
        hold_reason,
        case
            when adjustment_status = 'applied'
                then 'INV-' || replace(billing_period, '-', '') || '-' || account_id
        end as invoice_id
    from adjustments

)

select * from final
