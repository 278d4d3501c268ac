"""Revenue assurance: does every usage record reach a bill, and are the findings usable?

dbt proves each feed-day's record counts add up, and that findings have a documented category
and an amount. This suite reports to the auditors what the counts say: nothing unexplained
from the switch to the bill, reject, duplicate and suspense rates low enough that the feeds
can be trusted, the independent re-rating agreeing with billing; and that every leakage
finding is complete enough to act on (evidence, estimation method).
"""

from __future__ import annotations

import great_expectations.expectations as gxe
from great_expectations.expectations import Expectation

from expectations.suites import AuditDomain, AuditFrame, check

#: The categories of fct_leakage_findings (docs/revenue-assurance.md); a new control adds
#: its category here, so an undocumented one fails the audit.
LEAKAGE_CATEGORIES = (
    "provisioned_not_billed",
    "billed_not_provisioned",
    "usage_in_suspense",
    "suspense_aged",
    "duplicate_records",
    "rejected_records",
    "zero_rated_usage",
    "terminated_line_usage",
    "file_sequence_gap",
    "promo_credit_not_eligible",
    "credit_above_authority",
    "retention_credit_unqualified",
    "interconnect_negative_margin",
    "roaming_not_passed_on",
    "unexplained_usage_gap",
    "rerating_difference",
)
#: Above this share of a feed-day's records rejected, duplicated or left in suspense, the
#: feed is not healthy and someone must look.
MAX_RATE = 0.05

# A billing period is an operator-local month; file_date is an operator-local date.
USAGE_RECONCILIATION_SQL = """
select
    feed || '/' || strftime(file_date, '%Y-%m-%d') as audit_key,
    feed,
    file_date,
    files,
    duplicate_files,
    records_in,
    records_accepted,
    records_rejected,
    records_duplicate,
    records_suspense,
    records_unexplained,
    case when records_in > 0 then records_rejected::double / records_in end as reject_rate,
    case when records_in > 0 then records_duplicate::double / records_in end as duplicate_rate,
    case
        when records_accepted > 0 then records_suspense::double / records_accepted
    end as suspense_share,
from rpt_usage_reconciliation
where $billing_period is null or strftime(file_date, '%Y-%m') = $billing_period
order by audit_key
"""

LEAKAGE_FINDINGS_SQL = """
select
    finding_id as audit_key,
    finding_id,
    billing_period,
    category,
    subject_type,
    subject_id,
    record_count,
    amount_at_risk_micros,
    estimation_method,
    evidence,
    finding_status,
from fct_leakage_findings
where $billing_period is null or billing_period = $billing_period
order by finding_id
"""


LEAKAGE_BY_CATEGORY_SQL = """
select
    billing_period || '/' || category as audit_key,
    billing_period,
    category,
    count(*) as findings,
    sum(amount_at_risk_micros) as amount_at_risk_micros,
from fct_leakage_findings
where $billing_period is null or billing_period = $billing_period
group by billing_period, category
order by audit_key
"""

E2E_RECONCILIATION_SQL = """
select
    billing_period || '/' || feed || '/' || strftime(file_date, '%Y-%m-%d') as audit_key,
    billing_period,
    feed,
    file_date,
    switch_records,
    mediated_records,
    rated_records,
    billed_records,
    unexplained_records,
from rpt_usage_e2e_reconciliation
where $billing_period is null or billing_period = $billing_period
order by audit_key
"""

RERATING_SAMPLE_SQL = """
select
    billing_period || '/' || billed_currency as audit_key,
    billing_period,
    billed_currency,
    sample_size,
    records_sampled,
    records_matched,
    records_mismatched,
    absolute_difference_micros,
from rpt_rerating_sample
where $billing_period is null or billing_period = $billing_period
order by audit_key
"""


def usage_reconciliation_expectations() -> list[Expectation]:
    return [
        check(
            gxe.ExpectTableRowCountToBeBetween,
            "feeds_reconciled",
            "At least one feed-day was reconciled for the period.",
            min_value=1,
        ),
        # dbt also blocks on records_unexplained <> 0; it stays here because it is the
        # reconciliation the auditors read, feed-day by feed-day, in the Data Docs.
        check(
            gxe.ExpectColumnValuesToBeBetween,
            "no_unexplained_records",
            "Every record received on every feed-day is accounted for: rejected, duplicate, "
            "or accepted and then rated (alone or in its session), repeated, held, awaiting "
            "correlation or awaiting rating (records_unexplained = 0).",
            column="records_unexplained",
            min_value=0,
            max_value=0,
        ),
        check(
            gxe.ExpectColumnValuesToBeBetween,
            "reject_rate_below_5pct",
            "Less than 5% of each feed-day's records are rejected by mediation.",
            column="reject_rate",
            min_value=0,
            max_value=MAX_RATE,
            severity="warning",
            strict_max=True,
        ),
        check(
            gxe.ExpectColumnValuesToBeBetween,
            "duplicate_rate_below_5pct",
            "Less than 5% of each feed-day's records are duplicates.",
            column="duplicate_rate",
            min_value=0,
            max_value=MAX_RATE,
            severity="warning",
            strict_max=True,
        ),
        check(
            gxe.ExpectColumnValuesToBeBetween,
            "suspense_share_below_5pct",
            "Less than 5% of each feed-day's accepted records are left in rating suspense.",
            column="suspense_share",
            min_value=0,
            max_value=MAX_RATE,
            severity="warning",
            strict_max=True,
        ),
    ]


