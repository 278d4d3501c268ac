with

source_rows as (

    select * from {{ lake_source('rerating_checks') }}

),

renamed as (

    select
        billing_period,
        usage_id,
        subscriber_id,
        account_id,
        service,
        event_date,
        catalog_version,
        billed_currency,
        billed_charge_micros,
        rerated_charge_micros,
        difference_micros,
        check_status,
        mismatch_reason,
        rerated_rates,
        sample_seed,
        sample_size
    from source_rows

)

select * from renamed
