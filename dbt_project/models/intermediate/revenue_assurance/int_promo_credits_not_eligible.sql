{#-
    promo_credit_not_eligible: an applied credit of any type that names a promotion its line
    is not eligible for in the credit's period, checked independently of the billing gate
    (which checks promotional credits only, so a goodwill or retention credit naming a
    promotion passes it). Eligibility, as docs/billing.md "Promotions" states it: the line is
    in service on the period's last day (activated on or before, not cancelled on or before,
    not suspended), on one of the promotion's plans, of its service type, of an account of
    its classes, activated within its window, the period within [first_period, last_period]
    and within credit_months runs of the line's start run. A promotion promotions.csv does
    not hold makes no line eligible; a credit on the account as a whole is eligible when a
    line of the account is. Amount at risk: the credit.
-#}
with

applied_credits as (

    select * from {{ ref('int_applied_credits_enriched') }}

),

promotions as (

    select * from {{ ref('stg_reference__promotions') }}

),

subscribers as (

    select * from {{ ref('stg_reference__subscribers') }}

),

accounts as (

    select * from {{ ref('stg_reference__accounts') }}

),

named_promotions as (

    select * from applied_credits
    where promotion_id is not null

),

candidate_lines as (

    select
        named_promotions.credit_key,
        subscribers.subscriber_id,
        subscribers.plan_id,
        subscribers.service_type,
        subscribers.activated_date,
        subscribers.cancelled_date,
        subscribers.status,
        accounts.account_class
    from named_promotions
    inner join subscribers
        on
            named_promotions.account_id = subscribers.account_id
            and (
                named_promotions.subscriber_id is null
                or named_promotions.subscriber_id = subscribers.subscriber_id
            )
    left join accounts
        on subscribers.account_id = accounts.account_id

),

eligible_credits as (

    select distinct candidate_lines.credit_key
    from candidate_lines
    inner join named_promotions
        on candidate_lines.credit_key = named_promotions.credit_key
    inner join promotions
        on named_promotions.promotion_id = promotions.promotion_id
    where
        candidate_lines.activated_date <= named_promotions.period_close_date
        and (
            candidate_lines.cancelled_date is null
            or candidate_lines.cancelled_date > named_promotions.period_close_date
        )
        and candidate_lines.status != 'suspended'
        and (
            promotions.plan_ids is null
            or list_contains(promotions.plan_ids, candidate_lines.plan_id)
        )
        and (
            promotions.service_type is null
            or promotions.service_type = candidate_lines.service_type
        )
        and (
            promotions.account_classes is null
            or list_contains(promotions.account_classes, candidate_lines.account_class)
        )
        and (
            promotions.activated_from is null
            or candidate_lines.activated_date >= promotions.activated_from
        )
        and (
            promotions.activated_to is null
            or candidate_lines.activated_date <= promotions.activated_to
        )
        and named_promotions.billing_period >= promotions.first_period
        and (
            promotions.last_period is null
            or named_promotions.billing_period <= promotions.last_period
        )
        -- Runs since the start run: the activation's period, or the promotion's first.
        and date_diff(
            'month',
            greatest(
                date_trunc('month', candidate_lines.activated_date),
                cast(promotions.first_period || '-01' as date)
            ),
            cast(named_promotions.billing_period || '-01' as date)
        ) < promotions.credit_months

),

final as (

    select
        named_promotions.billing_period,
        'promo_credit_not_eligible' as category,
        'adjustment' as subject_type,
        named_promotions.adjustment_id as subject_id,
        named_promotions.adjustment_id as subject_key,
        cast(1 as bigint) as record_count,
        named_promotions.amount_micros as amount_at_risk_micros,
        'the credit applied' as estimation_method,
        json_object(
            'adjustment_id', named_promotions.adjustment_id,
            'adjustment_type', named_promotions.adjustment_type,
            'account_id', named_promotions.account_id,
            'subscriber_id', named_promotions.subscriber_id,
            'promotion_id', named_promotions.promotion_id,
            'plan_id', named_promotions.plan_id,
            'activated_date', named_promotions.activated_date
        ) as evidence
    from named_promotions
    left join eligible_credits
        on named_promotions.credit_key = eligible_credits.credit_key
    where eligible_credits.credit_key is null

)

select * from final
