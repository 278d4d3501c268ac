with

source_rows as (

    select * from {{ lake_source('rerate_runs') }}

),

renamed as (

    select
        rerate_run_id,
        billing_period,
        previous_version,
        rating_version,
        rerated_by,
        rerated_at,
        reason,
        usage_records_before,
        usage_records_after,
        records_changed,
        accounts_changed,
        usage_charge_before_micros,
        usage_charge_after_micros,
        recurring_charge_before_micros,
        recurring_charge_after_micros,
        interconnect_cost_before_micros,
        interconnect_cost_after_micros,
        tax_before_micros,
        tax_after_micros,
        suspense_records_before,
        suspense_records_after,
        reference_checksums_before,
        reference_checksums_after
    from source_rows

)

select * from renamed
