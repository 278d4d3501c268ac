with

accounts as (

    select * from {{ ref('stg_reference__accounts') }}

),

service_addresses as (

    select * from {{ ref('stg_reference__service_addresses') }}

),

final as (

    select
        accounts.account_id,
        accounts.account_name,
        accounts.account_class,
        accounts.bill_cycle_day,
        accounts.currency,
        service_addresses.state,
        service_addresses.county,
        service_addresses.city,
        service_addresses.postal_code
    from accounts
    left join service_addresses
        on accounts.service_address_id = service_addresses.service_address_id

)

select * from final
