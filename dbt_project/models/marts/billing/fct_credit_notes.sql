{#-
    Every credit and debit note: the correction of an issued invoice (its re-rated charges
    and taxes less what it said and the notes before), issued with a later bill, which
    shows it and adds it to the amount due.
-#}
with

credit_notes as (

    select * from {{ ref('stg_lake__credit_notes') }}

),

final as (

    select
        note_id,
        note_type,
        account_id,
        billing_period,
        'INV-' || replace(billing_period, '-', '') || '-' || account_id as invoice_id,
        corrected_period,
        corrected_invoice_id,
        note_date,
        due_date,
        charges_delta_micros,
        tax_delta_micros,
        amount_micros
    from credit_notes

)

select * from final
