"""One benchmark task in a process of its own: the child that ``runner`` starts.

    python -m pipelines.bench.stages TASK --root DATA_ROOT --period YYYY-MM
        --args JSON --result RESULT.json [--profile PROFILE.html]

A task is what one task of the billing-period DAG (dags/telcolake_billing_period.py) does,
called the same way, or one baseline measure (pipelines.bench.baselines). The child writes
RESULT.json whatever happens: the task's result (as the DAG's XCom would hold it), the
records it took in and which records those are, its own time and CPU time, and its own
peak resident set and /proc io counters read just before it exits. A task that raises is
written as failed with its error; only a child killed from outside (out of memory, a
signal) writes nothing, which the parent reports.

With ``--profile`` the task runs under pyinstrument, a statistical profiler of Python
frames: a Numba kernel, like any native code, appears as the one Python frame that called
it, its time all in that frame.
"""

from __future__ import annotations

import argparse
import json
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from pipelines import lake
from pipelines.bench import measure
from pipelines.config import Layout
from pipelines.results import as_record


@dataclass
class TaskOutcome:
    """What a task did: its result, the records it took in (``records_kind`` says which
    records), and a failure that still leaves a result (expectations that failed)."""

    result: dict[str, Any]
    records: int | None = None
    records_kind: str = ""
    failure: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


Task = Callable[[Layout, str, dict[str, Any]], TaskOutcome]


def lake_rows(layout: Layout, table: str, where: dict[str, object]) -> int:
    """Rows of ``table``'s partitions matching ``where``, from their Parquet footers."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    total = 0
    store = layout.lake_store
    for values in lake.partitions(layout, table, where):
        key = lake.partition_key(table, values)
        path = store.local_path(key)
        source = pa.BufferReader(store.read(key)) if path is None else path
        total += pq.read_metadata(source).num_rows
    return total


def generate(layout: Layout, period: str, args: dict[str, Any]) -> TaskOutcome:
    """Write the scale's operator: reference data, then one day of switch files."""
    from pipelines.generate.volume.reference import write_volume_reference
    from pipelines.generate.volume.traffic import write_volume_traffic

    reference = write_volume_reference(
        layout, subscribers=args["subscribers"], seed=args["seed"], month=period
    )
    traffic = write_volume_traffic(
        layout,
        days=args["days"],
        records_per_line_day=args["records_per_line_day"],
        seed=args["seed"],
        month=period,
    )
    return TaskOutcome(
        {"reference": _plain(reference), "traffic": _plain(traffic)},
        round(args["subscribers"] * args["records_per_line_day"]),
        "usage records asked for",
    )


def _plain(value: Any) -> Any:
    """A generator's summary as JSON, whatever it returns (a dataclass, a dict, a path)."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    try:
        return as_record(value)
    except (TypeError, ValueError):
        return str(value)


def mediation_partitions(layout: Layout, period: str, args: dict[str, Any]) -> TaskOutcome:
    """The DAG's mediation_partitions: quarantine unplaceable files, list the partitions."""
    from pipelines.mediation.stage import landing_partitions, quarantine_unplaceable_files
    from pipelines.periods import mediation_dates

    quarantined = quarantine_unplaceable_files(layout)
    dates = mediation_dates(period)
    found = [
        {"feed": feed, "file_date": file_date.isoformat()}
        for feed, file_date in landing_partitions(layout)
        if file_date in dates
    ]
    return TaskOutcome({"partitions": found, "quarantined_files": len(quarantined)})


def mediate(layout: Layout, period: str, args: dict[str, Any]) -> TaskOutcome:
    """The DAG's mediate: one (feed, file date) partition into the lake."""
    from pipelines.mediation.stage import mediate_partition

    result = mediate_partition(layout, args["feed"], date.fromisoformat(args["file_date"]))
    return TaskOutcome(as_record(result), result.records_in, "landing records")


