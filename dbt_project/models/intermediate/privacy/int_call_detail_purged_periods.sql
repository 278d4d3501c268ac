{#-
    Billing periods (event months) whose call detail a retention purge has deleted, in whole
    or in part (docs/privacy.md, Retention). The identities that tie retained aggregates
    (invoices, allowance balances, settlements) to per-record detail cannot hold for them:
    those tests leave these periods out.
-#}
with

purges as (

    select * from {{ ref('stg_lake__retention_purges') }}

),

final as (

    select distinct event_month as billing_period
    from purges
    where records_purged > 0

)

select * from final
