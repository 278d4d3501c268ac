"""The ``telcolake`` command: one subcommand per stage, and ``run`` for the whole job."""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)

from pipelines.config import Layout, layout
from pipelines.results import as_record

if TYPE_CHECKING:
    from rich.table import Table

    from pipelines.services.celery_stack import CeleryStack

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
    manifest = layout().manifest / "anomalies.json"
    console.print(f"injected anomalies ({manifest}): {anomalies}")


def cmd_generate(args: argparse.Namespace) -> int:
    _generate(args)
    return 0


def cmd_mediate(args: argparse.Namespace) -> int:
    from pipelines.mediation.consolidate import consolidate_period
    from pipelines.mediation.stage import (
        landing_partitions,
        mediate_partition,
        quarantine_unplaceable_files,
    )
    from pipelines.periods import mediation_dates

    data = layout()
    for unplaceable in quarantine_unplaceable_files(data):
        console.print(f"[yellow]quarantined[/] {unplaceable.path}: {unplaceable.detail}")
    if args.feed and args.date:
        partitions = [(args.feed, date.fromisoformat(args.date))]
    else:
        dates = mediation_dates(args.period)
        partitions = [p for p in landing_partitions(data) if p[1] in dates]
    changed: set[tuple[str, str]] = set()  # (feed, billing period) to consolidate again
    with _progress() as progress:
        bar = progress.add_task("mediate", total=len(partitions))
        for feed, file_date in partitions:
            result = mediate_partition(data, feed, file_date)
            changed.update((feed, day[:7]) for day in result.event_dates)
            progress.advance(bar)
            progress.console.print(as_record(result))
    if not (args.feed and args.date):
        changed.update((feed, args.period) for feed, _ in partitions)
    for feed, period in sorted(changed):
        console.print(as_record(consolidate_period(data, feed, period)))
    return 0


def cmd_rate(args: argparse.Namespace) -> int:
    from rich.markup import escape

    from pipelines.rating.rerate import PeriodStateError
    from pipelines.rating.stage import rate_period

    try:
        console.print(as_record(rate_period(layout(), args.period)))
    except PeriodStateError as refused:
        console.print(f"[bold red]cannot rate:[/] {escape(str(refused))}")
        return 2
    return 0


def cmd_interconnect(args: argparse.Namespace) -> int:
    from pipelines.interconnect.reconcile import reconcile_period

    console.print(as_record(reconcile_period(layout(), args.period)))
    return 0


def cmd_roaming(args: argparse.Namespace) -> int:
    from pipelines.roaming.stage import roaming_period

    console.print(as_record(roaming_period(layout(), args.period)))
    return 0


def cmd_tax(args: argparse.Namespace) -> int:
    from rich.markup import escape

    from pipelines.rating.rerate import PeriodStateError
    from pipelines.taxes.stage import tax_period

    try:
        console.print(as_record(tax_period(layout(), args.period)))
    except PeriodStateError as refused:
        console.print(f"[bold red]cannot tax:[/] {escape(str(refused))}")
        return 2
    return 0


def cmd_statements(args: argparse.Namespace) -> int:
    from pipelines.statements.stage import write_statements

    result = write_statements(layout(), args.period, args.account or None, png=args.png)
    console.print(f"{result.statements} statement(s) in {result.folder}")
    return 0


def cmd_suspense(args: argparse.Namespace) -> int:
    import polars as pl
    from rich.table import Table

    from pipelines.rating.suspense import read_suspense

    suspense = read_suspense(layout(), args.period)
    today = date.today()
    summary = (
        suspense.group_by("suspense_state", "suspense_reason")
        .agg(
            pl.len().alias("records"),
            pl.col("event_date").min().alias("oldest_event"),
            pl.col("first_suspended_at").min().alias("first_suspended"),
            pl.col("attempts").max().alias("most_attempts"),
        )
        .sort("suspense_state", "suspense_reason")
    )
    table = Table(title=f"rating suspense of {args.period}: {suspense.height} records")
    for column in ("state", "reason", "records", "oldest event", "days since", "most attempts"):
        numeric = column not in ("state", "reason")
        table.add_column(column, justify="right" if numeric else "left", no_wrap=not numeric)
    for row in summary.iter_rows(named=True):
        table.add_row(
            row["suspense_state"],
            row["suspense_reason"],
            str(row["records"]),
            row["oldest_event"].isoformat(),
            str((today - row["oldest_event"]).days),
            str(row["most_attempts"]),
        )
    console.print(table)
    return 0


def cmd_recycle(args: argparse.Namespace) -> int:
    from pipelines.rating.suspense import recycle_period

    console.print(as_record(recycle_period(layout(), args.period)))
    return 0


def cmd_close_period(args: argparse.Namespace) -> int:
    from rich.markup import escape

    from pipelines.rating.rerate import PeriodStateError, close_period

    try:
        period = close_period(layout(), args.period, args.by, args.reason)
    except PeriodStateError as refused:
        console.print(f"[bold red]cannot close:[/] {escape(str(refused))}")
        return 2
    console.print(
        f"{args.period} closed at {period['closed_at']:%Y-%m-%d %H:%M} UTC by "
        f"{escape(period['closed_by'])}: {escape(period['close_reason'])}"
    )
    return 0


