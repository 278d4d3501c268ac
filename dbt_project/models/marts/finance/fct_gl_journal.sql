{#-
    The general ledger journal of the bill run: balanced double entries, one row per journal
    line (an entry's amount per GL account, and per jurisdiction for taxes payable).

    - Invoice (`JE-<invoice_id>`, posted on the invoice date): debit accounts receivable
      (1200) with the invoice total; credit each charge line to the account
      gl_revenue_accounts names for its line type and its subscriber's service type (the
      `unknown` row when the service type is unknown or has no row of its own): service and
      usage revenue per product, activation and installation revenue (one-time fees), late
      fee income, the device installment receivable (1300: an installment or payoff moves
      the amount from the device receivable to accounts receivable), and the contra-revenue
      account 4900 (applied credits). Recurring fees billed in advance (service_from on or
      after the invoice's advance_from) credit deferred revenue (2400) instead of revenue;
      reversed and adjusted fees are for the period just ended and credit revenue. Taxes payable per jurisdiction (USF to 2310, the
      others to 2300) with the invoice's tax lines: each tax as invoiced, rounded to the
      cent, its jurisdiction from the tax engine's lines.
    - Deferred revenue release (`JE-DEFREV-<invoice_id>-<YYYYMM>`, one per calendar month
      the advance period touches, posted on its first day served in that month): debit
      deferred revenue, credit each service revenue account with the month's share of the
      fees that invoice deferred, by the days served in the month, in cents (cumulated, so
      the shares add up to each fee exactly). A cycle-day-15 advance of November 15 to December 14 is
      half deferred at the November close; cycle day 1's is recognised within its month.
    - Credit or debit note (`JE-<note_id>`, posted on the note date, lake `credit_notes`):
      a correction of an earlier invoice, a receivable document of its own. Debit accounts
      receivable with the note's amount (a credit note's is negative, so it credits);
      credit the contra-revenue account 4900 with its charges delta (a correction reduces
      or restores billed revenue like a credit; the note does not say which product) and
      taxes payable 2300 with its tax delta, without a jurisdiction: the note carries only
      the total.
    - Device sale (`JE-DEV-<agreement_id>`, posted on the invoice date of the run that bills
      installment 1, lake `device_receivables`; the day after the period if that run issued
      the account no invoice): debit the device receivable, credit equipment revenue (4600)
      with the amount financed.
    - Payment (`JE-PAY-<payment_id>`, posted on the received date, lake `payments`): debit
      cash (1000), credit accounts receivable. Each bill run's partition holds every payment
      known then, so a payment posts once, in the billing period of the first run that
      recorded it.
    - Opening balances (`JE-OPEN-<invoice or agreement>`): what the previous billing
      system left open when the lake took over, brought forward against 3900: each opening
      invoice (debit accounts receivable, on its invoice date) and each device agreement
      financed before the lake's first run (debit the device receivable with what was
      still owed before that run, on the period's first day).
    - Carrier-paid taxes (`JE-CTAX-<period>`, posted the day after the period): debit tax
      expense, credit taxes payable per jurisdiction, from compliance-only tax lines.
    - USF contribution (`JE-USF-<period>`): what the operator owes USAC beyond what its USF
      line items recovered (fct_form_499_revenue) is an expense: debit USF contribution
      expense, credit USF payable.
    - Wholesale settlement (int_gl_wholesale_entries): what carriers and roaming partners
      and the operator owe each other for the period.

    A negative amount (a credit) posts on the other side, so no line is negative; a line of
    amount 0 is left out.
-#}
with

invoices as (

    select * from {{ ref('fct_invoices') }}

),

invoice_lines as (

    select * from {{ ref('fct_invoice_lines') }}

),

subscribers as (

    select * from {{ ref('dim_subscribers') }}

),

tax_lines as (

    select * from {{ ref('fct_tax_lines') }}

),

form_499_revenue as (

    select * from {{ ref('fct_form_499_revenue') }}

),

device_receivables as (

    select * from {{ ref('stg_lake__device_receivables') }}

),

payments as (

    select * from {{ ref('stg_lake__payments') }}

),

credit_notes as (

    select * from {{ ref('stg_lake__credit_notes') }}

),

invoice_balances as (

    select * from {{ ref('stg_lake__invoice_balances') }}

),

gl_accounts as (

    select * from {{ ref('gl_accounts') }}

),

gl_revenue_accounts as (

    select * from {{ ref('gl_revenue_accounts') }}

),

charge_lines_mapped as (

    select
        invoice_lines.invoice_line_id,
        invoice_lines.invoice_id,
        invoice_lines.billing_period,
        invoice_lines.account_id,
        invoices.invoice_date,
        invoices.advance_from,
        invoice_lines.service_from,
        invoice_lines.service_to,
        coalesce(
            product_accounts.gl_account_code, unknown_service_accounts.gl_account_code
        ) as line_account_code,
        coalesce(
            invoice_lines.line_type = 'recurring'
            and invoice_lines.service_from >= invoices.advance_from,
            false
        ) as is_billed_in_advance,
        invoice_lines.amount_micros
    from invoice_lines
    inner join invoices
        on invoice_lines.invoice_id = invoices.invoice_id
    left join subscribers
        on invoice_lines.subscriber_id = subscribers.subscriber_id
    left join gl_revenue_accounts as product_accounts
        on
            invoice_lines.line_type = product_accounts.line_type
            and subscribers.service_type = product_accounts.service_type
    left join gl_revenue_accounts as unknown_service_accounts
        on
            invoice_lines.line_type = unknown_service_accounts.line_type
            and unknown_service_accounts.service_type = 'unknown'
    where invoice_lines.line_type <> 'tax'

),

receivables as (

    select
        'JE-' || invoice_id as journal_entry_id,
        'invoice' as entry_type,
        billing_period,
        invoice_date as posting_date,
        account_id,
        invoice_id,
        '1200' as gl_account_code,
        cast(null as varchar) as jurisdiction_id,
        'Invoice ' || invoice_id as description,
        'debit' as posting_side,
        total_micros as amount_micros
    from invoices

),

charges_billed as (

    select
        'JE-' || invoice_id as journal_entry_id,
        'invoice' as entry_type,
        billing_period,
        invoice_date as posting_date,
        account_id,
        invoice_id,
        case when is_billed_in_advance then '2400' else line_account_code end
            as gl_account_code,
        cast(null as varchar) as jurisdiction_id,
        'Charges billed on invoice ' || invoice_id as description,
        'credit' as posting_side,
        sum(amount_micros) as amount_micros
    from charge_lines_mapped
    group by
        invoice_id,
        billing_period,
        invoice_date,
        account_id,
        case when is_billed_in_advance then '2400' else line_account_code end

),

tax_jurisdictions as (

    select distinct
        invoice_id,
        tax_id,
        jurisdiction_id,
        tax_type
    from tax_lines
    where is_billable

),

taxes_billed as (

    select
        'JE-' || invoice_lines.invoice_id as journal_entry_id,
        'invoice' as entry_type,
        invoice_lines.billing_period,
        invoices.invoice_date as posting_date,
        invoice_lines.account_id,
        invoice_lines.invoice_id,
        case when tax_jurisdictions.tax_type = 'usf' then '2310' else '2300' end
            as gl_account_code,
        tax_jurisdictions.jurisdiction_id,
        'Taxes billed on invoice ' || invoice_lines.invoice_id as description,
        'credit' as posting_side,
        sum(invoice_lines.amount_micros) as amount_micros
    from invoice_lines
    inner join invoices
        on invoice_lines.invoice_id = invoices.invoice_id
    left join tax_jurisdictions
        on
            invoice_lines.invoice_id = tax_jurisdictions.invoice_id
            and invoice_lines.tax_id = tax_jurisdictions.tax_id
    where invoice_lines.line_type = 'tax'
    group by
        invoice_lines.invoice_id,
        invoice_lines.billing_period,
        invoices.invoice_date,
        invoice_lines.account_id,
        case when tax_jurisdictions.tax_type = 'usf' then '2310' else '2300' end,
        tax_jurisdictions.jurisdiction_id

),

advance_months as (

    select
        charge_lines_mapped.invoice_line_id,
        charge_lines_mapped.invoice_id,
        charge_lines_mapped.billing_period,
        charge_lines_mapped.account_id,
        charge_lines_mapped.line_account_code,
        charge_lines_mapped.amount_micros,
        cast(charge_lines_mapped.service_to - charge_lines_mapped.service_from + 1 as bigint)
            as service_days,
        greatest(cast(months.month_start as date), charge_lines_mapped.service_from)
            as served_from,
        least(
            cast(months.month_start + interval 1 month - interval 1 day as date),
            charge_lines_mapped.service_to
        )
            as served_to
    from charge_lines_mapped
    cross join
        unnest(
            generate_series(
                date_trunc('month', charge_lines_mapped.service_from),
                date_trunc('month', charge_lines_mapped.service_to),
                interval 1 month
            )
        ) as months (month_start)
    where charge_lines_mapped.is_billed_in_advance

),

advance_shares as (

    -- Each month's share by the days served in it, in cents, cumulated so the shares add up
    -- to the fee exactly: cents(fee x days through this month / days) - the same before it,
    -- rounded down (the fee itself is whole cents, so the last share ends it exactly).
    select
        *,
        sum(served_to - served_from + 1) over (
            partition by invoice_line_id
            order by served_from
            rows between unbounded preceding and current row
        ) as days_through
    from advance_months

),

advance_recognised as (

    select
        'JE-DEFREV-' || invoice_id || '-' || strftime(served_from, '%Y%m') as journal_entry_id,
        'deferred_revenue_release' as entry_type,
        billing_period,
        served_from as posting_date,
        account_id,
        invoice_id,
        line_account_code as gl_account_code,
        cast(null as varchar) as jurisdiction_id,
        'Service billed in advance on invoice ' || invoice_id || ', served '
        || strftime(served_from, '%Y-%m') as description,
        'credit' as posting_side,
        sum(
            (
                cast(amount_micros as hugeint) * days_through // (service_days * 10000)
                - cast(amount_micros as hugeint) * (days_through - (served_to - served_from + 1))
                // (service_days * 10000)
            ) * 10000
        ) as amount_micros
    from advance_shares
    group by invoice_id, billing_period, served_from, account_id, line_account_code

),

advance_released as (

    select
        journal_entry_id,
        entry_type,
        billing_period,
        posting_date,
        account_id,
        invoice_id,
        '2400' as gl_account_code,
        jurisdiction_id,
        description,
        'debit' as posting_side,
        sum(amount_micros) as amount_micros
    from advance_recognised
    group by
        journal_entry_id,
        entry_type,
        billing_period,
        posting_date,
        account_id,
        invoice_id,
        jurisdiction_id,
        description

),

note_postings as (

    select
        'JE-' || credit_notes.note_id as journal_entry_id,
        'correction_note' as entry_type,
        credit_notes.billing_period,
        credit_notes.note_date as posting_date,
        credit_notes.account_id,
        credit_notes.corrected_invoice_id as invoice_id,
        note_sides.gl_account_code,
        cast(null as varchar) as jurisdiction_id,
        replace(credit_notes.note_type, '_', ' ') || ' ' || credit_notes.note_id
        || ' correcting ' || credit_notes.corrected_invoice_id as description,
        note_sides.posting_side,
        case note_sides.gl_account_code
            when '1200' then credit_notes.amount_micros
            when '4900' then credit_notes.charges_delta_micros
            else credit_notes.tax_delta_micros
        end as amount_micros
    from credit_notes
    cross join
        (values ('1200', 'debit'), ('4900', 'credit'), ('2300', 'credit'))
            as note_sides (gl_account_code, posting_side)

),

device_sales as (

    select
        'JE-DEV-' || device_receivables.agreement_id as journal_entry_id,
        'device_sale' as entry_type,
        device_receivables.billing_period,
        coalesce(
            invoices.invoice_date,
            cast(
                {{ billing_period_end('device_receivables.billing_period') }} + interval 1 day
                as date
            )
        ) as posting_date,
        device_receivables.account_id,
        invoices.invoice_id,
        cast(null as varchar) as jurisdiction_id,
        '1300' as debit_account_code,
        '4600' as credit_account_code,
        'Device sold on installments: '
        || device_receivables.device_name
        || ' ('
        || device_receivables.agreement_id
        || ')' as description,
        device_receivables.financed_recognised_micros as amount_micros
    from device_receivables
    left join invoices
        on
            device_receivables.account_id = invoices.account_id
            and device_receivables.billing_period = invoices.billing_period
    where device_receivables.financed_recognised_micros > 0

),

payments_first_recorded as (

    select *
    from payments
    qualify row_number() over (partition by payment_id order by billing_period) = 1

),

payments_received as (

    select
        'JE-PAY-' || payment_id as journal_entry_id,
        'payment' as entry_type,
        billing_period,
        received_date as posting_date,
        account_id,
        cast(null as varchar) as invoice_id,
        cast(null as varchar) as jurisdiction_id,
        '1000' as debit_account_code,
        '1200' as credit_account_code,
        'Payment ' || payment_id || ' (' || method || ')' as description,
        amount_micros
    from payments_first_recorded

),

carrier_taxes as (

    select
        billing_period,
        jurisdiction_id,
        sum(tax_micros) as amount_micros
    from tax_lines
    where not is_billable
    group by billing_period, jurisdiction_id

),

usf_invoiced as (

    select
        invoice_lines.billing_period,
        sum(invoice_lines.amount_micros) as amount_micros
    from invoice_lines
    inner join tax_jurisdictions
        on
            invoice_lines.invoice_id = tax_jurisdictions.invoice_id
            and invoice_lines.tax_id = tax_jurisdictions.tax_id
    where invoice_lines.line_type = 'tax' and tax_jurisdictions.tax_type = 'usf'
    group by invoice_lines.billing_period

),

usf_owed as (

    select
        billing_period,
        sum(usf_contribution_micros) as amount_micros
    from form_499_revenue
    group by billing_period

),

usf_contribution as (

    -- What the customers' USF line items, as invoiced, do not cover.
    select
        usf_owed.billing_period,
        usf_owed.amount_micros - coalesce(usf_invoiced.amount_micros, 0) as amount_micros
    from usf_owed
    left join usf_invoiced
        on usf_owed.billing_period = usf_invoiced.billing_period

),

period_expenses as (

    select
        'JE-CTAX-' || billing_period as journal_entry_id,
        'carrier_tax' as entry_type,
        billing_period,
        cast({{ billing_period_end('billing_period') }} + interval 1 day as date)
            as posting_date,
        cast(null as varchar) as account_id,
        cast(null as varchar) as invoice_id,
        jurisdiction_id,
        '6100' as debit_account_code,
        '2300' as credit_account_code,
        'Carrier-paid taxes of ' || billing_period as description,
        amount_micros
    from carrier_taxes
    union all
    select
        'JE-USF-' || billing_period as journal_entry_id,
        'usf_contribution' as entry_type,
        billing_period,
        cast({{ billing_period_end('billing_period') }} + interval 1 day as date)
            as posting_date,
        cast(null as varchar) as account_id,
        cast(null as varchar) as invoice_id,
        'US' as jurisdiction_id,
        '6110' as debit_account_code,
        '2310' as credit_account_code,
        'USF contribution not recovered from customers, ' || billing_period as description,
        amount_micros
    from usf_contribution

),

opening_receivables as (

    -- Documents the allocation settles that no bill run issued: the opening balances.
    select
        'JE-OPEN-' || invoice_balances.invoice_id as journal_entry_id,
        'opening_balance' as entry_type,
        min(invoice_balances.billing_period) as billing_period,
        invoice_balances.invoice_date as posting_date,
        invoice_balances.account_id,
        invoice_balances.invoice_id,
        cast(null as varchar) as jurisdiction_id,
        '1200' as debit_account_code,
        '3900' as credit_account_code,
        'Open invoice brought forward: ' || invoice_balances.invoice_id as description,
        invoice_balances.amount_micros
    from invoice_balances
    where
        invoice_balances.invoice_id not in (select invoices.invoice_id from invoices)
        and invoice_balances.invoice_id not in (select credit_notes.note_id from credit_notes)
    group by
        invoice_balances.invoice_id,
        invoice_balances.invoice_date,
        invoice_balances.account_id,
        invoice_balances.amount_micros

),

opening_devices as (

    -- Agreements financed before the lake's first bill run: what was still owed on them.
    select
        'JE-OPEN-' || agreement_id as journal_entry_id,
        'opening_balance' as entry_type,
        billing_period,
        {{ billing_period_start('billing_period') }} as posting_date,
        account_id,
        cast(null as varchar) as invoice_id,
        cast(null as varchar) as jurisdiction_id,
        '1300' as debit_account_code,
        '3900' as credit_account_code,
        'Device balance brought forward: ' || device_name || ' (' || agreement_id || ')'
            as description,
        remaining_balance_micros + billed_micros as amount_micros
    from device_receivables
    where
        agreement_id not in (
            select recognised.agreement_id
            from device_receivables as recognised
            where recognised.financed_recognised_micros > 0
        )
    qualify
        row_number() over (partition by agreement_id order by billing_period) = 1
        and agreement_status <> 'not_started'

),

wholesale_entries as (

    select * from {{ ref('int_gl_wholesale_entries') }}

),

two_line_entries as (

    select * from opening_receivables
    union all
    select * from opening_devices
    union all
    select * from device_sales
    union all
    select * from payments_received
    union all
    select * from period_expenses
    union all
    select * from wholesale_entries

),

posting_sides as (

    select 'debit' as posting_side
    union all
    select 'credit' as posting_side

),

two_line_postings as (

    select
        two_line_entries.journal_entry_id,
        two_line_entries.entry_type,
        two_line_entries.billing_period,
        two_line_entries.posting_date,
        two_line_entries.account_id,
        two_line_entries.invoice_id,
        case posting_sides.posting_side
            when 'debit' then two_line_entries.debit_account_code
            else two_line_entries.credit_account_code
        end as gl_account_code,
        two_line_entries.jurisdiction_id,
        two_line_entries.description,
        posting_sides.posting_side,
        two_line_entries.amount_micros
    from two_line_entries
    cross join posting_sides

),

postings as (

    select * from receivables
    union all
    select * from charges_billed
    union all
    select * from taxes_billed
    union all
    select * from advance_recognised
    union all
    select * from advance_released
    union all
    select * from note_postings
    union all
    select * from two_line_postings

),

final as (

    select
        postings.journal_entry_id
        || '/'
        || postings.gl_account_code
        || coalesce('/' || postings.jurisdiction_id, '') as journal_line_id,
        postings.journal_entry_id,
        postings.entry_type,
        postings.billing_period,
        postings.posting_date,
        postings.account_id,
        postings.invoice_id,
        postings.gl_account_code,
        gl_accounts.gl_account_name,
        gl_accounts.account_type,
        postings.jurisdiction_id,
        postings.description,
        cast(
            case
                when postings.posting_side = 'debit' then greatest(postings.amount_micros, 0)
                else greatest(-postings.amount_micros, 0)
            end
            as bigint
        ) as debit_micros,
        cast(
            case
                when postings.posting_side = 'credit' then greatest(postings.amount_micros, 0)
                else greatest(-postings.amount_micros, 0)
            end
            as bigint
        ) as credit_micros
    from postings
    left join gl_accounts
        on postings.gl_account_code = gl_accounts.gl_account_code
    where postings.amount_micros <> 0

)

select * from final
