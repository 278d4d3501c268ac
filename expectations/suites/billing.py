"""Billing: are the invoices, the recurring lines and the rated usage plausible?

The dbt tests prove that each invoice adds up (lines, subtotal, tax, total) and that usage
lines equal the rated charges. These checks tell an auditor whether what adds up is also
believable: totals and tax shares in range, one monthly fee in advance per line in service,
no negative or runaway usage charges.
"""

from __future__ import annotations

import great_expectations.expectations as gxe
from great_expectations.expectations import Expectation
from great_expectations.expectations.row_conditions import Column

from expectations.suites import AuditDomain, AuditFrame, check

#: Ceiling of a plausible invoice total: a small operator's largest business account.
INVOICE_TOTAL_MAX_MICROS = 50_000 * 1_000_000
#: Floor of a plausible invoice total: a credit invoice (cancelled lines' unused days,
#: credits) larger than this is a misapplied reversal.
INVOICE_TOTAL_MIN_MICROS = -5_000 * 1_000_000
#: Highest believable share of percentage taxes in the charges they tax.
# The highest combination of percentage rates we bill is a Chicago VoIP line: 24% USF
# (37.0% x 64.9% safe harbor) + 7% state excise + 7% city tax = 38%; above half of the
# charges a tax rule is misapplied.
TAX_SHARE_MAX = 0.50
#: Ceiling of a charge per chargeable minute of a rated call (premium destinations included).
VOICE_CHARGE_PER_MINUTE_MAX_MICROS = 10 * 1_000_000
#: Ceiling of the median charge per minute: above it, a price unit is probably misapplied
#: (a per-second price charged per minute shows up here first).
VOICE_CHARGE_PER_MINUTE_MEDIAN_MAX_MICROS = 1_000_000

# The tax share is the invoice's percentage taxes over the charges they tax, read from the
# tax lines: per-line fees (911 surcharges) are not percentages (on a cheap line a $5 fee is
# legitimately a large share of the bill), and credits and reversals are left out, since on
# an invoice where an untaxed reversal offsets taxed charges (a cancelled broadband line
# against a new mobile line) the net subtotal says nothing about the rates applied.
INVOICES_SQL = """
with percent_taxed_charges as (
    select
        invoice_id,
        charge_id,
        any_value(charge_amount_micros) as charge_amount_micros,
        sum(tax_micros) as percent_tax_micros,
    from fct_tax_lines
    where method = 'percent' and is_billable
    group by invoice_id, charge_id
),

percent_taxes as (
    select
        invoice_id,
        sum(charge_amount_micros) as taxed_charge_micros,
        sum(percent_tax_micros) as percent_tax_micros,
    from percent_taxed_charges
    where charge_amount_micros > 0
    group by invoice_id
)

select
    fct_invoices.invoice_id as audit_key,
    fct_invoices.invoice_id,
    fct_invoices.account_id,
    fct_invoices.billing_period,
    fct_invoices.recurring_micros,
    fct_invoices.usage_micros,
    fct_invoices.subtotal_micros,
    fct_invoices.tax_micros,
    fct_invoices.total_micros,
    coalesce(percent_taxes.taxed_charge_micros, 0) as taxed_charge_micros,
    coalesce(percent_taxes.percent_tax_micros, 0) as percent_tax_micros,
    case
        when percent_taxes.taxed_charge_micros > 0
            then percent_taxes.percent_tax_micros::double / percent_taxes.taxed_charge_micros
    end as tax_share,
from fct_invoices
left join percent_taxes on fct_invoices.invoice_id = percent_taxes.invoice_id
where $billing_period is null or fct_invoices.billing_period = $billing_period
order by fct_invoices.invoice_id
"""