def cmd_rerate(args: argparse.Namespace) -> int:
    from rich.markup import escape
    from rich.table import Table

    from pipelines.lake import read_partition
    from pipelines.rating.rerate import PeriodStateError, rerate_period

    data = layout()
    try:
        result = rerate_period(data, args.period, args.reason, args.by)
    except PeriodStateError as refused:
        console.print(f"[bold red]cannot re-rate:[/] {escape(str(refused))}")
        return 2
    console.print(as_record(result))
    values = {"billing_period": args.period, "rating_version": result.rating_version}
    differences = read_partition(data, "rerate_account_differences", values)
    table = Table(title=f"{args.period} version {result.rating_version}: difference per account")
    headings = {
        "account_id": "account",
        "charge_before_micros": "before (micros)",
        "charge_after_micros": "after (micros)",
        "difference_micros": "difference",
        "records_changed": "records changed",
    }
    for column, heading in headings.items():
        table.add_column(heading, justify="left" if column == "account_id" else "right")
    for row in differences.to_pylist():
        table.add_row(*(str(row[column]) for column in headings))
    console.print(table)
    return 0


def cmd_build(args: argparse.Namespace) -> int:
    from pipelines.build import build_warehouse

    console.print(as_record(build_warehouse(layout())))
    return 0


def cmd_validate(args: argparse.Namespace) -> int:
    from pipelines.validate import validate_warehouse

    summary = validate_warehouse(layout(), args.period, args.run_id)
    console.print(as_record(summary))
    return 0 if summary.success else 1


def cmd_report(args: argparse.Namespace) -> int:
    from pipelines.assurance.ra_report import write_ra_report
    from pipelines.report import print_run_summary, write_run_summary

    # The RA report links the run summary: the summary first.
    write_run_summary(layout(), args.period)
    write_ra_report(layout(), args.period)
    print_run_summary(layout(), args.period, console)
    return 0


def cmd_reconcile_accuracy(args: argparse.Namespace) -> int:
    import json

    from pipelines.interconnect.accuracy import measure_accuracy, to_markdown

    try:
        report = measure_accuracy(layout(), args.period)
    except FileNotFoundError as missing:
        console.print(f"[bold red]no ground truth:[/] {missing}")
        return 2
    print(to_markdown(report), end="")
    if args.json:
        Path(args.json).write_text(json.dumps(as_record(report), indent=2) + "\n")
    return 0


def cmd_ra_accuracy(args: argparse.Namespace) -> int:
    import json

    from pipelines.assurance.accuracy import TARGET, accuracy_table, measure, to_markdown

    try:
        types = measure(layout(), args.period)
    except FileNotFoundError as missing:
        console.print(f"[bold red]no ground truth:[/] {missing}")
        return 2
    print(to_markdown(types), end="")
    if args.json:
        Path(args.json).write_text(json.dumps(accuracy_table(types), indent=2) + "\n")
    return 0 if all(t.meets(TARGET) for t in types) else 1


def cmd_quarantine_list(args: argparse.Namespace) -> int:
    from collections import Counter

    from rich.table import Table

    from pipelines.mediation.quarantine import export_rejects, write_rejects_csv

    file_date = date.fromisoformat(args.file_date) if args.file_date else None
    rejects = export_rejects(layout(), args.feed, file_date, args.reason)
    counts = Counter(
        (row["feed"], row["file_date"].isoformat(), row["reason_code"])
        for row in rejects.select(["feed", "file_date", "reason_code"]).to_pylist()
    )
    table = Table(title=f"quarantined records: {rejects.num_rows}")
    for column in ("feed", "file_date", "reason_code"):
        table.add_column(column)
    table.add_column("records", justify="right")
    for (feed, day, reason), count in sorted(counts.items()):
        table.add_row(feed, day, reason, str(count))
    console.print(table)
    if args.out:
        # The rejects' raw_text is raw switch records: exporting them is logged (CPNI).
        from pipelines.privacy.access_log import record_access

        record_access(
            layout(),
            "quarantine list",
            {
                "feed": args.feed,
                "file_date": args.file_date,
                "reason": args.reason,
                "out": args.out,
            },
            rejects.num_rows,
        )
        write_rejects_csv(rejects, Path(args.out))
        console.print(
            f"wrote {rejects.num_rows} rejects to {args.out}: fill in fixed_text, then "
            f"telcolake quarantine replay {args.out} --by NAME --reason TEXT"
        )
    return 0


def _registry_totals(data: Layout, feed: str, file_date: date) -> dict[str, int]:
    from pipelines.lake import read_partition

    values = {"feed": feed, "file_date": file_date.isoformat()}
    registry = read_partition(data, "file_registry", values)
    columns = ("records_accepted", "records_rejected", "records_fixed")
    return {column: sum(registry.column(column).to_pylist()) for column in columns}


