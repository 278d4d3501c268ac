{#-
    What the allowance buckets paid = what the rated records say allowances covered: per
    billing period, account and service, used_from_grant + used_from_rollover of the
    account's buckets (its pool, and its lines' own buckets by the subscriber master; every
    scope, and every roaming category `<service>@<zone>` of the service) equals the
    allowance_units of its rated usage. A record draws from its line's and its account's
    buckets, so only the account total ties.
-#}
with

allowance_balances as (

    select * from {{ ref('stg_lake__allowance_balances') }}

),

subscribers as (

    select * from {{ ref('stg_reference__subscribers') }}

),

rated_usage_records as (

    select * from {{ ref('stg_lake__rated_usage_records') }}

),

bucket_draws as (

    select
        allowance_balances.billing_period,
        case allowance_balances.owner_kind
            when 'account' then allowance_balances.owner_id
            else subscribers.account_id
        end as account_id,
        split_part(allowance_balances.service, '@', 1) as service,
        allowance_balances.used_from_grant + allowance_balances.used_from_rollover as used_units
    from allowance_balances
    left join subscribers
        on
            allowance_balances.owner_kind = 'line'
            and allowance_balances.owner_id = subscribers.subscriber_id

),

drawn as (

    select
        billing_period,
        account_id,
        service,
        sum(used_units) as drawn_units
    from bucket_draws
    group by billing_period, account_id, service

),

covered as (

    select
        billing_period,
        account_id,
        service,
        sum(allowance_units) as covered_units
    from rated_usage_records
    where allowance_units <> 0
    group by billing_period, account_id, service

)

select
    coalesce(drawn.billing_period, covered.billing_period) as billing_period,
    coalesce(drawn.account_id, covered.account_id) as account_id,
    coalesce(drawn.service, covered.service) as service,
    drawn.drawn_units,
    covered.covered_units
from drawn
full outer join covered
    on
        drawn.billing_period = covered.billing_period
        and drawn.account_id is not distinct from covered.account_id
        and drawn.service = covered.service
where
    coalesce(drawn.drawn_units, 0) <> coalesce(covered.covered_units, 0)
    -- A period whose call detail the retention purge deleted has no records to tie to.
    and coalesce(drawn.billing_period, covered.billing_period) not in (
        select purged.billing_period from {{ ref('int_call_detail_purged_periods') }} as purged
    )
