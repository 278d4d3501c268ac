with

source_rows as (

    select * from {{ lake_source('device_receivables') }}

),

renamed as (

    select
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
        agreement_status
    from source_rows

)

select * from renamed
