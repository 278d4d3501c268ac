"""Purge toll records past their 18-month retention, except what legal holds keep.

One run a day. The run's date (the end of its data interval, in the operator's time zone)
decides what is due: records of event months before that date's month minus 18. Tasks only
wire ``pipelines/privacy/retention.py`` (docs/privacy.md, Retention):

    check_legal_holds -> purge -> purged_anything -> build

``purge`` deletes the due records no hold covers and logs every partition and raw file it
looked at in the lake table ``retention_purges``; ``build`` rebuilds the warehouse and the
analyst store so their copies go too, and is skipped when nothing was deleted.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pendulum
from airflow.sdk import CronDataIntervalTimetable, dag, get_current_context, task

from pipelines.config import OPERATOR_TIMEZONE

#: DuckDB allows one writing process; the build takes the billing DAG's one-slot pool.
WAREHOUSE_POOL = "duckdb_writer"


def _as_of() -> str:
    """The run's date, YYYY-MM-DD: the end of its data interval, in the operator's zone."""
    end = get_current_context()["data_interval_end"]
    return pendulum.instance(end).in_timezone(OPERATOR_TIMEZONE).date().isoformat()


@dag(
    dag_id="telcolake_retention_purge",
    schedule=CronDataIntervalTimetable("0 3 * * *", timezone=OPERATOR_TIMEZONE),
    start_date=pendulum.datetime(2026, 1, 1, tz=OPERATOR_TIMEZONE),
    catchup=False,
    max_active_runs=1,
    tags=["telcolake", "privacy"],
    default_args={"retries": 1, "retry_delay": timedelta(minutes=5)},
    doc_md=__doc__,
)
def telcolake_retention_purge() -> None:
    @task(retries=0)
    def check_legal_holds() -> str:
        """Fail before deleting anything when legal_holds.csv has a problem."""
        from pipelines.config import layout
        from pipelines.privacy.retention import check_legal_holds as check

        check(layout())
        return _as_of()

    @task
    def purge(as_of: str) -> dict[str, Any]:
        """Delete the due toll records no active legal hold covers; log what was done."""
        from datetime import date

        from pipelines.config import layout
        from pipelines.privacy.retention import purge_toll_records
        from pipelines.results import as_record

        return as_record(purge_toll_records(layout(), date.fromisoformat(as_of)))

    @task.short_circuit
    def purged_anything(purged: dict[str, Any]) -> bool:
        """Rebuild only when records or files were deleted."""
        return bool(purged["records_purged"] or purged["files_purged"])

    @task(pool=WAREHOUSE_POOL)
    def build() -> dict[str, Any]:
        """One `dbt build`: the marts and the analyst store without the purged records."""
        from pipelines.build import build_warehouse
        from pipelines.config import layout
        from pipelines.results import as_record

        return as_record(build_warehouse(layout()))

    purged = purge(check_legal_holds())
    purged_anything(purged) >> build()


telcolake_retention_purge()
