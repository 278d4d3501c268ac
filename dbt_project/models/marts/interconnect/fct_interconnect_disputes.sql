{#-
    What we dispute with each carrier: the differences its invoice bills above its
    agreement's tolerance, per invoice, destination and cause, with the evidence an analyst
    sends (pipelines/interconnect/reconcile.py). Only rate and volume differences where the
    carrier bills more than our rated view are disputed.
-#}
with

disputes as (

    select * from {{ ref('stg_lake__interconnect_disputes') }}

),

carriers as (

    select * from {{ ref('stg_reference__carriers') }}

),

final as (

    select
        disputes.dispute_id,
        disputes.billing_period,
        disputes.carrier_id,
        coalesce(carriers.carrier_name, 'unknown carrier') as carrier_name,
        disputes.invoice_number,
        disputes.destination_code,
        disputes.destination_name,
        disputes.currency,
        disputes.difference_class,
        disputes.cause,
        cast(len(disputes.traffic_dates) as integer) as traffic_days,
        list_min(disputes.traffic_dates) as first_traffic_date,
        list_max(disputes.traffic_dates) as last_traffic_date,
        disputes.our_amount_micros,
        disputes.their_amount_micros,
        disputes.disputed_amount_micros,
        disputes.tolerance_micros,
        disputes.evidence,
        disputes.status
    from disputes
    left join carriers
        on disputes.carrier_id = carriers.carrier_id

)

select * from final