def leakage_findings_expectations() -> list[Expectation]:
    return [
        check(
            gxe.ExpectColumnValuesToBeBetween,
            "finding_amount_non_negative",
            "No finding has a negative amount at risk.",
            column="amount_at_risk_micros",
            min_value=0,
        ),
        check(
            gxe.ExpectColumnValuesToNotBeNull,
            "finding_has_estimation_method",
            "Every finding says how its amount was estimated.",
            column="estimation_method",
        ),
        check(
            gxe.ExpectColumnValuesToNotBeNull,
            "finding_has_evidence",
            "Every finding carries evidence.",
            column="evidence",
        ),
        check(
            gxe.ExpectColumnValueLengthsToBeBetween,
            "finding_evidence_not_blank",
            "No finding's evidence is an empty string.",
            column="evidence",
            min_value=1,
        ),
        check(
            gxe.ExpectColumnValuesToBeJsonParseable,
            "finding_evidence_is_json",
            "Every finding's evidence is a JSON object an analyst's tools can read.",
            column="evidence",
        ),
        check(
            gxe.ExpectColumnValuesToBeInSet,
            "finding_category_known",
            "Every finding is of a documented leakage category (docs/revenue-assurance.md).",
            column="category",
            value_set=list(LEAKAGE_CATEGORIES),
        ),
        check(
            gxe.ExpectColumnValuesToNotBeNull,
            "finding_has_subject",
            "Every finding names its subject: a line, number, file gap, credit or route.",
            column="subject_id",
        ),
    ]


def leakage_category_expectations() -> list[Expectation]:
    return [
        check(
            gxe.ExpectColumnValuesToBeBetween,
            "category_amount_non_negative",
            "Each category's total amount at risk is zero or more.",
            column="amount_at_risk_micros",
            min_value=0,
        ),
        check(
            gxe.ExpectColumnValuesToBeInSet,
            "category_known",
            "Only documented categories are totalled.",
            column="category",
            value_set=list(LEAKAGE_CATEGORIES),
        ),
    ]


def e2e_reconciliation_expectations() -> list[Expectation]:
    return [
        check(
            gxe.ExpectTableRowCountToBeBetween,
            "e2e_feed_days_reconciled",
            "At least one feed-day was reconciled from the switch to the bill.",
            min_value=1,
        ),
        # dbt only warns (the gap becomes an unexplained_usage_gap finding); a record the
        # product lost between the switch and the bill fails the audit.
        check(
            gxe.ExpectColumnValuesToBeBetween,
            "e2e_no_unexplained_records",
            "Every record of every feed-day is explained from the switch file to the invoice: "
            "rejected, duplicate, repeated, held, merged into its session, awaiting rating, "
            "zero-rated, not billable, in suspense, awaiting its invoice, or billed.",
            column="unexplained_records",
            min_value=0,
            max_value=0,
        ),
    ]


def rerating_sample_expectations() -> list[Expectation]:
    return [
        check(
            gxe.ExpectColumnValuesToBeBetween,
            "rerating_sample_drawn",
            "The independent re-rating sampled billed usage in the period.",
            column="records_sampled",
            min_value=1,
        ),
        check(
            gxe.ExpectColumnValuesToBeBetween,
            "rerating_agrees_with_billing",
            "The reference engine prices every sampled record as billing did "
            "(docs/cases.md, Independent re-rating).",
            column="records_mismatched",
            min_value=0,
            max_value=0,
        ),
    ]


DOMAIN = AuditDomain(
    name="revenue_assurance",
    description="Usage reconciliation from the switch to the bill, independent re-rating and "
    "leakage findings.",
    frames=(
        AuditFrame(
            domain="revenue_assurance",
            name="usage_reconciliation",
            grain="feed x file date",
            sql=USAGE_RECONCILIATION_SQL,
            expectations=usage_reconciliation_expectations,
        ),
        AuditFrame(
            domain="revenue_assurance",
            name="e2e_reconciliation",
            grain="billing period x feed x file date",
            sql=E2E_RECONCILIATION_SQL,
            expectations=e2e_reconciliation_expectations,
        ),
        AuditFrame(
            domain="revenue_assurance",
            name="rerating_sample",
            grain="billing period x billing currency",
            sql=RERATING_SAMPLE_SQL,
            expectations=rerating_sample_expectations,
        ),
        AuditFrame(
            domain="revenue_assurance",
            name="leakage_findings",
            grain="leakage finding",
            sql=LEAKAGE_FINDINGS_SQL,
            expectations=leakage_findings_expectations,
        ),
        AuditFrame(
            domain="revenue_assurance",
            name="leakage_by_category",
            grain="billing period x leakage category",
            sql=LEAKAGE_BY_CATEGORY_SQL,
            expectations=leakage_category_expectations,
        ),
    ),
)
