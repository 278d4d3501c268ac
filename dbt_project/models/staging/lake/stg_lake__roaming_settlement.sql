with

source_rows as (

    select * from {{ lake_source('roaming_settlement') }}

),

renamed as (

    select
        billing_period,
        tadig,
        partner_name,
        direction,
        service,
        unit,
        files,
        events,
        units,
        charge_micros,
        tap_currency,
        settlement_currency,
        exchange_rate,
        exchange_rate_date,
        usd_equivalent_micros
    from source_rows

)

select * from renamed
