with

source_rows as (

    select * from {{ lake_source('allowance_balances') }}

),

renamed as (

    select
        billing_period,
        owner_kind,
        owner_id,
        service,
        scope,
        granted_at_close,
        rolled_in,
        used_from_rollover,
        used_from_grant,
        unused,
        rolled_out
    from source_rows

)

select * from renamed
