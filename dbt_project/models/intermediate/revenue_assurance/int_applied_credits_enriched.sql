{#-
    Every credit the bill run applied (stg_lake__adjustments, status applied), with what the
    credit controls check it against: the promotion the granted row names (adjustments.csv;
    a promotion's automatic credit PROMO-<promotion_id>-<subscriber_id> names its own), the
    line and its account, and the period's close (the credit's date: adjustments.csv has
    none finer than the billing period). credit_key names one credit of one period: a
    promotion's automatic credit keeps its id from one bill run to the next.
-#}
with

adjustments as (

    select * from {{ ref('stg_lake__adjustments') }}

),

granted_adjustments as (

    select * from {{ ref('stg_reference__adjustments') }}

),

subscribers as (

    select * from {{ ref('stg_reference__subscribers') }}

),

accounts as (

    select * from {{ ref('stg_reference__accounts') }}

),

enriched as (

    select
        adjustments.billing_period || '/' || adjustments.adjustment_id as credit_key,
        adjustments.adjustment_id,
        adjustments.billing_period,
        adjustments.account_id,
        adjustments.subscriber_id,
        adjustments.adjustment_type,
        adjustments.amount_micros,
        adjustments.approved_by,
        adjustments.approval_limit_micros,
        coalesce(
            granted_adjustments.promotion_id,
            case
                when adjustments.adjustment_id like 'PROMO-%'
                    then
                        regexp_extract(
                            adjustments.adjustment_id,
                            '^PROMO-(.+)-' || adjustments.subscriber_id || '$',
                            1
                        )
            end
        ) as promotion_id,
        last_day(cast(adjustments.billing_period || '-01' as date)) as period_close_date,
        subscribers.plan_id,
        subscribers.service_type,
        subscribers.activated_date,
        subscribers.cancelled_date,
        subscribers.status as subscriber_status,
        accounts.account_class
    from adjustments
    left join granted_adjustments
        on
            adjustments.adjustment_id = granted_adjustments.adjustment_id
            and adjustments.billing_period = granted_adjustments.billing_period
    left join subscribers
        on adjustments.subscriber_id = subscribers.subscriber_id
    left join accounts
        on adjustments.account_id = accounts.account_id
    where adjustments.adjustment_status = 'applied'

)

select * from enriched
