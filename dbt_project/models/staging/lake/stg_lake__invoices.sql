with

source_rows as (

    select * from {{ lake_source('invoices') }}

),

renamed as (

    select
        invoice_id,
        billing_period,
        rating_version,
        account_id,
        currency,
        bill_cycle_day,
        time_zone,
        usage_from,
        usage_to,
        advance_from,
        advance_to,
        invoice_date,
        due_date,
        charges_micros,
        tax_micros,
        total_micros,
        corrections_micros,
        previous_balance_micros,
        payments_micros,
        amount_due_micros
    from source_rows

)

select * from renamed
