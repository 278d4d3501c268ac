with

source_rows as (

    select * from {{ lake_source('recurring_charges') }}

),

renamed as (

    select
        billing_period,
        subscriber_id,
        account_id,
        plan_id,
        offer_kind,
        service_type,
        recurring_kind,
        period_start_date,
        period_end_date,
        service_from,
        service_to,
        active_days,
        period_days,
        monthly_fee_micros,
        charge_micros
    from source_rows

)

select * from renamed