def consolidate(layout: Layout, period: str, args: dict[str, Any]) -> TaskOutcome:
    """The DAG's consolidate: each mediated feed's period (and earlier periods its late
    files reached), then the late-usage rule. ``mediated``: the mediate tasks' results."""
    from pipelines.billing.late_usage import bill_late_usage
    from pipelines.mediation.consolidate import consolidate_period

    mediated: list[dict[str, Any]] | None = args.get("mediated")
    if mediated is None:  # mediated by an earlier bench run on this lake: every feed landed
        from pipelines.mediation.stage import landing_partitions
        from pipelines.periods import mediation_dates

        dates = mediation_dates(period)
        feeds = sorted({feed for feed, day in landing_partitions(layout) if day in dates})
        mediated = [{"feed": feed, "changed_event_dates": []} for feed in feeds]
    work = {(result["feed"], period) for result in mediated}
    late = set()
    for result in mediated:
        for day in result["changed_event_dates"]:
            if day[:7] < period:
                work.add((result["feed"], day[:7]))
                late.add(day)
    consolidated = [as_record(consolidate_period(layout, feed, p)) for feed, p in sorted(work)]
    records = sum(c["records"] for c in consolidated if c["billing_period"] == period)
    result = {
        "consolidated": consolidated,
        "late_event_dates": sorted(late),
        "late_usage": as_record(bill_late_usage(layout, period)),
    }
    return TaskOutcome(result, records, "usage records of the period")


def plan_rating(layout: Layout, period: str, args: dict[str, Any]) -> TaskOutcome:
    """The DAG's rating_buckets: split the period into TELCOLAKE_RATING_BUCKETS buckets."""
    from pipelines.rating.buckets import configured_buckets
    from pipelines.rating.stage import plan_rating as plan

    count = configured_buckets()
    return TaskOutcome({"buckets": plan(layout, period, count), "bucket_count": count})


def rate_bucket(layout: Layout, period: str, args: dict[str, Any]) -> TaskOutcome:
    """The DAG's rate_bucket: one bucket's accounts."""
    from pipelines.rating.stage import rate_bucket as rate_one_bucket

    result = rate_one_bucket(layout, period, args["bucket"], args["bucket_count"])
    return TaskOutcome(as_record(result), result.usage_records, "billable usage records")


def finish_rating(layout: Layout, period: str, args: dict[str, Any]) -> TaskOutcome:
    """The DAG's rate: complete the period once its buckets are rated."""
    from pipelines.rating.stage import finish_rating as finish

    result = finish(layout, period, args["bucket_count"], args["fingerprints"])
    return TaskOutcome(as_record(result), result.usage_records, "billable usage records")


def tax(layout: Layout, period: str, args: dict[str, Any]) -> TaskOutcome:
    from pipelines.taxes.stage import tax_period

    result = tax_period(layout, period)
    return TaskOutcome(as_record(result), result.charges, "billed charges")


def interconnect(layout: Layout, period: str, args: dict[str, Any]) -> TaskOutcome:
    from pipelines.interconnect.reconcile import reconcile_period

    result = reconcile_period(layout, period)
    legs = lake_rows(layout, "interconnect_legs", {"billing_period": period})
    return TaskOutcome(as_record(result), legs, "rated interconnect legs")


def roaming(layout: Layout, period: str, args: dict[str, Any]) -> TaskOutcome:
    from pipelines.roaming.stage import roaming_period

    result = roaming_period(layout, period)
    events = result.tap_in_events + result.tap_out_events
    return TaskOutcome(as_record(result), events, "TAP events in and out")


def rerating_check(layout: Layout, period: str, args: dict[str, Any]) -> TaskOutcome:
    from pipelines.assurance.rerating import check_rerating

    result = check_rerating(layout, period)
    return TaskOutcome(as_record(result), result.sampled, "sampled rated records")


