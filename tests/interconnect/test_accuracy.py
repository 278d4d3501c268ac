"""The accuracy report against a hand-written ground truth over the October scenario of
test_reconcile (tiny_settlement): what counts as found, missed and a false dispute.

The scenario's disputes (test_reconcile): 1312 unmatched_carrier_traffic (10-12), 33
rate_mismatch (10-20), 44 duplicate_batch (10-13), 44 extra_traffic (09-30), 49
extra_traffic (10-08).
"""

from __future__ import annotations

import json
from datetime import date

import pytest
from tiny_settlement import (
    CARRIERS,
    CR_A_INVOICE,
    DECK,
    LEGS,
    PERIOD,
    write_agreements,
    write_invoice,
    write_legs,
)

from pipelines.cli import main
from pipelines.interconnect.accuracy import Miss, measure_accuracy, to_markdown
from pipelines.interconnect.reconcile import reconcile_period


def injected(kind, code, day, expected_class, cause, dispute, period=PERIOD, batch=None):
    return {
        "carrier_id": "CR-A",
        "billing_period": period,
        "type": kind,
        "destination_code": code,
        "traffic_date": day,
        "batch_id": batch,
        "expected_class": expected_class,
        "expected_cause": cause,
        "expected_dispute": dispute,
        "difference_micros": 0,  # not compared
    }


GROUND_TRUTH = [
    injected("rounding", "44", "2026-10-07", "rounding", "invoice_rounding", False),  # found
    injected("rounding", "44", "2026-10-25", "rounding", "invoice_rounding", False),  # no such cell
    injected("missing_day", "1312", "2026-10-09", "volume", "missing_traffic", False),
    injected("extra_day", "49", "2026-10-08", "volume", "extra_traffic", True),
    injected("rate_mismatch", "33", "2026-10-20", "rate", "rate_mismatch", True),
    injected(
        "duplicate_batch",
        "44",
        "2026-10-13",
        "volume",
        "duplicate_batch",
        True,
        batch="CR-A-20261013-3",
    ),
    injected("timing", "49", "2026-10-16", "timing", "traffic_date_shift", False),
    # Expected below tolerance, but the carrier bills 0.012 above ours (tolerance 0.01):
    # disputed, so missed, and its dispute is false by this ground truth.
    injected(
        "records_missing_at_operator",
        "1312",
        "2026-10-12",
        "volume",
        "unmatched_carrier_traffic",
        False,
    ),
    # Another period: left out of October's report.
    injected("extra_day", "49", "2026-09-08", "volume", "extra_traffic", True, period="2026-09"),
]


@pytest.fixture
def reconciled(tmp_path):
    layout = write_agreements(tmp_path, CARRIERS, DECK)
    write_legs(layout, LEGS)
    write_invoice(layout, "CR-A", CR_A_INVOICE)
    reconcile_period(layout, PERIOD)
    layout.manifest.mkdir(parents=True)
    write_manifest(layout, GROUND_TRUTH)
    return layout


def write_manifest(layout, discrepancies):
    (layout.manifest / "carrier_invoices.json").write_text(
        json.dumps({"discrepancies": discrepancies})
    )


def test_found_missed_and_false_disputes_per_type(reconciled):
    report = measure_accuracy(reconciled, PERIOD)
    assert report.billing_periods == (PERIOD,)
    assert [(row.discrepancy_type, row.injected, row.found) for row in report.types] == [
        ("rounding", 2, 1),
        ("missing_day", 1, 1),
        ("extra_day", 1, 1),
        ("rate_mismatch", 1, 1),
        ("duplicate_batch", 1, 1),
        ("timing", 1, 1),
        ("records_missing_at_operator", 1, 0),
    ]
    missed = {row.discrepancy_type: row.missed for row in report.types if row.missed}
    assert missed == {
        "rounding": (
            Miss(
                "CR-A",
                "44",
                date(2026, 10, 25),
                "rounding/invoice_rounding, not disputed",
                "no reconciliation row",
            ),
        ),
        "records_missing_at_operator": (
            Miss(
                "CR-A",
                "1312",
                date(2026, 10, 12),
                "volume/unmatched_carrier_traffic, not disputed",
                "volume/unmatched_carrier_traffic, disputed",
            ),
        ),
    }
    assert report.disputes == 5
    # 44 extra_traffic (09-30) is in no ground truth; 1312's cell expects no dispute.
    assert report.false_disputes == (
        "CR-A-2026-10-1312-unmatched_carrier_traffic",
        "CR-A-2026-10-44-extra_traffic",
    )


def test_a_duplicate_is_found_only_with_its_batch(reconciled):
    wrong_batch = [
        {**entry, "batch_id": "CR-A-20261013-2"}
        for entry in GROUND_TRUTH
        if entry["type"] == "duplicate_batch"
    ]
    write_manifest(reconciled, wrong_batch)
    (row,) = measure_accuracy(reconciled, PERIOD).types
    assert (row.injected, row.found) == (1, 0)
    assert row.missed[0].found == ("volume/duplicate_batch, disputed, batches ['CR-A-20261013-3']")


def test_markdown_table_and_cli(reconciled, monkeypatch, capsys, tmp_path):
    markdown = to_markdown(measure_accuracy(reconciled, PERIOD))
    assert markdown.splitlines()[:12] == [
        "Carrier invoice reconciliation accuracy, 2026-10",
        "",
        "| discrepancy type | injected | found | missed |",
        "|---|---:|---:|---:|",
        "| rounding | 2 | 1 | 1 |",
        "| missing_day | 1 | 1 | 0 |",
        "| extra_day | 1 | 1 | 0 |",
        "| rate_mismatch | 1 | 1 | 0 |",
        "| duplicate_batch | 1 | 1 | 0 |",
        "| timing | 1 | 1 | 0 |",
        "| records_missing_at_operator | 1 | 0 | 1 |",
        "| **total** | 8 | 6 | 2 |",
    ]
    assert (
        "Disputes raised: 5; false disputes: CR-A-2026-10-1312-unmatched_carrier_traffic, "
        "CR-A-2026-10-44-extra_traffic"
    ) in markdown
    monkeypatch.setenv("TELCOLAKE_DATA", str(reconciled.root))
    out = tmp_path / "accuracy.json"
    assert main(["reconcile-accuracy", "--period", PERIOD, "--json", str(out)]) == 0
    assert capsys.readouterr().out == markdown
    written = json.loads(out.read_text())
    assert [row["found"] for row in written["types"]] == [1, 1, 1, 1, 1, 1, 0]
    assert written["types"][0]["missed"][0]["traffic_date"] == "2026-10-25"


def test_cli_without_ground_truth_says_so(tmp_path, monkeypatch):
    monkeypatch.setenv("TELCOLAKE_DATA", str(tmp_path))
    assert main(["reconcile-accuracy", "--period", PERIOD]) == 2
