with

source_rows as (

    select * from {{ lake_source('credit_notes') }}

),

renamed as (

    select
        billing_period,
        note_id,
        note_type,
        account_id,
        corrected_period,
        corrected_invoice_id,
        note_date,
        due_date,
        charges_delta_micros,
        tax_delta_micros,
        amount_micros
    from source_rows

)

select * from renamed
