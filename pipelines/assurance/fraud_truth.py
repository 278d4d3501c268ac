"""How well the fraud detectors find the fraud the generator injected.

The generator's ground truth (``manifest/fraud.json``, docs/generator.md) names each case
by a key the alerts can name too (docs/fraud.md): IRSF and PBX hacking by the line and the
local date of the burst, Wangiri by the calling range, SIM cloning by the IMSI,
subscription fraud by the account. Amounts are the carriers' termination cost of the
fraudulent calls: injected as the generator priced them from its own reference decks,
found as the alerts' ``amount_at_risk_micros`` on the cases they match.
"""

from __future__ import annotations

import json

import duckdb

from pipelines.assurance.accuracy import TypeAccuracy
from pipelines.config import Layout

DETECTORS = ("irsf", "wangiri", "sim_cloning", "pbx_hacking", "subscription_fraud")

NOTES = {
    "irsf": "case = line|local date of the burst; amount = termination cost of the burst",
    "wangiri": "case = calling range; amount = termination cost of the callbacks",
    "sim_cloning": "case = IMSI; amount = termination cost of the other handset's calls",
    "pbx_hacking": "case = line|local date of the burst; amount = termination cost",
    "subscription_fraud": "case = account; amount = termination cost of its calls",
}


def alert_case_key(detector: str, subject_id: str, evidence: str) -> str:
    """The case key of an alert, as the ground truth names the same case."""
    if detector in ("irsf", "pbx_hacking"):
        return f"{subject_id}|{json.loads(evidence)['local_date']}"
    return subject_id


def fraud_accuracy(layout: Layout, billing_period: str) -> list[TypeAccuracy]:
    """One TypeAccuracy per detector for the period.

    FileNotFoundError when the generator wrote no fraud ground truth.
    """
    manifest = json.loads((layout.manifest / "fraud.json").read_text(encoding="utf-8"))
    with duckdb.connect(str(layout.duckdb_path), read_only=True) as con:
        alerts = con.execute(
            "select detector, subject_id, evidence, amount_at_risk_micros "
            "from fct_fraud_alerts where billing_period = ?",
            [billing_period],
        ).fetchall()
    raised: dict[str, dict[str, int]] = {detector: {} for detector in DETECTORS}
    for detector, subject_id, evidence, amount in alerts:
        key = alert_case_key(str(detector), str(subject_id), str(evidence))
        by_key = raised.setdefault(str(detector), {})
        by_key[key] = by_key.get(key, 0) + int(amount)
    results = []
    for detector in DETECTORS:
        cases = {str(c["case_key"]): int(c["termination_cost_micros"]) for c in manifest[detector]}
        found = raised[detector]
        missed = tuple(sorted(set(cases) - set(found)))[:5]
        results.append(
            TypeAccuracy(
                domain="fraud",
                case_type=detector,
                injected=frozenset(cases),
                raised=frozenset(found),
                amount_injected_micros=sum(cases.values()),
                amount_found_micros=sum(amount for key, amount in found.items() if key in cases),
                note=NOTES[detector],
                missed_examples=missed,
            )
        )
    return results
