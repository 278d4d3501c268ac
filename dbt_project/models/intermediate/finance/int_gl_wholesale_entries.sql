{#-
    The ledger entries of wholesale settlement, as two-line entries for fct_gl_journal,
    accrued the day after the billing period from our own rated view (what the agreements
    say is owed, not what a counterparty's invoice claims: a disputed excess is not owed
    until the dispute is settled). One entry per counterparty, period and side:

    | entry | debit | credit |
    |---|---|---|
    | `JE-ICP-<carrier>-<period>`: termination charges of the carriers we handed calls to | 5100 interconnect termination cost | 2100 interconnect payable |
    | `JE-ICR-<carrier>-<period>`: origination charges we bill the carriers that handed us calls | 1400 interconnect receivable | 4300 interconnect origination revenue |
    | `JE-RMP-<TADIG>-<period>`: the partners' accepted TAP files, for our subscribers abroad (billed to them on their invoices) | 5200 outbound roaming cost | 2110 roaming payable |
    | `JE-RMR-<TADIG>-<period>`: our TAP files, for the partners' visitors here | 1410 roaming receivable | 4310 inbound roaming revenue |

    Roaming posts the USD equivalent of the TAP currency (fct_roaming_settlement).
-#}
with

counterparty_amounts as (

    select
        'interconnect' as settlement,
        carrier_id as counterparty_id,
        carrier_name as counterparty_name,
        billing_period,
        settlement_side,
        sum(amount_micros) as amount_micros
    from {{ ref('fct_interconnect_settlement') }}
    group by all
    union all
    select
        'roaming' as settlement,
        tadig as counterparty_id,
        partner_name || ' (' || tadig || ')' as counterparty_name,
        billing_period,
        direction as settlement_side,
        sum(usd_equivalent_micros) as amount_micros
    from {{ ref('fct_roaming_settlement') }}
    group by all

),

accounts as (

    select
        col0 as settlement,
        col1 as settlement_side,
        col2 as entry_prefix,
        col3 as debit_account_code,
        col4 as credit_account_code,
        col5 as description_prefix
    from (
        values
        ('interconnect', 'payable', 'JE-ICP-', '5100', '2100', 'Termination charges of '),
        ('interconnect', 'receivable', 'JE-ICR-', '1400', '4300', 'Origination charges to '),
        ('roaming', 'payable', 'JE-RMP-', '5200', '2110', 'Roaming charges of '),
        ('roaming', 'receivable', 'JE-RMR-', '1410', '4310', 'Roaming charges to ')
    )

),

final as (

    select
        accounts.entry_prefix
        || counterparty_amounts.counterparty_id
        || '-'
        || counterparty_amounts.billing_period as journal_entry_id,
        counterparty_amounts.settlement || '_' || counterparty_amounts.settlement_side
            as entry_type,
        counterparty_amounts.billing_period,
        cast(
            {{ billing_period_end('counterparty_amounts.billing_period') }} + interval 1 day
            as date
        ) as posting_date,
        cast(null as varchar) as account_id,
        cast(null as varchar) as invoice_id,
        cast(null as varchar) as jurisdiction_id,
        accounts.debit_account_code,
        accounts.credit_account_code,
        accounts.description_prefix
        || counterparty_amounts.counterparty_name
        || ', '
        || counterparty_amounts.billing_period as description,
        cast(counterparty_amounts.amount_micros as bigint) as amount_micros
    from counterparty_amounts
    inner join accounts
        on
            counterparty_amounts.settlement = accounts.settlement
            and counterparty_amounts.settlement_side = accounts.settlement_side

)

select * from final