def cmd_quarantine_replay(args: argparse.Namespace) -> int:
    from rich.markup import escape
    from rich.table import Table

    from pipelines.mediation.quarantine import QuarantineError, record_fixes
    from pipelines.mediation.stage import mediate_partition

    data = layout()
    try:
        imported = record_fixes(data, Path(args.fixes_csv), args.by, args.reason)
    except QuarantineError as refused:
        console.print(f"[bold red]cannot replay:[/] {escape(str(refused))}")
        return 2
    console.print(
        f"fixes recorded: {imported.recorded} new or changed, {imported.unchanged} unchanged, "
        f"{imported.withdrawn} withdrawn"
    )
    table = Table(title="re-mediated partitions")
    for column in ("feed", "file_date", "accepted", "rejected", "records fixed"):
        table.add_column(column, justify="left" if column in ("feed", "file_date") else "right")
    for feed, file_date in imported.partitions:
        before = _registry_totals(data, feed, file_date)
        mediate_partition(data, feed, file_date)
        after = _registry_totals(data, feed, file_date)
        table.add_row(
            feed,
            file_date.isoformat(),
            *(
                f"{before[column]} -> {after[column]}"
                for column in ("records_accepted", "records_rejected", "records_fixed")
            ),
        )
    console.print(table)
    return 0


def cmd_rating_sample(args: argparse.Namespace) -> int:
    from pipelines.privacy.access_log import record_access
    from pipelines.rating.sample import write_rated_sample

    written = write_rated_sample(layout(), args.period, args.size, args.seed, Path(args.out))
    # The sample carries each record's called number: an export of call detail (CPNI).
    arguments = {"period": args.period, "size": args.size, "seed": args.seed, "out": args.out}
    record_access(layout(), "rating-sample", arguments, written)
    console.print(f"{written} priced records of {args.period} in {args.out}")
    return 0


def cmd_call_detail(args: argparse.Namespace) -> int:
    import csv

    from rich.markup import escape
    from rich.table import Table

    from pipelines.privacy.call_detail import (
        CallDetailError,
        invoice_line_call_detail,
        subscriber_call_detail,
    )
    from pipelines.privacy.stores import StoreUnavailable

    try:
        if args.invoice_line:
            detail = invoice_line_call_detail(layout(), args.invoice_line, args.reason, args.by)
        else:
            detail = subscriber_call_detail(
                layout(), args.subscriber, args.period, args.reason, args.by
            )
    except (CallDetailError, StoreUnavailable) as refused:
        console.print(f"[bold red]no call detail:[/] {escape(str(refused))}")
        return 2
    if args.out:
        with open(args.out, "w", newline="", encoding="utf-8") as out:
            writer = csv.writer(out)
            writer.writerow(detail.columns)
            writer.writerows(detail.rows)
        console.print(f"{len(detail.rows)} records in {args.out}")
    else:
        table = Table(title=f"call detail: {len(detail.rows)} records")
        for column in detail.columns:
            table.add_column(column)
        for row in detail.rows:
            table.add_row(*("" if value is None else escape(str(value)) for value in row))
        console.print(table)
    console.print(f"access logged: {detail.access_id} (cpni_access_log)")
    return 0


def cmd_retention_purge(args: argparse.Namespace) -> int:
    from rich.markup import escape

    from pipelines.privacy.legal_holds import LegalHoldsError
    from pipelines.privacy.retention import purge_toll_records

    as_of = date.fromisoformat(args.as_of) if args.as_of else date.today()
    try:
        result = purge_toll_records(layout(), as_of)
    except LegalHoldsError as refused:
        console.print(f"[bold red]nothing purged:[/] {escape(str(refused))}")
        return 2
    console.print(as_record(result))
    if args.build and (result.records_purged or result.files_purged):
        from pipelines.build import build_warehouse

        console.print(as_record(build_warehouse(layout())))
    return 0


def cmd_access_log(args: argparse.Namespace) -> int:
    from rich.markup import escape
    from rich.table import Table

    from pipelines.privacy.access_log import read_access_log

    entries = read_access_log(layout(), args.date)
    table = Table(title=f"CPNI access log: {len(entries)} entries")
    for heading in ("accessed at (UTC)", "by", "command", "arguments", "rows", "reason"):
        table.add_column(heading, justify="right" if heading == "rows" else "left")
    for entry in entries:
        table.add_row(
            f"{entry['accessed_at']:%Y-%m-%d %H:%M:%S}",
            escape(str(entry["accessed_by"])),
            escape(str(entry["command"])),
            escape(str(entry["arguments"])),
            str(entry["rows_returned"]),
            escape(str(entry["reason"] or "")),
        )
    console.print(table)
    return 0


def cmd_rerating_check(args: argparse.Namespace) -> int:
    from pipelines.assurance.rerating import check_rerating

    console.print(as_record(check_rerating(layout(), args.period, args.size, args.seed)))
    return 0


