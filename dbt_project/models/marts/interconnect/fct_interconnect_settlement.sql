with

interconnect_legs as (

    select * from {{ ref('stg_lake__interconnect_legs') }}

),

carriers as (

    select * from {{ ref('stg_reference__carriers') }}

),

rated_legs as (

    select
        carrier_id,
        billing_period,
        destination_prefix,
        destination_name,
        count(*) as calls,
        sum(billable_seconds) as billable_seconds,
        sum(cost_micros) as cost_micros
    from interconnect_legs
    where rating_status = 'rated'
    group by carrier_id, billing_period, destination_prefix, destination_name

),

final as (

    select
        rated_legs.carrier_id,
        coalesce(carriers.carrier_name, 'unknown carrier') as carrier_name,
        rated_legs.billing_period,
        rated_legs.destination_prefix,
        rated_legs.destination_name,
        cast(rated_legs.calls as bigint) as calls,
        cast(rated_legs.billable_seconds as bigint) as billable_seconds,
        cast(rated_legs.cost_micros as bigint) as cost_micros
    from rated_legs
    left join carriers
        on rated_legs.carrier_id = carriers.carrier_id

)

select * from final
