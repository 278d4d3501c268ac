{#-
    Usage on each invoice = charges of its rated records + its charges of usage priced on
    aggregate (graduated, volume, package), whose records carry charge 0, within half a cent
    per usage line (each line is rounded to the cent). fct_invoices sums the billed charges;
    this sums the rated usage mart and the aggregate charges.
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

invoices as (

    select * from {{ ref('fct_invoices') }}

),

usage_lines as (

    select
        invoice_id,
        count(*) as line_count
    from {{ ref('fct_invoice_lines') }}
    where line_type = 'usage'
    group by invoice_id

),

rated_usage as (

    select * from {{ ref('fct_rated_usage') }}

),

usage_aggregate_charges as (

    select * from {{ ref('stg_lake__usage_aggregate_charges') }}

),

charges as (

    select
        account_id,
        billing_period,
        charge_micros
    from rated_usage
    where rating_status = 'rated'
    union all
    select
        account_id,
        billing_period,
        charge_micros
    from usage_aggregate_charges

),

charged as (

    select
        account_id,
        billing_period,
        sum(charge_micros) as charged_micros
    from charges
    group by account_id, billing_period

)

select
    coalesce(invoices.account_id, charged.account_id) as account_id,
    coalesce(invoices.billing_period, charged.billing_period) as billing_period,
    invoices.usage_micros,
    charged.charged_micros
from invoices
left join usage_lines
    on invoices.invoice_id = usage_lines.invoice_id
full outer join charged
    on
        invoices.account_id is not distinct from charged.account_id
        and invoices.billing_period = charged.billing_period
where
    abs(coalesce(invoices.usage_micros, 0) - coalesce(charged.charged_micros, 0))
    > 5000 * coalesce(usage_lines.line_count, 0)
    and coalesce(invoices.billing_period, charged.billing_period)
    in (select current_periods.billing_period from current_periods)
    -- A period whose call detail the retention purge deleted has no records to tie to.
    and coalesce(invoices.billing_period, charged.billing_period) not in (
        select purged.billing_period from {{ ref('int_call_detail_purged_periods') }} as purged
    )
