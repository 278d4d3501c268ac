{#-
    What each carrier and the operator owe each other per billing period: the rated
    interconnect legs summed per carrier, direction and destination. Outbound legs are the
    carrier's termination charges to us (payable), inbound legs our origination charges to
    the carrier (receivable). Sum the rows of a destination_group for the totals by group.
-#}
with

legs as (

    select * from {{ ref('stg_lake__interconnect_legs') }}
    where rating_status = 'rated'

),

carriers as (

    select * from {{ ref('stg_reference__carriers') }}

),

settled as (

    select
        carrier_id,
        billing_period,
        leg_direction,
        destination_group,
        destination_prefix,
        destination_name,
        currency,
        count(*) as calls,
        count(*) filter (where ported) as ported_calls,
        sum(duration_seconds) as duration_seconds,
        sum(billable_seconds) as billable_seconds,
        sum(amount_micros) as amount_micros
    from legs
    group by all

),

final as (

    select
        settled.carrier_id,
        coalesce(carriers.carrier_name, 'unknown carrier') as carrier_name,
        settled.billing_period,
        settled.leg_direction,
        case settled.leg_direction
            when 'outbound' then 'payable'
            else 'receivable'
        end as settlement_side,
        settled.destination_group,
        settled.destination_prefix,
        settled.destination_name,
        settled.currency,
        cast(settled.calls as bigint) as calls,
        cast(settled.ported_calls as bigint) as ported_calls,
        cast(settled.duration_seconds as bigint) as duration_seconds,
        cast(settled.billable_seconds as bigint) as billable_seconds,
        cast(settled.billable_seconds / 60 as decimal(18, 2)) as billable_minutes,
        cast(settled.amount_micros as bigint) as amount_micros
    from settled
    left join carriers
        on settled.carrier_id = carriers.carrier_id

)

select * from final
