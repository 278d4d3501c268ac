"""The Great Expectations side of validation: one file-backed context, a checkpoint per domain.

GX 1.x cannot validate DuckDB through SQLAlchemy (its metric resolution fails), so the audit
frames are pulled from DuckDB by ``pipelines.validate`` and kept as Parquet snapshots, one file
per frame; GX validates those files with pandas. A checkpoint feeds one set of batch parameters
to all of its validation definitions, so in-memory dataframe assets would force a frame per
domain; file batches let a domain hold frames of several grains, let a checkpoint be re-run
from the stored context alone, and leave the auditors the exact rows that were validated.

Suites are code: every run writes them, their validation definitions and checkpoints into the
context again and drops those the code no longer defines.
"""

from __future__ import annotations

import datetime as dt
from html import escape
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import great_expectations as gx
from great_expectations.checkpoint import UpdateDataDocsAction
from great_expectations.core.run_identifier import RunIdentifier
from great_expectations.data_context import FileDataContext
from great_expectations.data_context.types.base import ProgressBarsConfig

from expectations.suites import AUDIT_KEY, AuditDomain, AuditFrame

if TYPE_CHECKING:
    from great_expectations.data_context.store.store import DataDocsSiteConfigTypedDict

FRAMES_DATASOURCE = "audit_frames"
DATA_DOCS_SITE = "audit"

#: SUMMARY keeps stored results small on big frames; the first offending rows are named by
#: their audit key.
RESULT_FORMAT: dict[str, Any] = {
    "result_format": "SUMMARY",
    "unexpected_index_column_names": [AUDIT_KEY],
    "partial_unexpected_count": 20,
}


def frame_path(frames_dir: Path, frame: AuditFrame) -> Path:
    """Where the Parquet snapshot of an audit frame lives."""
    return frames_dir / frame.domain / f"{frame.name}.parquet"


def open_context(gx_dir: Path, data_docs_dir: Path) -> FileDataContext:
    """The file-backed GX context under ``gx_dir``, with one local Data Docs site."""
    context = gx.get_context(mode="file", project_root_dir=gx_dir)
    # Progress bars would flood the Airflow task log.
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    # The how-to buttons are for GX users, not for the auditors who read this site.
    site = {
        "class_name": "SiteBuilder",
        "show_how_to_buttons": False,
        "store_backend": {
            "class_name": "TupleFilesystemStoreBackend",
            "base_directory": str(data_docs_dir),
        },
        "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
    }
    sites = dict(context.variables.data_docs_sites or {})
    site_config = cast("DataDocsSiteConfigTypedDict", site)
    if DATA_DOCS_SITE in sites:
        if sites[DATA_DOCS_SITE] != site:
            context.update_data_docs_site(DATA_DOCS_SITE, site_config)
    else:
        context.add_data_docs_site(DATA_DOCS_SITE, site_config)
    for name in sites:
        if name != DATA_DOCS_SITE:
            context.delete_data_docs_site(name)
    return context


def register_domains(
    context: FileDataContext, domains: tuple[AuditDomain, ...], frames_dir: Path
) -> dict[str, gx.Checkpoint]:
    """Write suites, validation definitions and one checkpoint per domain into the context."""
    datasource = context.data_sources.add_or_update_pandas_filesystem(
        FRAMES_DATASOURCE, base_directory=frames_dir
    )
    checkpoints: dict[str, gx.Checkpoint] = {}
    for domain in domains:
        definitions = []
        for frame in domain.frames:
            asset = datasource.add_parquet_asset(frame.suite_name)
            batch = asset.add_batch_definition_path(
                frame.name, frame_path(frames_dir, frame).relative_to(frames_dir)
            )
            suite = context.suites.add_or_update(
                gx.ExpectationSuite(
                    name=frame.suite_name,
                    expectations=frame.expectations(),
                    meta={"domain": domain.name, "grain": frame.grain},
                )
            )
            definitions.append(
                context.validation_definitions.add_or_update(
                    gx.ValidationDefinition(name=frame.suite_name, data=batch, suite=suite)
                )
            )
        checkpoints[domain.name] = context.checkpoints.add_or_update(
            gx.Checkpoint(
                name=domain.name,
                validation_definitions=definitions,
                actions=[
                    UpdateDataDocsAction(name="update_data_docs", site_names=[DATA_DOCS_SITE])
                ],
                result_format=RESULT_FORMAT,
            )
        )
    _drop_stale(context, domains)
    return checkpoints