# A line in service on the period's last day (activated by then, not cancelled by then, not
# suspended) is billed its plan's next service period in advance: exactly one recurring line
# of its own plan from the invoice's advance_from on. Lines that ended or changed during the
# period are trued up by other recurring lines (docs/billing.md); those are not counted here.
RECURRING_COVERAGE_SQL = """
with periods as (
    select
        billing_period,
        max(usage_to) as period_end_date,
    from fct_invoices
    where $billing_period is null or billing_period = $billing_period
    group by billing_period
),

advance_lines as (
    select
        fct_invoice_lines.billing_period,
        fct_invoice_lines.subscriber_id,
        fct_invoice_lines.plan_id,
        count(*) as advance_lines,
    from fct_invoice_lines
    inner join fct_invoices on fct_invoice_lines.invoice_id = fct_invoices.invoice_id
    where
        fct_invoice_lines.line_type = 'recurring'
        and fct_invoice_lines.service_from >= fct_invoices.advance_from
    group by fct_invoice_lines.billing_period, fct_invoice_lines.subscriber_id,
        fct_invoice_lines.plan_id
),

subscribers_in_service as (
    select
        periods.billing_period,
        dim_subscribers.subscriber_id,
        dim_subscribers.account_id,
        dim_subscribers.service_type,
        dim_subscribers.plan_id,
        dim_subscribers.status,
    from periods
    cross join dim_subscribers
    where
        dim_subscribers.activated_date <= periods.period_end_date
        and (
            dim_subscribers.cancelled_date is null
            or dim_subscribers.cancelled_date > periods.period_end_date
        )
        and dim_subscribers.status <> 'suspended'
)

select
    subscribers_in_service.billing_period || '/' || subscribers_in_service.subscriber_id
        as audit_key,
    subscribers_in_service.billing_period,
    subscribers_in_service.subscriber_id,
    subscribers_in_service.account_id,
    subscribers_in_service.service_type,
    subscribers_in_service.plan_id,
    subscribers_in_service.status,
    coalesce(advance_lines.advance_lines, 0) as recurring_lines,
from subscribers_in_service
left join advance_lines
    on
        subscribers_in_service.billing_period = advance_lines.billing_period
        and subscribers_in_service.subscriber_id = advance_lines.subscriber_id
        and subscribers_in_service.plan_id = advance_lines.plan_id
order by audit_key
"""

RATED_USAGE_SQL = """
select
    usage_id as audit_key,
    usage_id,
    billing_period,
    feed,
    service,
    destination_group,
    rating_status,
    suspense_reason,
    chargeable_units,
    charge_micros,
    case
        when service = 'voice' and rating_status = 'rated' and chargeable_units > 0
            then charge_micros * 60.0 / chargeable_units
    end as charge_per_minute_micros,
from fct_rated_usage
where $billing_period is null or billing_period = $billing_period
order by usage_id
"""


BILLED_CHARGES_SQL = """
select
    charge_id as audit_key,
    charge_id,
    invoice_id,
    category,
    tax_status,
from fct_billed_charges
where $billing_period is null or billing_period = $billing_period
order by charge_id
"""

# The FCC cap on the USF line item, per invoice: USF recovered <= floor(factor x the
# interstate and international charges carrying it), and at least 0: an invoice whose
# credits outweigh those charges refunds USF, which recovers nothing. The dbt test
# assert_usf_line_item_within_cap proves the same from the staged lake; this frame shows
# the auditor each invoice's headroom.
USF_RECOVERY_SQL = """
with per_invoice as (
    select
        invoice_id,
        sum(usf_billed_micros) as usf_billed_micros,
        sum(interstate_micros) as interstate_micros,
        max(usf_factor_ppm) as usf_factor_ppm,
    from fct_billed_charges
    where has_usf_line and ($billing_period is null or billing_period = $billing_period)
    group by invoice_id
)

select
    invoice_id as audit_key,
    invoice_id,
    usf_billed_micros,
    interstate_micros,
    usf_factor_ppm,
    greatest((interstate_micros::hugeint * usf_factor_ppm) // 1000000, 0) - usf_billed_micros
        as usf_cap_headroom_micros,
from per_invoice
order by invoice_id
"""


def invoice_expectations() -> list[Expectation]:
    return [
        check(
            gxe.ExpectTableRowCountToBeBetween,
            "invoices_issued",
            "At least one invoice was issued for the period.",
            min_value=1,
        ),
        check(
            gxe.ExpectColumnValuesToBeBetween,
            "invoice_total_plausible",
            "Every invoice total is between -5,000 USD (a credit invoice) and 50,000 USD.",
            column="total_micros",
            min_value=INVOICE_TOTAL_MIN_MICROS,
            max_value=INVOICE_TOTAL_MAX_MICROS,
        ),
        check(
            gxe.ExpectColumnValuesToBeBetween,
            "tax_share_plausible",
            "Percentage taxes are between 0% and 50% of the charges they tax, per invoice "
            "(charges billed, not credits; flat per-line fees such as 911 surcharges are not "
            "percentages).",
            column="tax_share",
            min_value=0,
            max_value=TAX_SHARE_MAX,
        ),
        check(
            gxe.ExpectColumnValuesToBeBetween,
            "usage_charges_non_negative",
            "No invoice carries negative usage charges.",
            column="usage_micros",
            min_value=0,
        ),
    ]


