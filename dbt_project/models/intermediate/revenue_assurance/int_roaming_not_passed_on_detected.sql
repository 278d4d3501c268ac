{#-
    roaming_not_passed_on: payable roaming events (our subscribers abroad, in the partners'
    settled TAP files) with a charge, whose record has no positive retail charge: mediation
    refused it, rating left it in suspense (e.g. a cancelled line, a partner in no roaming
    zone) or rated it at zero. Records rating deems not billable (e.g. calls received
    abroad, which the tariff does not charge) are a tariff decision, not leakage. One
    finding per partner and IMSI. Amount at risk: what we pay the partner, in USD micros at
    the settlement's exchange rate (fct_roaming_settlement).
-#}
with

roaming_events as (

    select * from {{ ref('stg_lake__roaming_events') }}

),

rated_usage as (

    select * from {{ ref('fct_rated_usage') }}

),

roaming_settlement as (

    select * from {{ ref('fct_roaming_settlement') }}

),

unpassed_events as (

    select
        roaming_events.*,
        rated_usage.rating_status,
        cast(
            round(roaming_events.charge_micros * cast(roaming_settlement.exchange_rate as double))
            as bigint
        ) as usd_micros
    from roaming_events
    left join rated_usage
        on roaming_events.usage_id = rated_usage.usage_id
    left join roaming_settlement
        on
            roaming_events.billing_period = roaming_settlement.billing_period
            and roaming_events.tadig = roaming_settlement.tadig
            and roaming_events.direction = roaming_settlement.direction
            and roaming_events.service = roaming_settlement.service
    where
        roaming_events.direction = 'payable'
        and roaming_events.is_settled
        and roaming_events.charge_micros > 0
        and coalesce(rated_usage.rating_status, 'missing') != 'not_billable'
        and coalesce(rated_usage.charge_micros, 0) <= 0

),

final as (

    select
        billing_period,
        'roaming_not_passed_on' as category,
        'imsi' as subject_type,
        served_imsi as subject_id,
        tadig || '|' || served_imsi as subject_key,
        count(*) as record_count,
        sum(usd_micros) as amount_at_risk_micros,
        'partner charges of the events in USD at the settlement exchange rate'
            as estimation_method,
        json_object(
            'tadig', tadig,
            'served_msisdn', any_value(served_msisdn),
            'rating_statuses', list(distinct coalesce(rating_status, 'missing')),
            'sample_usage_ids', list(usage_id order by usage_id)[1:5]
        ) as evidence
    from unpassed_events
    group by billing_period, tadig, served_imsi

)

select * from final