def _drop_stale(context: FileDataContext, domains: tuple[AuditDomain, ...]) -> None:
    """Remove checkpoints, definitions and suites that the code no longer defines."""
    domain_names = {domain.name for domain in domains}
    suite_names = {frame.suite_name for domain in domains for frame in domain.frames}
    for checkpoint in context.checkpoints.all():
        if checkpoint.name not in domain_names:
            context.checkpoints.delete(checkpoint.name)
    for definition in context.validation_definitions.all():
        if definition.name not in suite_names:
            context.validation_definitions.delete(definition.name)
    for suite in context.suites.all():
        if suite.name not in suite_names:
            context.suites.delete(suite.name)


def run_checkpoints(
    checkpoints: dict[str, gx.Checkpoint], run_name: str, run_time: dt.datetime
) -> dict[str, Any]:
    """Run every domain's checkpoint under one run id; results by suite name.

    A fixed run time (the billing period's start) makes a re-run of a period replace its
    stored results and Data Docs pages instead of piling up copies.
    """
    run_id = RunIdentifier(run_name=run_name, run_time=run_time)
    results: dict[str, Any] = {}
    for checkpoint in checkpoints.values():
        outcome = checkpoint.run(run_id=run_id)
        for validation in outcome.run_results.values():
            results[validation.suite_name] = validation
    return results


def build_data_docs(context: FileDataContext, data_docs_dir: Path) -> Path:
    """Rebuild the Data Docs site and its offline index; the path of the offline index."""
    context.build_data_docs(site_names=[DATA_DOCS_SITE])
    return write_audit_index(data_docs_dir)


def write_audit_index(data_docs_dir: Path) -> Path:
    """Write ``audit_index.html``: every suite and validation page of the site, as plain links.

    GX's own index.html fills its tables with jQuery, bootstrap-table and Vega loaded from
    public CDNs, so offline (an auditor's archive, a closed network) it lists nothing. Its
    suite and validation pages render without them; this page links them all, by domain,
    newest run first, with no script at all.
    """
    sections = []
    for domain_dir in sorted(p for p in (data_docs_dir / "expectations").glob("*") if p.is_dir()):
        rows = []
        for suite_page in sorted(domain_dir.glob("*.html")):
            suite = f"{domain_dir.name}.{suite_page.stem}"
            runs = sorted(
                (data_docs_dir / "validations" / domain_dir.name / suite_page.stem).glob(
                    "*/*/*.html"
                ),
                key=lambda page: (page.parent.name, page.parent.parent.name),
                reverse=True,
            )
            links = "".join(
                f'<li><a href="{escape(page.relative_to(data_docs_dir).as_posix())}">'
                f"run {escape(page.parent.parent.name)} at {escape(page.parent.name)}</a></li>"
                for page in runs
            )
            links = links or "<li>not validated yet</li>"
            rows.append(
                f'<tr><td><a href="{escape(suite_page.relative_to(data_docs_dir).as_posix())}">'
                f"{escape(suite)}</a></td><td><ul>{links}</ul></td></tr>"
            )
        sections.append(
            f'<section id="domain-{escape(domain_dir.name)}"><h2>{escape(domain_dir.name)}</h2>'
            "<table><thead><tr><th>suite (its expectations)</th><th>validation results</th></tr>"
            f"</thead><tbody>{''.join(rows)}</tbody></table></section>"
        )
    index = data_docs_dir / "audit_index.html"
    index.write_text(
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        "<title>telcolake audit: Data Docs</title><style>"
        "body{font-family:sans-serif;margin:2em;max-width:70em}"
        "table{border-collapse:collapse;width:100%}"
        "td,th{border:1px solid #ccc;padding:.3em .6em;text-align:left;vertical-align:top}"
        "ul{margin:0;padding-left:1.2em}</style></head><body>"
        "<h1>Expectation suites and validation results</h1>"
        "<p>Every audit domain's suites and each run's validation page, newest first. "
        '<a href="index.html">The Great Expectations index</a> shows the same with filters, '
        "but needs internet access for its scripts.</p>" + "".join(sections) + "</body></html>\n",
        encoding="utf-8",
    )
    return index
