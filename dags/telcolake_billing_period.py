"""Bill one month of a telecom operator: switch files in, audited invoices and marts out.

One run per billing period (a calendar month in the operator's time zone). The data interval
is the month; Airflow starts the run once the month has ended. Tasks only wire the stages in
``pipelines/`` together, each over one partition, and pass small summaries through XCom.

    check_reference -> mediation_partitions -> mediate[feed x day] -> consolidate
        -> rating_buckets -> rate_bucket[bucket] -> rate
        -> (tax, interconnect, roaming, rerating_check) -> build -> validate -> report

Rating fans out per subscriber-hash bucket (TELCOLAKE_RATING_BUCKETS, docs/rating.md): each
``rate_bucket`` rates a set of accounts alone, and ``rate`` completes the period (recurring
charges, every record rated once, suspense).
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

import pendulum
from airflow.sdk import CronDataIntervalTimetable, TriggerRule, dag, get_current_context, task

from pipelines.config import OPERATOR_TIMEZONE

log = logging.getLogger(__name__)

#: DuckDB allows one writing process; every task that writes the warehouse takes this pool.
WAREHOUSE_POOL = "duckdb_writer"


def _billing_period() -> str:
    """The run's billing period, YYYY-MM, from the start of its data interval."""
    start = get_current_context()["data_interval_start"]
    return pendulum.instance(start).in_timezone(OPERATOR_TIMEZONE).strftime("%Y-%m")