def cmd_cases_list(args: argparse.Namespace) -> int:
    from rich.markup import escape
    from rich.table import Table

    from pipelines.assurance.cases import CaseError, list_cases
    from pipelines.report import money

    try:
        cases = list_cases(layout(), args.period, args.status, args.kind)
    except CaseError as refused:
        console.print(f"[bold red]cannot list:[/] {escape(str(refused))}")
        return 2
    table = Table(title=f"cases: {len(cases)}")
    headings = ("case", "kind", "period", "type", "at risk", "status", "since", "recovered")
    for heading in headings:
        # The case id is what set-status takes: never wrapped or cut.
        table.add_column(
            heading,
            justify="right" if heading in ("at risk", "recovered") else "left",
            no_wrap=heading == "case",
            min_width=32 if heading == "case" else None,
        )
    for case in cases:
        since = case["status_changed_at"]
        table.add_row(
            case["case_id"],
            case["case_kind"],
            case["billing_period"],
            case["case_type"],
            money(case["amount_at_risk_micros"]),
            case["case_status"],
            f"{since:%Y-%m-%d %H:%M}" if since else "",
            money(case["recovered_micros"]) if case["recovered_micros"] is not None else "",
        )
    console.print(table)
    return 0


def cmd_cases_set_status(args: argparse.Namespace) -> int:
    from rich.markup import escape

    from pipelines.assurance.cases import CaseError, parse_amount, set_status

    try:
        recovered = parse_amount(args.recovered) if args.recovered is not None else None
        done = set_status(layout(), args.case_id, args.status, args.by, args.note, recovered)
    except CaseError as refused:
        console.print(f"[bold red]cannot set status:[/] {escape(str(refused))}")
        return 2
    if done.recorded:
        console.print(f"{done.case_id}: {done.from_status} -> {done.to_status}")
    else:
        console.print(f"{done.case_id} is {done.to_status} already: nothing recorded")
    return 0


def cmd_cases_history(args: argparse.Namespace) -> int:
    from rich.markup import escape
    from rich.table import Table

    from pipelines.assurance.cases import read_history
    from pipelines.report import money

    history = read_history(layout(), args.case_id)
    table = Table(title=f"case {args.case_id}: {len(history)} change(s), open before the first")
    for heading in ("#", "changed at (UTC)", "by", "from", "to", "recovered", "note"):
        table.add_column(heading, justify="right" if heading in ("#", "recovered") else "left")
    for change in history:
        recovered = change["recovered_micros"]
        table.add_row(
            str(change["change_seq"]),
            f"{change['changed_at']:%Y-%m-%d %H:%M:%S}",
            escape(change["changed_by"]),
            change["from_status"],
            change["to_status"],
            money(recovered) if recovered is not None else "",
            escape(change["note"]),
        )
    console.print(table)
    return 0


def cmd_rate_events(args: argparse.Namespace) -> int:
    from rich.markup import escape

    from pipelines.tariffs.events import MoneyMode, load_plan, rate_events_file

    try:
        catalog, warnings = load_plan(Path(args.plan))
        for warning in warnings:
            console.print(f"[yellow]import:[/] {escape(warning)}")
        summary = rate_events_file(
            catalog, Path(args.events), Path(args.out), MoneyMode(args.money), args.decimals
        )
    # CatalogError, CgratesImportError and EventsFileError are ValueErrors naming the file.
    except (ValueError, OSError) as refused:
        console.print(f"[bold red]cannot rate:[/] {escape(str(refused))}")
        return 2
    console.print(
        f"rated {summary.rated} of {summary.events} events ({args.money} money, catalog "
        f"{catalog.version}); {summary.errors} with an error; costs in {args.out}"
    )
    return 0


def cmd_tax_charges(args: argparse.Namespace) -> int:
    from rich.markup import escape

    from pipelines.taxes.charges_csv import charges_out_path, tax_charges_file

    try:
        summary = tax_charges_file(Path(args.rules), Path(args.charges), Path(args.out))
    # RuleSetError and ChargesFileError are ValueErrors naming the file.
    except (ValueError, OSError) as refused:
        console.print(f"[bold red]cannot tax:[/] {escape(str(refused))}")
        return 2
    console.print(
        f"taxed {summary.taxed} of {summary.charges} charges (rule set "
        f"{summary.ruleset_version}); {summary.errors} with an error; {summary.lines} tax "
        f"lines in {args.out}, statuses in {charges_out_path(Path(args.out))}"
    )
    return 0


def cmd_import_cgrates(args: argparse.Namespace) -> int:
    from rich.markup import escape

    from pipelines.tariffs.catalog_files import write_catalog
    from pipelines.tariffs.cgrates import CgratesImportError, import_plan

    try:
        imported = import_plan(Path(args.folder), args.currency)
    except CgratesImportError as refused:
        console.print(f"[bold red]cannot import:[/] {escape(str(refused))}")
        return 2
    for warning in imported.warnings:
        console.print(f"[yellow]import:[/] {escape(warning)}")
    write_catalog(imported.catalog, Path(args.out))
    console.print(f"wrote catalog {imported.catalog.version} to {args.out}")
    return 0


