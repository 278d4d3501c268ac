{#-
    Network (HLR) against billing (subscribers), at the latest HLR snapshot.

    provisioned_not_billed: an IMSI active in the HLR that no active or suspended mobile
    subscriber holds (absent, or only on a cancelled subscriber). Revenue at risk: the monthly
    fee of the cheapest paid mobile plan in force at the snapshot date (a free, subsidised
    plan such as Lifeline is not what an unbilled line would pay); usage the IMSI generated
    is valued under usage_in_suspense, not here, so it is not counted twice.

    billed_not_provisioned: an active mobile subscriber whose IMSI is not active in the HLR
    (absent or barred): over-billing risk. Amount: the subscriber's recurring and usage
    charges (rated records and usage priced on aggregate) in the snapshot's billing period,
    or the plan's monthly fee when that period is not rated yet.

    record_count: usage records of the IMSI (or subscriber) in the snapshot's period.
-#}
with

hlr_subscriptions as (

    select * from {{ ref('stg_reference__hlr_subscriptions') }}

),

subscribers as (

    select * from {{ ref('stg_reference__subscribers') }}

),

plans as (

    select * from {{ ref('stg_reference__plans') }}

),

recurring_charges as (

    select * from {{ ref('stg_lake__recurring_charges') }}

),

rated_usage_records as (

    select * from {{ ref('stg_lake__rated_usage_records') }}

),

usage_aggregate_charges as (

    select * from {{ ref('stg_lake__usage_aggregate_charges') }}

),

latest_snapshot as (

    select
        *,
        strftime(snapshot_date, '%Y-%m') as billing_period
    from hlr_subscriptions
    qualify snapshot_date = max(snapshot_date) over ()

),

billed_imsis as (

    select distinct imsi
    from subscribers
    where service_type = 'mobile' and status in ('active', 'suspended') and imsi is not null

),

provisioned_imsis as (

    select distinct imsi
    from latest_snapshot
    where provisioning_status = 'active'

),

cheapest_mobile_plan as (

    select
        plans.plan_id,
        plans.monthly_fee_micros
    from plans
    where
        plans.service_type = 'mobile'
        and plans.monthly_fee_micros > 0
        and plans.effective_from <= (select max(latest_snapshot.snapshot_date) from latest_snapshot)
        and coalesce(plans.effective_to, date '9999-12-31')
        >= (select max(latest_snapshot.snapshot_date) from latest_snapshot)
    order by plans.monthly_fee_micros asc, plans.plan_id asc
    limit 1

),

usage_by_imsi as (

    select
        billing_period,
        served_imsi,
        count(*) as record_count
    from rated_usage_records
    where served_imsi is not null
    group by billing_period, served_imsi

),

usage_by_subscriber as (

    select
        billing_period,
        subscriber_id,
        count(*) as record_count,
        sum(charge_micros) filter (where rating_status = 'rated') as charge_micros
    from rated_usage_records
    where subscriber_id is not null
    group by billing_period, subscriber_id

),

provisioned_not_billed as (

    select
        latest_snapshot.billing_period,
        'provisioned_not_billed' as category,
        'imsi' as subject_type,
        latest_snapshot.imsi as subject_id,
        latest_snapshot.imsi as subject_key,
        coalesce(usage_by_imsi.record_count, 0) as record_count,
        coalesce(cheapest_mobile_plan.monthly_fee_micros, 0) as amount_at_risk_micros,
        'monthly fee of the cheapest paid mobile plan in force ('
        || coalesce(cheapest_mobile_plan.plan_id, 'none')
        || '); usage of the IMSI is valued under usage_in_suspense' as estimation_method,
        json_object(
            'imsi', latest_snapshot.imsi,
            'msisdn', latest_snapshot.msisdn,
            'hlr_status', latest_snapshot.provisioning_status,
            'snapshot_date', latest_snapshot.snapshot_date
        ) as evidence
    from latest_snapshot
    left join cheapest_mobile_plan on true
    left join usage_by_imsi
        on
            latest_snapshot.imsi = usage_by_imsi.served_imsi
            and latest_snapshot.billing_period = usage_by_imsi.billing_period
    where
        latest_snapshot.provisioning_status = 'active'
        and latest_snapshot.imsi not in (select billed_imsis.imsi from billed_imsis)

),

active_mobile_subscribers as (

    select
        subscribers.*,
        (select any_value(latest_snapshot.billing_period) from latest_snapshot) as billing_period
    from subscribers
    where
        subscribers.service_type = 'mobile'
        and subscribers.status = 'active'
        and exists (select 1 from latest_snapshot)

),

aggregate_charges_by_subscriber as (

    select
        billing_period,
        subscriber_id,
        sum(charge_micros) as charge_micros
    from usage_aggregate_charges
    group by billing_period, subscriber_id

),

subscriber_period_charges as (

    select
        subscriber_id,
        billing_period,
        sum(charge_micros) as charge_micros
    from recurring_charges
    group by subscriber_id, billing_period

),

current_plan_fees as (

    select
        plan_id,
        monthly_fee_micros
    from plans
    qualify row_number() over (partition by plan_id order by effective_from desc) = 1

),

billed_not_provisioned as (

    select
        active_mobile_subscribers.billing_period,
        'billed_not_provisioned' as category,
        'subscriber' as subject_type,
        active_mobile_subscribers.subscriber_id as subject_id,
        active_mobile_subscribers.subscriber_id as subject_key,
        coalesce(usage_by_subscriber.record_count, 0) as record_count,
        coalesce(
            subscriber_period_charges.charge_micros, current_plan_fees.monthly_fee_micros, 0
        )
        + coalesce(usage_by_subscriber.charge_micros, 0)
        + coalesce(aggregate_charges_by_subscriber.charge_micros, 0) as amount_at_risk_micros,
        case
            when subscriber_period_charges.charge_micros is not null
                then 'over-billing risk: recurring and usage charges billed in the period'
            else 'over-billing risk: monthly fee of the plan (period not rated yet)'
        end as estimation_method,
        json_object(
            'subscriber_id', active_mobile_subscribers.subscriber_id,
            'account_id', active_mobile_subscribers.account_id,
            'imsi', active_mobile_subscribers.imsi,
            'msisdn', active_mobile_subscribers.msisdn,
            'hlr_status', coalesce(
                (
                    select any_value(latest_snapshot.provisioning_status)
                    from latest_snapshot
                    where latest_snapshot.imsi = active_mobile_subscribers.imsi
                ),
                'absent'
            )
        ) as evidence
    from active_mobile_subscribers
    left join subscriber_period_charges
        on
            active_mobile_subscribers.subscriber_id = subscriber_period_charges.subscriber_id
            and active_mobile_subscribers.billing_period = subscriber_period_charges.billing_period
    left join current_plan_fees
        on active_mobile_subscribers.plan_id = current_plan_fees.plan_id
    left join usage_by_subscriber
        on
            active_mobile_subscribers.subscriber_id = usage_by_subscriber.subscriber_id
            and active_mobile_subscribers.billing_period = usage_by_subscriber.billing_period
    left join aggregate_charges_by_subscriber
        on
            active_mobile_subscribers.subscriber_id = aggregate_charges_by_subscriber.subscriber_id
            and active_mobile_subscribers.billing_period
            = aggregate_charges_by_subscriber.billing_period
    where
        active_mobile_subscribers.imsi is null
        or active_mobile_subscribers.imsi not in (
            select provisioned_imsis.imsi from provisioned_imsis
        )

),

unioned as (

    select * from provisioned_not_billed
    union all
    select * from billed_not_provisioned

)

select * from unioned
