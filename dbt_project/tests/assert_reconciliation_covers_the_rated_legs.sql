{#-
    In every period the interconnect stage reconciled, our side of the reconciliation is
    exactly the rated outbound legs, per carrier: no leg left out of the comparison with the
    carrier's invoice, none counted twice. Rows returned are the (period, carrier) that do
    not tie. Periods not reconciled yet (no reconciliation rows) are not compared.
-#}
with

reconciled_periods as (

    select distinct billing_period
    from {{ ref('fct_interconnect_reconciliation') }}

),

ours as (

    select
        billing_period,
        carrier_id,
        sum(our_calls) as calls,
        sum(our_amount_micros) as amount_micros
    from {{ ref('fct_interconnect_reconciliation') }}
    group by all

),

legs as (

    select
        billing_period,
        carrier_id,
        count(*) as calls,
        sum(amount_micros) as amount_micros
    from {{ ref('stg_lake__interconnect_legs') }}
    where
        rating_status = 'rated'
        and leg_direction = 'outbound'
        and billing_period in (select reconciled_periods.billing_period from reconciled_periods)
    group by all

)

select
    coalesce(ours.billing_period, legs.billing_period) as billing_period,
    coalesce(ours.carrier_id, legs.carrier_id) as carrier_id,
    ours.calls as reconciled_calls,
    legs.calls as leg_calls,
    ours.amount_micros as reconciled_micros,
    legs.amount_micros as leg_micros
from ours
full outer join legs
    on ours.billing_period = legs.billing_period and ours.carrier_id = legs.carrier_id
where
    (
        coalesce(ours.calls, 0) <> coalesce(legs.calls, 0)
        or coalesce(ours.amount_micros, 0) <> coalesce(legs.amount_micros, 0)
    )
    -- A period whose call detail the retention purge deleted has no legs to tie to.
    and coalesce(ours.billing_period, legs.billing_period) not in (
        select purged.billing_period from {{ ref('int_call_detail_purged_periods') }} as purged
    )
