with

source_rows as (

    select * from {{ lake_source('rerate_account_differences') }}

),

renamed as (

    select
        rerate_run_id,
        billing_period,
        rating_version,
        account_id,
        usage_charge_before_micros,
        usage_charge_after_micros,
        recurring_charge_before_micros,
        recurring_charge_after_micros,
        charge_before_micros,
        charge_after_micros,
        difference_micros,
        tax_before_micros,
        tax_after_micros,
        records_changed
    from source_rows

)

select * from renamed
