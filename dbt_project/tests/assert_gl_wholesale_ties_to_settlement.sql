{#-
    The ledger's wholesale accounts tie to the settlement marts, per billing period: the
    payables (interconnect 2100, roaming 2110) are credited with the payable side of
    fct_interconnect_settlement and the USD equivalent of fct_roaming_settlement, the
    receivables (1400, 1410) debited with their receivable sides. Rows returned are the
    (period, account) that do not tie.
-#}
with

journal as (

    select
        billing_period,
        gl_account_code,
        sum(credit_micros - debit_micros) as credit_balance_micros
    from {{ ref('fct_gl_journal') }}
    where gl_account_code in ('2100', '1400', '2110', '1410')
    group by all

),

settled as (

    select
        billing_period,
        case settlement_side when 'payable' then '2100' else '1400' end as gl_account_code,
        case settlement_side when 'payable' then amount_micros else -amount_micros end
            as credit_micros
    from {{ ref('fct_interconnect_settlement') }}
    union all
    select
        billing_period,
        case direction when 'payable' then '2110' else '1410' end as gl_account_code,
        case direction when 'payable' then usd_equivalent_micros else -usd_equivalent_micros end
            as credit_micros
    from {{ ref('fct_roaming_settlement') }}

),

expected as (

    select
        billing_period,
        gl_account_code,
        sum(credit_micros) as credit_balance_micros
    from settled
    group by all

)

select
    coalesce(journal.billing_period, expected.billing_period) as billing_period,
    coalesce(journal.gl_account_code, expected.gl_account_code) as gl_account_code,
    journal.credit_balance_micros as journal_micros,
    expected.credit_balance_micros as settlement_micros
from journal
full outer join expected
    on
        journal.billing_period = expected.billing_period
        and journal.gl_account_code = expected.gl_account_code
where coalesce(journal.credit_balance_micros, 0) <> coalesce(expected.credit_balance_micros, 0)
