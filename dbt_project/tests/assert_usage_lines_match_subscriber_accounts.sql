{#-
    Usage lines of each invoice = rated charges and aggregate usage charges of the account's
    subscribers, where the subscriber's account comes from the subscriber master
    (dim_subscribers), not from the rated or charge row, within half a cent per usage line
    (each is rounded to the cent). A rated row or an aggregate charge carrying the wrong
    account, or none, makes this fail.
-#}
with

current_periods as (

    -- Periods whose invoices show the current rating: a re-rated period's issued invoices
    -- keep the old version, and the difference is on the next bill's notes.
    select distinct invoices.billing_period
    from {{ ref('fct_invoices') }} as invoices
    inner join {{ ref('stg_lake__rating_periods') }} as rating_periods
        on
            invoices.billing_period = rating_periods.billing_period
            and invoices.rating_version = rating_periods.rating_version

),

invoice_lines as (

    select * from {{ ref('fct_invoice_lines') }}

),

rated_usage as (

    select * from {{ ref('fct_rated_usage') }}

),

usage_aggregate_charges as (

    select * from {{ ref('stg_lake__usage_aggregate_charges') }}

),

subscribers as (

    select * from {{ ref('dim_subscribers') }}

),

charges as (

    select
        subscriber_id,
        billing_period,
        charge_micros
    from rated_usage
    where rating_status = 'rated'
    union all
    select
        subscriber_id,
        billing_period,
        charge_micros
    from usage_aggregate_charges

),

billed as (

    select
        account_id,
        billing_period,
        sum(amount_micros) as usage_line_micros,
        count(*) as usage_lines
    from invoice_lines
    where line_type = 'usage'
    group by account_id, billing_period

),

rated as (

    select
        subscribers.account_id,
        charges.billing_period,
        sum(charges.charge_micros) as rated_micros
    from charges
    left join subscribers
        on charges.subscriber_id = subscribers.subscriber_id
    group by subscribers.account_id, charges.billing_period

)

select
    coalesce(billed.account_id, rated.account_id) as account_id,
    coalesce(billed.billing_period, rated.billing_period) as billing_period,
    billed.usage_line_micros,
    rated.rated_micros
from billed
full outer join rated
    on
        billed.account_id is not distinct from rated.account_id
        and billed.billing_period = rated.billing_period
-- Each usage line is rounded to the cent: at most half a cent off per line.
where
    abs(coalesce(billed.usage_line_micros, 0) - coalesce(rated.rated_micros, 0))
    > 5000 * coalesce(billed.usage_lines, 0)
    and coalesce(billed.billing_period, rated.billing_period)
    in (select current_periods.billing_period from current_periods)
    -- A period whose call detail the retention purge deleted has no records to tie to.
    and coalesce(billed.billing_period, rated.billing_period) not in (
        select purged.billing_period from {{ ref('int_call_detail_purged_periods') }} as purged
    )
