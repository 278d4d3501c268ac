"""Fraud: are the period's alerts plausible, and does each stand on the evidence it cites?

dbt blocks the build on the alert keys, the detector enum and the range of score and amount.
This suite shows auditors what dbt does not: every alert names lines that exist (a
subscriber line, or for Wangiri our lines that were rung), its evidence cites usage that is
in the rated usage mart, and the number of alerts per detector is one an analyst team can
work (a detector that raises dozens of alerts in a month is mistuned, not catching more).
"""

from __future__ import annotations

import great_expectations.expectations as gxe
from great_expectations.expectations import Expectation

from expectations.suites import AuditDomain, AuditFrame, check

#: More alerts than this from one detector in one period is a mistuned threshold.
MAX_ALERTS_PER_DETECTOR = 25

ALERTS_SQL = """
with alerts as (
    select *
    from fct_fraud_alerts
    where $billing_period is null or billing_period = $billing_period
),

alert_lines as (
    select alert_id, unnest(string_split(affected_lines, ',')) as msisdn
    from alerts
),

lines_known as (
    select
        alert_lines.alert_id,
        count(*) as lines_listed,
        count(subscribers.msisdn) as lines_known,
    from alert_lines
    left join (select distinct msisdn from dim_subscribers) as subscribers
        on alert_lines.msisdn = subscribers.msisdn
    group by alert_lines.alert_id
),

samples as (
    select
        alert_id,
        unnest(cast(json_extract(evidence, '$.sample_usage_ids') as varchar[])) as usage_id
    from alerts
),

samples_found as (
    select
        samples.alert_id,
        count(*) as samples_cited,
        count(fct_rated_usage.usage_id) as samples_found,
    from samples
    left join fct_rated_usage on samples.usage_id = fct_rated_usage.usage_id
    group by samples.alert_id
)

select
    alerts.detector || '/' || alerts.subject_id || '/' || alerts.alert_id as audit_key,
    alerts.detector,
    alerts.score,
    alerts.amount_at_risk_micros,
    alerts.lines_affected,
    lines_known.lines_listed,
    lines_known.lines_known,
    coalesce(samples_found.samples_cited, 0) as samples_cited,
    coalesce(samples_found.samples_found, 0) as samples_found,
    count(*) over (partition by alerts.billing_period, alerts.detector) as detector_alerts,
from alerts
left join lines_known on alerts.alert_id = lines_known.alert_id
left join samples_found on alerts.alert_id = samples_found.alert_id
order by audit_key
"""


def alert_expectations() -> list[Expectation]:
    return [
        check(
            gxe.ExpectColumnValuesToBeBetween,
            "score_in_range",
            "Every alert scores 0-100.",
            column="score",
            min_value=0,
            max_value=100,
        ),
        check(
            gxe.ExpectColumnValuesToBeBetween,
            "amount_at_risk_non_negative",
            "No alert puts a negative amount at risk.",
            column="amount_at_risk_micros",
            min_value=0,
        ),
        check(
            gxe.ExpectColumnPairValuesToBeEqual,
            "alert_lines_exist",
            "Every line an alert lists is a subscriber line of the operator.",
            column_A="lines_listed",
            column_B="lines_known",
        ),
        check(
            gxe.ExpectColumnValuesToBeBetween,
            "evidence_cites_usage",
            "Every alert's evidence cites at least one sample usage record.",
            column="samples_cited",
            min_value=1,
        ),
        check(
            gxe.ExpectColumnPairValuesToBeEqual,
            "evidence_usage_exists",
            "Every usage record an alert cites is in the rated usage mart.",
            column_A="samples_cited",
            column_B="samples_found",
        ),
        check(
            gxe.ExpectColumnValuesToBeBetween,
            "alert_count_plausible",
            f"No detector raises more than {MAX_ALERTS_PER_DETECTOR} alerts in a period.",
            severity="warning",
            column="detector_alerts",
            max_value=MAX_ALERTS_PER_DETECTOR,
        ),
    ]


DOMAIN = AuditDomain(
    name="fraud",
    description="Fraud alerts: lines, evidence and volumes.",
    frames=(
        AuditFrame(
            domain="fraud",
            name="alerts",
            grain="fraud alert",
            sql=ALERTS_SQL,
            expectations=alert_expectations,
        ),
    ),
)
