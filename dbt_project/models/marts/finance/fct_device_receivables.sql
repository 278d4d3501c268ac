{#-
    Every device installment agreement after every bill run: what the run billed (an
    installment or the payoff on cancellation, on the account's invoice of the run), billed
    to date, the balance left, and the sale recognised on the run of installment 1.
-#}
with

device_receivables as (

    select * from {{ ref('stg_lake__device_receivables') }}

),

final as (

    select
        billing_period || '/' || agreement_id as device_receivable_key,
        billing_period,
        agreement_id,
        account_id,
        subscriber_id,
        device_name,
        financed_micros,
        installment_count,
        installment_number,
        billed_micros,
        billed_to_date_micros,
        remaining_balance_micros,
        financed_recognised_micros,
        agreement_status,
        case
            when billed_micros > 0
                then 'INV-' || replace(billing_period, '-', '') || '-' || account_id
        end as invoice_id
    from device_receivables

)

select * from final