def build(layout: Layout, period: str, args: dict[str, Any]) -> TaskOutcome:
    from pipelines.build import build_warehouse

    result = build_warehouse(layout)
    rated = lake_rows(layout, "rated_usage", {"billing_period": period})
    return TaskOutcome(as_record(result), rated, "rated usage records")


def validate(layout: Layout, period: str, args: dict[str, Any]) -> TaskOutcome:
    """The DAG's validate; failed expectations make the task failed, with its counts."""
    from pipelines.validate import ValidationFailed, raise_for_failures, validate_warehouse

    run_id = "bench__" + datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    summary = validate_warehouse(layout, period, run_id)
    outcome = TaskOutcome(
        as_record(summary.as_dict()),
        sum(suite.rows for suite in summary.suites),
        "audit frame rows",
    )
    try:
        raise_for_failures(summary)
    except ValidationFailed as failed:
        outcome.failure = str(failed)
    return outcome


def _baseline(name: str) -> Task:
    def run(layout: Layout, period: str, args: dict[str, Any]) -> TaskOutcome:
        from pipelines.bench import baselines

        measured = baselines.MEASURES[name](layout, period, **args)
        return TaskOutcome(
            measured.detail,
            measured.records,
            measured.records_kind,
            extra={"timed_seconds": measured.seconds},
        )

    return run


TASKS: dict[str, Task] = {
    "generate": generate,
    "mediation_partitions": mediation_partitions,
    "mediate": mediate,
    "consolidate": consolidate,
    "plan_rating": plan_rating,
    "rate_bucket": rate_bucket,
    "finish_rating": finish_rating,
    "tax": tax,
    "interconnect": interconnect,
    "roaming": roaming,
    "rerating_check": rerating_check,
    "build": build,
    "validate": validate,
    "reference_rating": _baseline("reference_rating"),
    "duckdb_sql_rating": _baseline("duckdb_sql_rating"),
    "pycrate_ber": _baseline("pycrate_ber"),
}


def _run(task: Task, layout: Layout, period: str, args: dict[str, Any], profile: Path | None):
    if profile is None:
        return task(layout, period, args)
    from pyinstrument import Profiler

    profiler = Profiler()
    profiler.start()
    try:
        return task(layout, period, args)
    finally:
        profiler.stop()
        profile.parent.mkdir(parents=True, exist_ok=True)
        profile.write_text(profiler.output_html())
        profile.with_suffix(".txt").write_text(profiler.output_text(unicode=False, color=False))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("task", choices=sorted(TASKS))
    parser.add_argument("--root", type=Path, required=True, help="the data root")
    parser.add_argument("--period", required=True, help="billing period YYYY-MM")
    parser.add_argument("--args", default="{}", help="the task's arguments as JSON")
    parser.add_argument("--result", type=Path, required=True, help="where to write the result")
    parser.add_argument("--profile", type=Path, help="profile into this HTML file (and .txt)")
    options = parser.parse_args(argv)
    started = time.perf_counter()
    written: dict[str, Any] = {"task": options.task, "ok": False}
    try:
        outcome = _run(
            TASKS[options.task],
            Layout(options.root.resolve()),
            options.period,
            json.loads(options.args),
            options.profile,
        )
        written |= {
            "ok": outcome.failure is None,
            "error": outcome.failure,
            "result": outcome.result,
            "records": outcome.records,
            "records_kind": outcome.records_kind,
            **outcome.extra,
        }
    except Exception as error:
        written |= {
            "error": f"{type(error).__name__}: {error}",
            "traceback": traceback.format_exc(limit=-12),
        }
    written["work_seconds"] = round(time.perf_counter() - started, 3)
    written["cpu_seconds"] = round(measure.cpu_seconds(), 3)
    written["peak_rss_bytes"] = measure.peak_rss_bytes()
    written["io"] = measure.io_counters()
    options.result.parent.mkdir(parents=True, exist_ok=True)
    options.result.write_text(json.dumps(written, indent=1, default=str) + "\n")


if __name__ == "__main__":
    main()
