"""The ``telcolake`` command: one subcommand per stage, and ``run`` for the whole job."""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from datetime import date

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)

from pipelines.config import layout
from pipelines.results import as_record

DEFAULT_PERIOD = "2026-10"
DEFAULT_SUBSCRIBERS = 200
DEFAULT_SEED = 7

console = Console()


def _progress() -> Progress:
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=False,
    )


def _generate(args: argparse.Namespace) -> None:
    from pipelines.generate import generate_operator

    with _progress() as progress:
        bars: dict[str, TaskID] = {}

        def on_progress(step: str, done: int, total: int) -> None:
            if step not in bars:
                bars[step] = progress.add_task(f"generate: {step}", total=total)
            progress.update(bars[step], completed=done, total=total)

        summary = generate_operator(
            layout(),
            seed=args.seed,
            subscribers=args.subscribers,
            month=args.period,
            days=args.days,
            progress=on_progress,
        )
    feeds = ", ".join(
        f"{feed}: {summary.files[feed]} files, {summary.records[feed]} records"
        for feed in summary.files
    )
    anomalies = ", ".join(f"{name} {count}" for name, count in summary.anomalies.items())
    console.print(
        f"generated {summary.accounts} accounts, {summary.subscribers} service lines; {feeds}"
    )
    console.print(f"injected anomalies (data/manifest/anomalies.json): {anomalies}")


def cmd_generate(args: argparse.Namespace) -> int:
    _generate(args)
    return 0


def cmd_mediate(args: argparse.Namespace) -> int:
    from pipelines.mediation.stage import landing_partitions, mediate_partition
    from pipelines.periods import mediation_dates

    data = layout()
    if args.feed and args.date:
        partitions = [(args.feed, date.fromisoformat(args.date))]
    else:
        dates = mediation_dates(args.period)
        partitions = [p for p in landing_partitions(data) if p[1] in dates]
    with _progress() as progress:
        bar = progress.add_task("mediate", total=len(partitions))
        for feed, file_date in partitions:
            result = mediate_partition(data, feed, file_date)
            progress.advance(bar)
            progress.console.print(as_record(result))
    return 0


def cmd_rate(args: argparse.Namespace) -> int:
    from pipelines.rating.stage import rate_period

    console.print(as_record(rate_period(layout(), args.period)))
    return 0


def cmd_build(args: argparse.Namespace) -> int:
    from pipelines.build import build_warehouse

    console.print(as_record(build_warehouse(layout())))
    return 0


def cmd_validate(args: argparse.Namespace) -> int:
    from pipelines.validate import validate_warehouse

    summary = validate_warehouse(layout(), args.period)
    console.print(as_record(summary))
    return 0 if summary.success else 1


def cmd_report(args: argparse.Namespace) -> int:
    from pipelines.report import print_run_summary, write_run_summary

    write_run_summary(layout(), args.period)
    print_run_summary(layout(), args.period, console)
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    from pipelines.airflow_run import DagRunFailed, prepare_airflow, run_billing_dag
    from pipelines.reference import MissingReferenceError, require_reference
    from pipelines.report import print_run_summary

    data = layout()
    started = time.monotonic()
    if not args.skip_generate:
        _generate(args)
    try:
        require_reference(data)
    except MissingReferenceError as missing:
        console.print(f"[bold red]cannot start:[/] {missing}")
        return 2
    with console.status("preparing Airflow (SQLite metadata database)"):
        prepare_airflow(data)
    with _progress() as progress:
        bar = progress.add_task(f"Airflow DAG telcolake_billing_period {args.period}", total=None)
        done = 0

        def on_task_end(task_id: str) -> None:
            nonlocal done
            done += 1
            progress.update(bar, completed=done, description=f"DAG: {task_id} done")

        try:
            log = run_billing_dag(data, args.period, on_task_end)
        except DagRunFailed as failure:
            console.print(f"[bold red]run failed:[/] {failure}")
            return 1
        progress.update(bar, total=done, description="DAG telcolake_billing_period: success")
    print_run_summary(data, args.period, console)
    console.print(f"Airflow log: {log}")
    console.print(f"finished in {time.monotonic() - started:.0f} s")
    return 0


def _add_generation_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--subscribers",
        type=int,
        default=DEFAULT_SUBSCRIBERS,
        help=f"service lines (default {DEFAULT_SUBSCRIBERS}; e.g. 5000 for a larger run)",
    )
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help="random seed (default 7)")
    parser.add_argument(
        "--days", type=int, default=None, help="generate traffic for the first N days only"
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="telcolake",
        description=(
            "An auditable revenue lakehouse for telecom operators: switch records in, "
            "rated usage, invoices, interconnect settlement and revenue-assurance findings out. "
            "Data lives under ./data (or $TELCOLAKE_DATA)."
        ),
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def add(name: str, help_text: str, handler: object) -> argparse.ArgumentParser:
        command = sub.add_parser(name, help=help_text, description=help_text)
        command.set_defaults(handler=handler)
        command.add_argument(
            "--period",
            default=DEFAULT_PERIOD,
            help=f"billing period YYYY-MM (default {DEFAULT_PERIOD})",
        )
        return command

    run = add(
        "run",
        "Generate a synthetic operator and bill one month through the Airflow DAG (main job).",
        cmd_run,
    )
    _add_generation_options(run)
    run.add_argument(
        "--skip-generate", action="store_true", help="reuse the operator already in data/"
    )
    generate = add(
        "generate",
        "Write a synthetic operator: reference data, switch files, anomalies.",
        cmd_generate,
    )
    _add_generation_options(generate)
    mediate = add(
        "mediate", "Parse, validate and de-duplicate switch files into the usage lake.", cmd_mediate
    )
    mediate.add_argument("--feed", help="one feed only (with --date)")
    mediate.add_argument("--date", help="one file date only, YYYY-MM-DD (with --feed)")
    add("rate", "Rate the period's usage; compute recurring and interconnect charges.", cmd_rate)
    add("build", "Build the DuckDB marts with one dbt build (models and tests).", cmd_build)
    add("validate", "Run the expectation suites on the marts and publish Data Docs.", cmd_validate)
    add("report", "Write and print the run summary for a period.", cmd_report)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.handler(args))


if __name__ == "__main__":
    sys.exit(main())
