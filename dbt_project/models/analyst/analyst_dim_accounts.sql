{{ config(alias='dim_accounts') }}

with

accounts as (

    select * from {{ ref('dim_accounts') }}

),

final as (

    select
        account_id,
        cpni_token(account_name) as account_name,
        account_class,
        bill_cycle_day,
        currency,
        state,
        county,
        city,
        postal_code
    from accounts

)

select * from final