@dag(
    dag_id="telcolake_billing_period",
    schedule=CronDataIntervalTimetable("0 0 1 * *", timezone=OPERATOR_TIMEZONE),
    start_date=pendulum.datetime(2026, 1, 1, tz=OPERATOR_TIMEZONE),
    catchup=False,
    max_active_runs=1,
    tags=["telcolake", "billing"],
    default_args={"retries": 1, "retry_delay": timedelta(seconds=30)},
    doc_md=__doc__,
)
def telcolake_billing_period() -> None:
    @task(retries=0)
    def check_reference() -> str:
        """Fail at once, naming the file, when reference data is missing."""
        from pipelines.config import layout
        from pipelines.reference import require_reference

        require_reference(layout())
        return _billing_period()

    @task
    def mediation_partitions(billing_period: str) -> list[dict[str, str]]:
        """The (feed, file date) partitions that hold the period's usage.

        Landing files whose names place them in no partition are quarantined whole
        (lake table landing_rejects) and named in the log, never silently skipped.
        """
        from pipelines.config import layout
        from pipelines.mediation.stage import landing_partitions, quarantine_unplaceable_files
        from pipelines.periods import mediation_dates

        for unplaceable in quarantine_unplaceable_files(layout()):
            log.warning("quarantined %s: %s", unplaceable.path, unplaceable.detail)
        dates = mediation_dates(billing_period)
        return [
            {"feed": feed, "file_date": file_date.isoformat()}
            for feed, file_date in landing_partitions(layout())
            if file_date in dates
        ]

    @task(max_active_tis_per_dag=2)
    def mediate(partition: dict[str, str]) -> dict[str, Any]:
        """Parse, validate and de-duplicate one feed's files of one day into the lake."""
        from datetime import date

        from pipelines.config import layout
        from pipelines.mediation.stage import mediate_partition
        from pipelines.results import as_record

        result = mediate_partition(
            layout(), partition["feed"], date.fromisoformat(partition["file_date"])
        )
        return as_record(result)

    @task(trigger_rule=TriggerRule.NONE_FAILED)
    def consolidate(billing_period: str, mediated: list[dict[str, Any]]) -> dict[str, Any]:
        """Per feed: records repeated across days, partial records joined into sessions.

        Late files change event dates of earlier periods: those (feed, period) pairs are
        consolidated again too, so rating them again bills nothing twice, and they are
        named in the result. Then the late-usage rule brings every earlier period already
        rated up to date before this one is rated and billed: a closed one is re-rated
        (audited) and this run's bills carry a note for the difference, an open one is
        rated and taxed again (pipelines/billing/late_usage.py, docs/faults.md).
        """
        from pipelines.billing.late_usage import bill_late_usage
        from pipelines.config import layout
        from pipelines.mediation.consolidate import consolidate_period
        from pipelines.results import as_record

        results = list(mediated)
        work = {(result["feed"], billing_period) for result in results}
        late = set()
        for result in results:
            for day in result["changed_event_dates"]:
                if day[:7] < billing_period:
                    work.add((result["feed"], day[:7]))
                    late.add(day)
        return {
            "consolidated": [
                as_record(consolidate_period(layout(), feed, period))
                for feed, period in sorted(work)
            ],
            "late_event_dates": sorted(late),
            "late_usage": as_record(bill_late_usage(layout(), billing_period)),
        }

    @task
    def rating_buckets(billing_period: str, consolidated: dict[str, Any]) -> list[dict[str, int]]:
        """Split the period's rating into subscriber-hash buckets (TELCOLAKE_RATING_BUCKETS);
        partitions of a former split into more buckets are removed."""
        from pipelines.config import layout
        from pipelines.rating.buckets import configured_buckets
        from pipelines.rating.stage import plan_rating

        count = configured_buckets()
        planned = plan_rating(layout(), billing_period, count)
        return [{"bucket": bucket, "bucket_count": count} for bucket in planned]

    @task(max_active_tis_per_dag=2)
    def rate_bucket(billing_period: str, part: dict[str, int]) -> dict[str, Any]:
        """Rate one bucket's accounts: its rated usage, allowance balances, aggregate
        charges and interconnect legs."""
        from pipelines.config import layout
        from pipelines.rating.stage import rate_bucket as rate_one_bucket
        from pipelines.results import as_record

        result = rate_one_bucket(layout(), billing_period, part["bucket"], part["bucket_count"])
        return as_record(result)

    @task
    def rate(
        billing_period: str,
        consolidated: dict[str, Any],
        planned: list[dict[str, int]],
        rated: list[dict[str, Any]],
    ) -> dict[str, Any]:
        """Complete the period's rating: recurring charges, every usage record rated exactly
        once across the buckets, suspense tracked."""
        from pipelines.config import layout
        from pipelines.rating.stage import finish_rating
        from pipelines.results import as_record

        result = finish_rating(
            layout(),
            billing_period,
            len(planned),
            [bucket["reference_fingerprint"] for bucket in rated],
        )
        return {**as_record(result), "late_event_dates": consolidated["late_event_dates"]}

    @task
    def tax(billing_period: str, rated: dict[str, Any]) -> dict[str, Any]:
        """Tax every charge of the period: billed_charges and tax_lines in the lake."""
        from pipelines.config import layout
        from pipelines.results import as_record
        from pipelines.taxes.stage import tax_period

        return as_record(tax_period(layout(), billing_period))

    @task
    def interconnect(billing_period: str, rated: dict[str, Any]) -> dict[str, Any]:
        """Reconcile each carrier's invoice against the rated legs; open the disputes."""
        from pipelines.config import layout
        from pipelines.interconnect.reconcile import reconcile_period
        from pipelines.results import as_record

        return as_record(reconcile_period(layout(), billing_period))

    @task
    def roaming(billing_period: str, rated: dict[str, Any]) -> dict[str, Any]:
        """TAP files for inbound roamers, RAP returns, roaming settlement per partner."""
        from pipelines.config import layout
        from pipelines.results import as_record
        from pipelines.roaming.stage import roaming_period

        return as_record(roaming_period(layout(), billing_period))

    @task
    def rerating_check(billing_period: str, rated: dict[str, Any]) -> dict[str, Any]:
        """Re-rate a seeded sample of the billed usage independently (RA control)."""
        from pipelines.assurance.rerating import check_rerating
        from pipelines.config import layout
        from pipelines.results import as_record

        return as_record(check_rerating(layout(), billing_period))

    @task(pool=WAREHOUSE_POOL)
    def build(
        taxed: dict[str, Any],
        reconciled: dict[str, Any],
        roamed: dict[str, Any],
        rerated: dict[str, Any],
    ) -> dict[str, Any]:
        """One `dbt build`: staging, intermediate and marts, with their tests."""
        from pipelines.build import build_warehouse
        from pipelines.config import layout
        from pipelines.results import as_record

        return as_record(build_warehouse(layout()))

    @task(retries=0)
    def validate(billing_period: str, built: dict[str, Any]) -> dict[str, Any]:
        """Run the expectation suites on the marts, publish Data Docs, fail on any failure."""
        from pipelines.config import layout
        from pipelines.results import as_record
        from pipelines.validate import raise_for_failures, validate_warehouse

        # The Airflow run id names the run in the lake table validation_results: a retried
        # task replaces its own rows, every other run adds its own.
        run_id = get_current_context()["run_id"]
        summary = validate_warehouse(layout(), billing_period, run_id)
        raise_for_failures(summary)
        return as_record(summary)

    @task(retries=0)
    def report(billing_period: str, validated: dict[str, Any]) -> str:
        """Write each invoice's statement (HTML and PDF), the run summary (JSON and
        Markdown) and the auditors' RA report (HTML with charts); return the summary's path."""
        from pipelines.assurance.ra_report import write_ra_report
        from pipelines.config import layout
        from pipelines.report import write_run_summary
        from pipelines.statements.stage import write_statements

        write_statements(layout(), billing_period)
        summary = write_run_summary(layout(), billing_period)
        log.info("RA report: %s", write_ra_report(layout(), billing_period))
        return str(summary)

    period = check_reference()
    mediated = mediate.expand(partition=mediation_partitions(period))
    consolidated = consolidate(period, mediated)
    planned = rating_buckets(period, consolidated)
    rated_buckets = rate_bucket.partial(billing_period=period).expand(part=planned)
    rated = rate(period, consolidated, planned, rated_buckets)
    built = build(
        tax(period, rated),
        interconnect(period, rated),
        roaming(period, rated),
        rerating_check(period, rated),
    )
    report(period, validate(period, built))


telcolake_billing_period()
