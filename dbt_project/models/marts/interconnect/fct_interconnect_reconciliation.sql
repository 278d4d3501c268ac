{#-
    Each carrier's invoice against our rated view, one row per carrier, destination code and
    traffic date of the period (pipelines/interconnect/reconcile.py): calls, seconds and
    amounts on both sides, and the difference classified (match, rounding, rate, volume,
    timing) with its cause. docs/interconnect.md gives the rules.
-#}
with

reconciliation as (

    select * from {{ ref('stg_lake__interconnect_reconciliation') }}

),

carriers as (

    select * from {{ ref('stg_reference__carriers') }}

),

final as (

    select
        reconciliation.billing_period,
        reconciliation.carrier_id,
        coalesce(carriers.carrier_name, 'unknown carrier') as carrier_name,
        reconciliation.invoice_number,
        reconciliation.destination_code,
        reconciliation.destination_name,
        reconciliation.traffic_date,
        reconciliation.currency,
        reconciliation.our_calls,
        reconciliation.our_billable_seconds,
        reconciliation.our_amount_micros,
        reconciliation.their_calls,
        reconciliation.their_billable_seconds,
        reconciliation.their_amount_micros,
        reconciliation.expected_amount_micros,
        reconciliation.difference_micros,
        reconciliation.difference_class,
        reconciliation.cause,
        reconciliation.paired_traffic_date,
        array_to_string(reconciliation.duplicate_batches, ' ') as duplicate_batches,
        reconciliation.duplicate_amount_micros,
        reconciliation.detail
    from reconciliation
    left join carriers
        on reconciliation.carrier_id = carriers.carrier_id

)

select * from final
