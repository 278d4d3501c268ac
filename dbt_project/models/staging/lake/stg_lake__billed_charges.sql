with

source_rows as (

    select * from {{ lake_source('billed_charges') }}

),

renamed as (

    select
        billing_period,
        charge_id,
        charge_source,
        account_id,
        subscriber_id,
        plan_id,
        service_type,
        category,
        description,
        quantity,
        quantity_unit,
        service_from,
        service_to,
        charge_date,
        customer_class,
        tax_area_id,
        currency,
        lines,
        minutes_micros,
        records,
        amount_micros,
        interstate_share_ppm,
        interstate_micros,
        net_micros,
        tax_status,
        ruleset_version
    from source_rows

)

select * from renamed
