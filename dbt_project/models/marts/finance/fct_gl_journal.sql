{#-
    The general ledger journal of the bill run: balanced double entries, one row per journal
    line (an entry's amount per GL account, and per jurisdiction for taxes payable).

    - Each invoice (entry `JE-<invoice_id>`, posted on the invoice date): debit accounts
      receivable with the invoice total; credit revenue per GL account (gl_revenue_accounts:
      by line type and the line's service type) and taxes payable per jurisdiction (USF to
      its own account) with the invoice's billable tax lines.
    - Carrier-paid taxes (entry `JE-CTAX-<period>`, posted the day after the period): debit
      tax expense, credit taxes payable per jurisdiction, from compliance-only tax lines.
    - USF contribution (entry `JE-USF-<period>`): what the operator owes USAC beyond what its
      USF line items recovered (fct_form_499_revenue) is an expense: debit USF contribution
      expense, credit USF payable.

    A negative amount (a credit) posts on the other side, so no line is negative.
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

gl_accounts as (

    select * from {{ ref('gl_accounts') }}

),

gl_revenue_accounts as (

    select * from {{ ref('gl_revenue_accounts') }}

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

revenue as (

    select
        'JE-' || invoice_lines.invoice_id as journal_entry_id,
        'invoice' as entry_type,
        invoice_lines.billing_period,
        invoices.invoice_date as posting_date,
        invoice_lines.account_id,
        invoice_lines.invoice_id,
        gl_revenue_accounts.gl_account_code,
        cast(null as varchar) as jurisdiction_id,
        'Revenue of invoice ' || invoice_lines.invoice_id as description,
        'credit' as posting_side,
        sum(invoice_lines.amount_micros) as amount_micros
    from invoice_lines
    inner join invoices
        on invoice_lines.invoice_id = invoices.invoice_id
    left join subscribers
        on invoice_lines.subscriber_id = subscribers.subscriber_id
    left join gl_revenue_accounts
        on
            invoice_lines.line_type = gl_revenue_accounts.line_type
            and coalesce(subscribers.service_type, 'unknown') = gl_revenue_accounts.service_type
    where invoice_lines.line_type in ('recurring', 'usage', 'credit')
    group by
        invoice_lines.invoice_id,
        invoice_lines.billing_period,
        invoices.invoice_date,
        invoice_lines.account_id,
        gl_revenue_accounts.gl_account_code

),

taxes_billed as (

    select
        'JE-' || tax_lines.invoice_id as journal_entry_id,
        'invoice' as entry_type,
        tax_lines.billing_period,
        invoices.invoice_date as posting_date,
        tax_lines.account_id,
        tax_lines.invoice_id,
        case when tax_lines.tax_type = 'usf' then '2310' else '2300' end as gl_account_code,
        tax_lines.jurisdiction_id,
        'Taxes billed on invoice ' || tax_lines.invoice_id as description,
        'credit' as posting_side,
        sum(tax_lines.tax_micros) as amount_micros
    from tax_lines
    inner join invoices
        on tax_lines.invoice_id = invoices.invoice_id
    where tax_lines.is_billable
    group by
        tax_lines.invoice_id,
        tax_lines.billing_period,
        invoices.invoice_date,
        tax_lines.account_id,
        case when tax_lines.tax_type = 'usf' then '2310' else '2300' end,
        tax_lines.jurisdiction_id

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

usf_contribution as (

    select
        billing_period,
        sum(usf_contribution_micros) - sum(usf_billed_micros) as amount_micros
    from form_499_revenue
    group by billing_period

),

period_expenses as (

    select
        'JE-CTAX-' || billing_period as journal_entry_id,
        'carrier_tax' as entry_type,
        billing_period,
        jurisdiction_id,
        '6100' as expense_account_code,
        '2300' as payable_account_code,
        'Carrier-paid taxes of ' || billing_period as description,
        amount_micros
    from carrier_taxes
    union all
    select
        'JE-USF-' || billing_period as journal_entry_id,
        'usf_contribution' as entry_type,
        billing_period,
        'US' as jurisdiction_id,
        '6110' as expense_account_code,
        '2310' as payable_account_code,
        'USF contribution not recovered from customers, ' || billing_period as description,
        amount_micros
    from usf_contribution
    where amount_micros <> 0

),

posting_sides as (

    select 'debit' as posting_side
    union all
    select 'credit' as posting_side

),

period_postings as (

    select
        period_expenses.journal_entry_id,
        period_expenses.entry_type,
        period_expenses.billing_period,
        cast(
            {{ billing_period_end('period_expenses.billing_period') }} + interval 1 day as date
        ) as posting_date,
        cast(null as varchar) as account_id,
        cast(null as varchar) as invoice_id,
        case posting_sides.posting_side
            when 'debit' then period_expenses.expense_account_code
            else period_expenses.payable_account_code
        end as gl_account_code,
        period_expenses.jurisdiction_id,
        period_expenses.description,
        posting_sides.posting_side,
        period_expenses.amount_micros
    from period_expenses
    cross join posting_sides

),

postings as (

    select * from receivables
    union all
    select * from revenue
    union all
    select * from taxes_billed
    union all
    select * from period_postings

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

)

select * from final
