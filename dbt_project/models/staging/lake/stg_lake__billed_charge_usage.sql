with

source_rows as (

    select * from {{ lake_source('billed_charge_usage') }}

),

renamed as (

    select
        billing_period,
        charge_id,
        link_source,
        usage_id,
        plan_id,
        offer_effective_from,
        service,
        charge_micros
    from source_rows

)

select * from renamed