def cmd_catalog_check(args: argparse.Namespace) -> int:
    from rich.markup import escape

    from pipelines.tariffs.catalog_files import CatalogError, load_catalog

    try:
        catalog = load_catalog(Path(args.path))
    except CatalogError as refused:
        console.print(f"[bold red]{len(refused.problems)} problem(s)[/] in {escape(args.path)}:")
        for problem in refused.problems:
            console.print(escape(problem), soft_wrap=True)
        return 1
    prefixes = sum(len(d.prefixes) for d in catalog.destinations.values())
    counts = {
        "destinations": f"{len(catalog.destinations)} ({prefixes} prefixes)",
        "timings": len(catalog.timings),
        "rates": len(catalog.rates),
        "destination rates": sum(len(b) for b in catalog.destination_rates.values()),
        "rating plans": len(catalog.rating_plans),
        "profiles": len(catalog.profiles),
        "offers": len(catalog.offers),
        "exchange rates": len(catalog.exchange_rates),
    }
    console.print(
        f"catalog {escape(args.path)}: version {catalog.version} ({catalog.currency})",
        soft_wrap=True,
    )
    console.print(", ".join(f"{kind} {count}" for kind, count in counts.items()), soft_wrap=True)
    return 0


def _run_embedded(data: Layout, period: str) -> str | None:
    """Bill the period with ``airflow dags test``; the line to print after the summary, or
    None when the run failed (reported)."""
    from pipelines.airflow_run import DagRunFailed, prepare_airflow, run_billing_dag

    with console.status("preparing Airflow (SQLite metadata database)"):
        prepare_airflow(data)
    with _progress() as progress:
        bar = progress.add_task(f"Airflow DAG telcolake_billing_period {period}", total=None)
        done = 0

        def on_task_end(task_id: str) -> None:
            nonlocal done
            done += 1
            progress.update(bar, completed=done, description=f"DAG: {task_id} done")

        try:
            log = run_billing_dag(data, period, on_task_end)
        except DagRunFailed as failure:
            console.print(f"[bold red]run failed:[/] {failure}")
            return None
        progress.update(bar, total=done, description="DAG telcolake_billing_period: success")
    return f"Airflow log: {log}"


def _run_on_workers(data: Layout, period: str) -> str | None:
    """Bill the period on the Celery workers of ``telcolake services up``; the line to
    print after the summary (tasks per worker), or None when the run failed (reported)."""
    from collections import Counter

    from pipelines.airflow_run import DagRunFailed
    from pipelines.services.celery_run import TaskRun, run_billing_dag_on_workers
    from pipelines.services.celery_stack import CeleryStack

    stack = CeleryStack(data)
    with _progress() as progress:
        bar = progress.add_task(f"DAG telcolake_billing_period {period} on Celery", total=None)
        done = 0

        def on_task_end(task: TaskRun) -> None:
            nonlocal done
            done += 1
            where = f" on {task.worker}" if task.worker else ""
            progress.update(bar, completed=done, description=f"{task.task_id} {task.state}{where}")

        try:
            run = run_billing_dag_on_workers(stack, period, on_task_end)
        except DagRunFailed as failure:
            console.print(f"[bold red]run failed:[/] {failure}")
            return None
        progress.update(bar, total=done, description="DAG telcolake_billing_period: success")
    per_worker = Counter(task.worker for task in run.tasks if task.worker)
    workers = ", ".join(f"{worker} {count}" for worker, count in sorted(per_worker.items()))
    return f"Airflow run {run.run_id}: tasks per worker: {workers}; task logs in {stack.task_logs}"


def cmd_run(args: argparse.Namespace) -> int:
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
    run = _run_on_workers if args.executor == "celery" else _run_embedded
    if (ran := run(data, args.period)) is None:
        return 1
    print_run_summary(data, args.period, console)
    console.print(ran)
    console.print(f"finished in {time.monotonic() - started:.0f} s")
    return 0


def _services_table(stack: CeleryStack) -> Table:
    from rich.table import Table

    from pipelines.services.celery_stack import stack_status

    table = Table(title=f"Celery stack of {stack.layout.root}")
    for heading in ("service", "pid", "log"):
        table.add_column(heading, justify="right" if heading == "pid" else "left")
    for name, pid in stack_status(stack).items():
        table.add_row(name, str(pid) if pid else "[red]stopped[/]", str(stack.log_file(name)))
    return table


def cmd_services_up(args: argparse.Namespace) -> int:
    from rich.markup import escape

    from pipelines.services.celery_stack import CeleryStack, StackError, stack_up

    stack = CeleryStack(layout())
    started = time.monotonic()
    try:
        with console.status("starting the Celery stack") as status:
            state = stack_up(stack, lambda step: status.update(f"Celery stack: {step}"))
    except StackError as failed:
        console.print(f"[bold red]cannot start:[/] {escape(str(failed))}")
        return 1
    console.print(_services_table(stack))
    console.print(
        f"up in {time.monotonic() - started:.0f} s. Airflow UI and REST API: {state.api_url} "
        f"(user admin, password in {stack.passwords_file}); "
        "run a period: telcolake run --executor celery --skip-generate"
    )
    return 0


def cmd_services_down(args: argparse.Namespace) -> int:
    from pipelines.services.celery_stack import CeleryStack, stack_down

    stopped = stack_down(CeleryStack(layout()))
    console.print(f"stopped: {', '.join(stopped)}" if stopped else "nothing was running")
    return 0


