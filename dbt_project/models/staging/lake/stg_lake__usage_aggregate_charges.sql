with

source_rows as (

    select * from {{ lake_source('usage_aggregate_charges') }}

),

renamed as (

    select
        billing_period,
        subscriber_id,
        account_id,
        plan_id,
        offer_effective_from,
        service,
        pricing_model,
        records as record_count,
        chargeable_units,
        priced_units,
        charge_micros,
        tiers
    from source_rows

)

select * from renamed
