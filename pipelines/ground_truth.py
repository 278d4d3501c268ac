"""How much of what the generator injected did the pipeline catch?

The generator writes a ground-truth manifest (``data/manifest/anomalies.json``, see
docs/generator.md). This module compares it with what mediation, rating and the marts
found, anomaly by anomaly: what was injected, what was caught, what was missed, and what
was flagged that nobody injected. Real operators have no such manifest; for a synthetic
operator it measures the controls.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import duckdb
import polars as pl

from pipelines.config import Layout
from pipelines.lake import read_table
from pipelines.periods import mediation_dates
from pipelines.schema import CorrelationStatus, Feed


@dataclass(frozen=True)
class Detection:
    """One kind of injected anomaly against what the pipeline flagged."""

    anomaly: str
    caught_by: str
    injected: int
    caught: int
    missed: list[str] = field(default_factory=list)
    unexpected: list[str] = field(default_factory=list)

    @property
    def exact(self) -> bool:
        return not self.missed and not self.unexpected


def _detection(anomaly: str, caught_by: str, injected: set[str], found: set[str]) -> Detection:
    return Detection(
        anomaly=anomaly,
        caught_by=caught_by,
        injected=len(injected),
        caught=len(injected & found),
        missed=sorted(injected - found),
        unexpected=sorted(found - injected),
    )


def _in_period(rows: list[dict[str, Any]], dates: set[str]) -> list[dict[str, Any]]:
    return [row for row in rows if str(row["file_date"]) in dates]


def compare_with_manifest(layout: Layout, billing_period: str) -> list[Detection]:
    """Compare the manifest with the lake and marts of one billing period.

    Returns an empty list when there is no manifest (an operator's real data).
    """
    path = layout.manifest / "anomalies.json"
    if not path.exists():
        return []
    manifest = json.loads(path.read_text())
    return _warehouse_detections(layout, billing_period, manifest) + lake_detections(
        layout, billing_period, manifest
    )


def lake_detections(
    layout: Layout, billing_period: str, manifest: dict[str, Any]
) -> list[Detection]:
    """The detections read from the lake alone (mediation and consolidation), without the
    warehouse: replayed records, late files, sessions not complete and calls written as
    several legs. A manifest written before an anomaly existed has no ground truth for it,
    and gets no detection for it."""
    detections = []
    if "replayed_records" in manifest:
        repeats = read_table(layout, "usage_repeats", {"billing_period": billing_period})
        detections.append(
            _detection(
                "records replayed on a later day",
                "consolidation (usage_repeats)",
                {
                    f"{entry['repeat']['file_name']}#{entry['repeat']['record_number']}"
                    for entry in manifest["replayed_records"]
                },
                {
                    f"{name}#{number}"
                    for name, number in zip(
                        repeats["file_name"].to_pylist(),
                        repeats["record_number"].to_pylist(),
                        strict=True,
                    )
                },
            )
        )
    if "late_files" in manifest:
        detections.append(
            _detection(
                "late file, billed in its records' days",
                "event-date partitions",
                {entry["file_name"] for entry in manifest["late_files"]},
                _late_files(layout, billing_period),
            )
        )
    if "incomplete_sessions" in manifest:
        sessions = read_table(layout, "sessions", {"billing_period": billing_period})
        not_complete = {CorrelationStatus.INCOMPLETE.value, CorrelationStatus.HELD.value}
        detections.append(
            _detection(
                "sessions not complete",
                "consolidation (sessions held or incomplete)",
                {
                    f"session:{entry['switch_id']}:{entry['session_key']}"
                    for entry in manifest["incomplete_sessions"]
                },
                {
                    usage_id
                    for usage_id, status in zip(
                        sessions["usage_id"].to_pylist(),
                        sessions["correlation_status"].to_pylist(),
                        strict=True,
                    )
                    if status in not_complete
                },
            )
        )
    if "multi_leg_calls" in manifest:
        detections.append(_multi_leg_calls(layout, billing_period, manifest["multi_leg_calls"]))
    return detections


def _multi_leg_calls(layout: Layout, billing_period: str, calls: list[dict[str, Any]]) -> Detection:
    """Each call written as several legs must be one Asterisk ``sessions`` row of several
    legs, billed for the manifest's seconds. A call billed for other seconds is missed
    (the seconds say by how much); any other row of several legs is unexpected."""
    sessions = read_table(
        layout,
        "sessions",
        {"feed": Feed.ASTERISK_CDR_CSV.value, "billing_period": billing_period},
    )
    billed = {
        usage_id: seconds
        for usage_id, partials, seconds in zip(
            sessions["usage_id"].to_pylist(),
            sessions["partials"].to_pylist(),
            sessions["duration_seconds"].to_pylist(),
            strict=True,
        )
        if partials > 1
    }
    expected = {
        f"call:{call['switch_id']}:{call['linkedid']}/{call['direction']}/"
        f"{call['served_msisdn']}": call["billable_seconds"]
        for call in calls
    }
    missed = []
    for usage_id, seconds in sorted(expected.items()):
        if usage_id not in billed:
            missed.append(usage_id)
        elif billed[usage_id] != seconds:
            missed.append(f"{usage_id} ({billed[usage_id]} s billed, {seconds} s expected)")
    return Detection(
        anomaly="calls written as several legs, billed once",
        caught_by="consolidation (call legs collapsed)",
        injected=len(expected),
        caught=len(expected) - len(missed),
        missed=missed,
        unexpected=sorted(set(billed) - set(expected)),
    )


def _late_files(layout: Layout, billing_period: str) -> set[str]:
    """Files of the period's file dates whose usage rows all happened more than a day
    before the file's date: a file on time holds records of its own day and, across
    midnight, of the day before."""
    usage = pl.from_arrow(
        read_table(layout, "usage", columns=["file_name", "file_date", "event_date"])
    )
    assert isinstance(usage, pl.DataFrame)
    late = (
        usage.filter(pl.col("file_date").is_in(sorted(mediation_dates(billing_period))))
        .group_by("file_name")
        .agg(pl.col("file_date").max(), pl.col("event_date").max().alias("latest_event_date"))
        .filter(pl.col("latest_event_date") < pl.col("file_date") - timedelta(days=1))
    )
    return set(late["file_name"].to_list())


def _warehouse_detections(
    layout: Layout, billing_period: str, manifest: dict[str, Any]
) -> list[Detection]:
    """The detections that read the marts of the DuckDB warehouse (and the registry)."""
    dates = {d.isoformat() for d in mediation_dates(billing_period)}
    registry = _in_period(read_table(layout, "file_registry").to_pylist(), dates)
    rejects = _in_period(read_table(layout, "rejects").to_pylist(), dates)

    duplicate_file_names = {
        row["file_name"] for row in registry if row["file_status"] == "duplicate_file"
    }
    # Record duplicates are counted per file in the registry: compare per-file counts.
    injected_record_duplicates = Counter(
        entry["duplicate"]["file_name"] for entry in manifest["duplicate_records"]
    )
    found_record_duplicates = {
        row["file_name"]: row["records_duplicate"]
        for row in registry
        if row["records_duplicate"] and row["file_status"] != "duplicate_file"
    }
    bad_records = {
        f"{entry['file_name']}#{entry['record_number']}" for entry in manifest["malformed_records"]
    }
    bad_records |= {
        f"{entry['file_name']}#{entry['truncated_record_number']}"
        for entry in manifest["truncated_files"]
    }
    bad_records |= {f"{entry['file_name']}#0" for entry in manifest["empty_files"]}

    with duckdb.connect(str(layout.duckdb_path), read_only=True) as con:

        def column(sql: str) -> set[str]:
            return {str(value) for (value,) in con.execute(sql, [billing_period]).fetchall()}

        findings = (
            "select subject_id from fct_leakage_findings "
            "where billing_period = ? and category = '{}'"
        )
        provisioned_not_billed = column(findings.format("provisioned_not_billed"))
        billed_not_provisioned = column(findings.format("billed_not_provisioned"))
        unrateable = column(
            "select file_name || '#' || record_number from fct_rated_usage "
            "where billing_period = ? and suspense_reason = 'no_rate_for_destination'"
        )
        # The anomaly generator's burst is an IRSF case: the IRSF alerts' lines.
        fraud_lines = column(
            "select subject_id from fct_fraud_alerts where billing_period = ? and detector = 'irsf'"
        )
        missing_numbers = {
            f"{switch_id}#{number}"
            for switch_id, first, last in con.execute(
                "select switch_id, first_sequence_number, last_sequence_number "
                "from rpt_file_sequence_gaps where sequence_anomaly = 'gap'"
            ).fetchall()
            for number in range(first, last + 1)
        }

    # The fraud generator's own IRSF bursts (manifest/fraud.json) are injected too.
    fraud_truth = layout.manifest / "fraud.json"
    fraud_injected_lines = (
        {case["msisdn"] for case in json.loads(fraud_truth.read_text())["irsf"]}
        if fraud_truth.exists()
        else set()
    )
    return [
        _detection(
            "duplicate files",
            "mediation checksum",
            {entry["file_name"] for entry in manifest["duplicate_files"]},
            duplicate_file_names,
        ),
        _detection(
            "duplicate records",
            "mediation record key",
            {f"{name} x{count}" for name, count in injected_record_duplicates.items()},
            {f"{name} x{count}" for name, count in found_record_duplicates.items()},
        ),
        _detection(
            "bad rows and files",
            "mediation rejects",
            bad_records,
            {f"{row['file_name']}#{row['record_number']}" for row in rejects},
        ),
        _detection(
            "lost files",
            "file sequence gaps",
            {
                f"{entry['switch_id']}#{entry['file_sequence_number']}"
                for entry in manifest.get("lost_files", [])
            },
            missing_numbers,
        ),
        _detection(
            "HLR line not billed",
            "leakage findings",
            {entry["imsi"] for entry in manifest["provisioned_not_billed"]},
            provisioned_not_billed,
        ),
        _detection(
            "billed line not in HLR",
            "leakage findings",
            {entry["subscriber_id"] for entry in manifest["billed_not_provisioned"]},
            billed_not_provisioned,
        ),
        _detection(
            "unrateable destinations",
            "rating suspense",
            {
                f"{entry['file_name']}#{entry['record_number']}"
                for entry in manifest["unrateable_destinations"]
            },
            unrateable,
        ),
        _detection(
            "IRSF fraud burst",
            "fraud alerts",
            {entry["msisdn"] for entry in manifest["fraud_bursts"]} | fraud_injected_lines,
            fraud_lines,
        ),
    ]