def recurring_coverage_expectations() -> list[Expectation]:
    return [
        check(
            gxe.ExpectColumnValuesToBeBetween,
            "one_recurring_line_per_subscriber",
            "Every subscriber line in service at the period's end has exactly one monthly fee "
            "of its plan billed in advance: none is a fee not billed, two are a double charge.",
            column="recurring_lines",
            min_value=1,
            max_value=1,
        ),
    ]


def rated_usage_expectations() -> list[Expectation]:
    return [
        check(
            gxe.ExpectColumnValuesToBeBetween,
            "rated_charge_non_negative",
            "Every usage record rated 'rated' has a charge of 0 or more.",
            column="charge_micros",
            min_value=0,
            row_condition=Column("rating_status") == "rated",
        ),
        check(
            gxe.ExpectColumnValuesToBeInSet,
            "unrated_usage_not_charged",
            "Usage that is zero-rated, not billable or in suspense carries no charge.",
            column="charge_micros",
            value_set=[0],
            row_condition=Column("rating_status") != "rated",
        ),
        check(
            gxe.ExpectColumnValuesToBeBetween,
            "voice_charge_per_minute_in_bounds",
            "Every rated call costs between 0 and 10 USD per chargeable minute.",
            column="charge_per_minute_micros",
            min_value=0,
            max_value=VOICE_CHARGE_PER_MINUTE_MAX_MICROS,
        ),
        check(
            gxe.ExpectColumnMedianToBeBetween,
            "voice_charge_per_minute_median",
            "The median rated call costs at most 1 USD per chargeable minute.",
            column="charge_per_minute_micros",
            min_value=0,
            max_value=VOICE_CHARGE_PER_MINUTE_MEDIAN_MAX_MICROS,
            # A distribution, not a rule: a small operator's month with a premium-rate
            # fraud burst legitimately moves the median; the per-call ceiling is the rule.
            severity="warning",
        ),
    ]


def billed_charge_expectations() -> list[Expectation]:
    return [
        check(
            gxe.ExpectColumnValuesToBeInSet,
            "every_charge_taxed",
            "The tax engine taxed every billed charge: none is billed untaxed because its "
            "address matched no tax area or its category or class is unknown.",
            column="tax_status",
            value_set=["ok"],
        ),
    ]


def usf_recovery_expectations() -> list[Expectation]:
    return [
        check(
            gxe.ExpectColumnValuesToBeBetween,
            "usf_line_item_within_cap",
            "No invoice recovers more through its USF line item than the quarter's "
            "contribution factor times its interstate and international charges (FCC).",
            column="usf_cap_headroom_micros",
            min_value=0,
        ),
    ]


DOMAIN = AuditDomain(
    name="billing",
    description="Invoices, recurring lines and rated usage.",
    frames=(
        AuditFrame(
            domain="billing",
            name="invoices",
            grain="invoice (account x billing period)",
            sql=INVOICES_SQL,
            expectations=invoice_expectations,
        ),
        AuditFrame(
            domain="billing",
            name="recurring_coverage",
            grain="subscriber in service x billing period",
            sql=RECURRING_COVERAGE_SQL,
            expectations=recurring_coverage_expectations,
        ),
        AuditFrame(
            domain="billing",
            name="billed_charges",
            grain="billed charge",
            sql=BILLED_CHARGES_SQL,
            expectations=billed_charge_expectations,
        ),
        AuditFrame(
            domain="billing",
            name="usf_recovery",
            grain="invoice with a USF line item",
            sql=USF_RECOVERY_SQL,
            expectations=usf_recovery_expectations,
        ),
        AuditFrame(
            domain="billing",
            name="rated_usage",
            grain="usage record",
            sql=RATED_USAGE_SQL,
            expectations=rated_usage_expectations,
        ),
    ),
)