def cmd_services_status(args: argparse.Namespace) -> int:
    from pipelines.services.celery_stack import CeleryStack, stack_status

    stack = CeleryStack(layout())
    status = stack_status(stack)
    if not status:
        console.print(f"the Celery stack of {stack.layout.root} was never started")
        return 1
    console.print(_services_table(stack))
    return 0 if all(status.values()) else 1


def cmd_services_env(args: argparse.Namespace) -> int:
    import shlex

    from pipelines.services.celery_stack import CeleryStack, airflow_environment, read_state

    stack = CeleryStack(layout())
    state = read_state(stack)
    if state is None:
        console.print(f"the Celery stack of {stack.layout.root} was never started", style="red")
        return 1
    # The variables that point an `airflow` command at the stack; no secrets among them.
    for name, value in sorted(airflow_environment(stack, state).items()):
        if name.startswith("AIRFLOW") or name in stack.layout.environment():
            print(f"export {name}={shlex.quote(value)}")
    return 0


def cmd_bench(args: argparse.Namespace) -> int:
    from rich.markup import escape

    from pipelines.bench.harness import BenchOptions, default_work, run_bench, stage_list
    from pipelines.bench.scales import parse_scales

    try:
        options = BenchOptions(
            # A data root given is benched as it is: named after --scale only if one is given.
            scales=parse_scales(args.scale) if args.scale or not args.data_root else [],
            work=Path(args.work) if args.work else default_work(),
            data_root=Path(args.data_root) if args.data_root else None,
            stages=stage_list(args.stages),
            profile=args.profile,
            seed=args.seed,
            run_baselines=not args.no_baselines,
        )
        if options.profile is not None and options.profile not in options.stages:
            raise ValueError(f"--profile {options.profile}: not among the stages run")
        run_bench(options, console)
    except ValueError as refused:
        console.print(f"[bold red]cannot bench:[/] {escape(str(refused))}")
        return 2
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
    run.add_argument(
        "--executor",
        choices=("embedded", "celery"),
        default="embedded",
        help="embedded: airflow dags test in this process tree (default); celery: on the "
        "workers of `telcolake services up` (docs/deployment.md)",
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
    add(
        "tax",
        "Bill the period: gather and tax every charge, issue the invoices and receivables.",
        cmd_tax,
    )
    add(
        "interconnect",
        "Reconcile each carrier's invoice for the period against the rated legs; open the "
        "disputes (docs/interconnect.md).",
        cmd_interconnect,
    )
    add(
        "roaming",
        "Write the period's TAP files for inbound roamers and RAP returns; settle with each "
        "roaming partner (docs/roaming.md).",
        cmd_roaming,
    )
    add(
        "suspense",
        "Summarise the period's rating suspense by state and reason, with its age.",
        cmd_suspense,
    )
    add(
        "recycle",
        "Rate the period's open suspense records again with the current reference data.",
        cmd_recycle,
    )
    close = add(
        "close-period", "Close a rated period: only `rerate` may change it after.", cmd_close_period
    )
    close.add_argument("--by", required=True, help="who closes it")
    close.add_argument("--reason", required=True, help="why, e.g. 'invoices issued'")
    rerate = add(
        "rerate",
        "Re-rate a closed period as a new, audited version; prints the difference per account.",
        cmd_rerate,
    )
    rerate.add_argument("--reason", required=True, help="why, e.g. a tariff-correction ticket")
    rerate.add_argument("--by", help="who asks for it (default: the login name)")
    sample = add(
        "rating-sample",
        "Write a random sample of the period's priced usage as a rate-events input file, "
        "with what was billed, to re-rate independently (docs/rating.md).",
        cmd_rating_sample,
    )
    sample.add_argument("--size", type=int, default=1000, help="records (default 1000)")
    sample.add_argument("--seed", type=int, default=0, help="the draw's seed (default 0)")
    sample.add_argument("--out", required=True, help="the events CSV to write")
    rerating = add(
        "rerating-check",
        "Re-rate a seeded sample of the period's priced usage with the rate-events engine and "
        "write each record's difference to the lake table rerating_checks (docs/cases.md).",
        cmd_rerating_check,
    )
    rerating.add_argument("--size", type=int, default=1000, help="records to sample (default 1000)")
    rerating.add_argument(
        "--seed", type=int, help="the draw's seed (default: the period as YYYYMM, e.g. 202610)"
    )
    add("build", "Build the DuckDB marts with one dbt build (models and tests).", cmd_build)
    validate = add(
        "validate", "Run the expectation suites on the marts and publish Data Docs.", cmd_validate
    )
    validate.add_argument(
        "--run-id",
        help="name of the run in the lake table validation_results; the same id again "
        "replaces its rows (default: manual__<UTC time>, a new run)",
    )
    add(
        "report",
        "Write and print the run summary and write the RA report (HTML) for a period.",
        cmd_report,
    )
    accuracy = add(
        "reconcile-accuracy",
        "Compare the period's carrier invoice reconciliation and disputes with the injected "
        "discrepancies (manifest/carrier_invoices.json); print the table per type as Markdown.",
        cmd_reconcile_accuracy,
    )
    accuracy.add_argument("--json", help="also write the report to this JSON file")
    ra_accuracy = add(
        "ra-accuracy",
        "Compare the period's leakage findings and fraud alerts with the injected cases "
        "(manifest/leakage.json, manifest/fraud.json); print precision and recall per type as "
        "Markdown. Exits 1 when a type misses the 0.95 target.",
        cmd_ra_accuracy,
    )
    ra_accuracy.add_argument("--json", help="also write the table to this JSON file")
    statements = add(
        "statements",
        "Render the period's invoices as customer statements (HTML and PDF) under "
        "reports/statements/<period>/.",
        cmd_statements,
    )
    statements.add_argument("--account", action="append", help="one account only (repeat for more)")
    statements.add_argument(
        "--png", action="store_true", help="also a PNG of each statement's first page"
    )

    bench_help = (
        "Generate an operator at a scale once (cached), run every stage on a day of it and "
        "report records, seconds, records/s, peak memory and bytes per stage, with baselines "
        "(docs/benchmarks.md)."
    )
    bench = sub.add_parser("bench", help=bench_help, description=bench_help)
    bench.set_defaults(handler=cmd_bench)
    bench.add_argument(
        "--scale",
        action="append",
        help="usage records per day: 1M, 10M, 100M, 200M (repeat or comma-separate; default 1M)",
    )
    bench.add_argument("--work", help="cache, runs and reports (default <data root>/bench)")
    bench.add_argument(
        "--data-root", help="bench this already generated data root instead of generating"
    )
    bench.add_argument("--stages", help="a comma-separated subset of the stages (default all)")
    bench.add_argument("--profile", metavar="STAGE", help="run one stage under pyinstrument")
    bench.add_argument("--seed", type=int, default=DEFAULT_SEED, help="random seed (default 7)")
    bench.add_argument(
        "--no-baselines", action="store_true", help="measure the stages only, no baselines"
    )

    rate_events_help = (
        "Rate a CSV of events against a catalog or CGRateS tariff plan folder, independently "
        "of the pipeline; write each event's cost or error (docs/cgrates.md)."
    )
    rate_events = sub.add_parser("rate-events", help=rate_events_help, description=rate_events_help)
    rate_events.set_defaults(handler=cmd_rate_events)
    rate_events.add_argument(
        "--plan", required=True, help="a catalog folder (catalog.yaml) or a CGRateS plan folder"
    )
    rate_events.add_argument("--events", required=True, help="the events CSV")
    rate_events.add_argument("--out", required=True, help="the costs CSV to write")
    rate_events.add_argument(
        "--money",
        choices=("exact", "cgrates"),
        default="exact",
        help="exact decimals (default), or CGRateS's per-increment float rounding",
    )
    rate_events.add_argument(
        "--decimals",
        type=int,
        default=5,
        help="CGRateS's global rounding_decimals, for --money cgrates (default 5)",
    )
    tax_charges_help = (
        "Tax a CSV of charges against a tax rule set folder; write one line per charge and "
        "applicable rule, and each charge's net amount and status (docs/taxes.md)."
    )
    tax_charges = sub.add_parser("tax-charges", help=tax_charges_help, description=tax_charges_help)
    tax_charges.set_defaults(handler=cmd_tax_charges)
    tax_charges.add_argument("--rules", required=True, help="the tax rule set folder")
    tax_charges.add_argument("--charges", required=True, help="the charges CSV")
    tax_charges.add_argument(
        "--out", required=True, help="the tax lines CSV to write (and <out>.charges.csv)"
    )
    import_help = "Import a CGRateS tariff plan folder and write it as a catalog folder."
    import_cgrates = sub.add_parser("import-cgrates", help=import_help, description=import_help)
    import_cgrates.set_defaults(handler=cmd_import_cgrates)
    import_cgrates.add_argument("folder", metavar="FOLDER", help="the CGRateS tariff plan folder")
    import_cgrates.add_argument("--out", required=True, help="the catalog folder to write")
    import_cgrates.add_argument(
        "--currency", default="XXX", help="the plan's ISO 4217 currency (default XXX: none)"
    )
    catalog_help = "Work with tariff catalog folders (docs/tariff-catalog.md)."
    catalog = sub.add_parser("catalog", help=catalog_help, description=catalog_help)
    catalog_actions = catalog.add_subparsers(dest="action", required=True, metavar="ACTION")
    check_help = "Load a catalog folder; print its version and counts, or every problem."
    check = catalog_actions.add_parser("check", help=check_help, description=check_help)
    check.set_defaults(handler=cmd_catalog_check)
    check.add_argument("path", metavar="PATH", help="the catalog folder (or its catalog.yaml)")

    cases_help = "Analyst status of leakage findings and fraud alerts (docs/cases.md)."
    cases = sub.add_parser("cases", help=cases_help, description=cases_help)
    case_actions = cases.add_subparsers(dest="action", required=True, metavar="ACTION")
    cases_list_help = "List the warehouse's findings and alerts with their current status."
    cases_list = case_actions.add_parser("list", help=cases_list_help, description=cases_list_help)
    cases_list.set_defaults(handler=cmd_cases_list)
    cases_list.add_argument("--period", help="one billing period only, YYYY-MM")
    cases_list.add_argument(
        "--status", help="one status only: open, confirmed, recovered, false_positive"
    )
    cases_list.add_argument("--kind", choices=("finding", "alert"), help="one kind only")
    set_status_help = "Move a finding or alert to a status; the change is kept in the lake."
    set_status = case_actions.add_parser(
        "set-status", help=set_status_help, description=set_status_help
    )
    set_status.set_defaults(handler=cmd_cases_set_status)
    set_status.add_argument("case_id", metavar="CASE_ID", help="a finding_id or alert_id")
    set_status.add_argument(
        "status", metavar="STATUS", help="open, confirmed, recovered or false_positive"
    )
    set_status.add_argument("--by", required=True, help="who makes the change")
    set_status.add_argument("--note", required=True, help="why, e.g. a ticket")
    set_status.add_argument(
        "--recovered", help="for recovered: the amount actually recovered, e.g. 12.34"
    )
    history_help = "Every status change of one case, oldest first."
    history = case_actions.add_parser("history", help=history_help, description=history_help)
    history.set_defaults(handler=cmd_cases_history)
    history.add_argument("case_id", metavar="CASE_ID", help="a finding_id or alert_id")

    call_detail = add(
        "call-detail",
        "Show (or export) raw call detail of a subscriber for a period, or of an invoice "
        "line; every request is logged in the lake table cpni_access_log (docs/privacy.md).",
        cmd_call_detail,
    )
    call_detail_subject = call_detail.add_mutually_exclusive_group(required=True)
    call_detail_subject.add_argument(
        "--subscriber",
        help="a subscriber_id, a number, an IMSI, or the analyst store's token of one",
    )
    call_detail_subject.add_argument(
        "--invoice-line", help="an invoice_line_id: the rated records it bills"
    )
    call_detail.add_argument(
        "--reason", required=True, help="why, e.g. a fraud case or a subpoena reference"
    )
    call_detail.add_argument(
        "--by", help="who asks (default: $TELCOLAKE_USER, else the login name)"
    )
    call_detail.add_argument("--out", help="write the records to this CSV instead of printing")
    purge_help = (
        "Delete toll records past their 18 months of retention that no legal hold keeps "
        "(reference legal_holds.csv); log each partition and file in retention_purges."
    )
    retention_purge = sub.add_parser("retention-purge", help=purge_help, description=purge_help)
    retention_purge.set_defaults(handler=cmd_retention_purge)
    retention_purge.add_argument(
        "--as-of", help="the day whose due records are purged, YYYY-MM-DD (default: today)"
    )
    retention_purge.add_argument(
        "--build", action="store_true", help="rebuild the warehouse when anything was purged"
    )
    access_log_help = "List the CPNI access log: who read raw call detail, what, when, why."
    access_log = sub.add_parser("access-log", help=access_log_help, description=access_log_help)
    access_log.set_defaults(handler=cmd_access_log)
    access_log.add_argument("--date", help="one UTC date only, YYYY-MM-DD")

    services_help = (
        "Start, stop or inspect the distributed Airflow stack on this machine: Redis, the "
        "API server, scheduler, DAG processor and two Celery workers (docs/deployment.md)."
    )
    services = sub.add_parser("services", help=services_help, description=services_help)
    service_actions = services.add_subparsers(dest="action", required=True, metavar="ACTION")
    for action, handler, action_help in (
        ("up", cmd_services_up, "Start whatever is not running; wait until all of it answers."),
        ("down", cmd_services_down, "Stop every service, the scheduler first."),
        ("status", cmd_services_status, "Each service's pid and log; exit 1 unless all run."),
        (
            "env",
            cmd_services_env,
            "Print the exports that point the airflow command at the stack: "
            'eval "$(telcolake services env)"; airflow backfill create ...',
        ),
    ):
        command = service_actions.add_parser(action, help=action_help, description=action_help)
        command.set_defaults(handler=handler)

    quarantine_help = "List rejected records, and replay operator fixes of them."
    quarantine = sub.add_parser("quarantine", help=quarantine_help, description=quarantine_help)
    actions = quarantine.add_subparsers(dest="action", required=True, metavar="ACTION")
    listing_help = "Summarise record-level rejects; with --out, write them as a CSV to fix."
    listing = actions.add_parser("list", help=listing_help, description=listing_help)
    listing.set_defaults(handler=cmd_quarantine_list)
    listing.add_argument("--feed", help="one feed only")
    listing.add_argument("--file-date", help="one file date only, YYYY-MM-DD")
    listing.add_argument("--reason", help="one reject reason code only, e.g. invalid_number")
    listing.add_argument("--out", help="write the rejects to this CSV (fixed_text to fill in)")
    replay_help = "Record the fixes of a filled-in CSV and re-mediate their partitions."
    replay = actions.add_parser("replay", help=replay_help, description=replay_help)
    replay.set_defaults(handler=cmd_quarantine_replay)
    replay.add_argument("fixes_csv", metavar="FIXES_CSV", help="the CSV of quarantine list")
    replay.add_argument("--by", required=True, help="who made the fixes (fixed_by)")
    replay.add_argument("--reason", required=True, help="why (fix_reason), e.g. a ticket")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.handler(args))


if __name__ == "__main__":
    sys.exit(main())
