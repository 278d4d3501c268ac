"""How well the revenue-assurance controls find the leakage the generator injected.

Compares ``manifest/leakage.json`` (pipelines/generate/leakage.py, docs/generator.md) with
``fct_leakage_findings`` per category, on a case key both sides name without the other:

- credits: the adjustment_id;
- file_sequence_gap: ``<feed>/<switch>/<first missing sequence number>``;
- interconnect_negative_margin: ``<carrier>|<destination group>|<destination name>``;
- usage_in_suspense and suspense_aged: the served number (a finding on a known subscriber is
  keyed by the subscriber's msisdn from subscribers.csv);
- terminated_line_usage: the cancelled line's subscriber_id;
- zero_rated_usage: ``<subscriber_id>:<destination prefix>``;
- roaming_not_passed_on: ``<partner TADIG>|<IMSI>``.

Amounts: the generator's own for the credits (the credit, or its excess over authority);
zero_rated_usage's billed seconds at the rate deck's price the control documents;
roaming_not_passed_on's partner charges in USD. The others depend on traffic and rating,
so the generator gives none (the note says so).
"""

from __future__ import annotations

import json
from collections import defaultdict

import duckdb

from pipelines.assurance.accuracy import TypeAccuracy
from pipelines.config import Layout
from pipelines.reference import read_reference

LEAKAGE_MANIFEST = "leakage.json"
#: The categories the ground truth covers, in report order.
CATEGORIES = (
    "promo_credit_not_eligible",
    "credit_above_authority",
    "retention_credit_unqualified",
    "file_sequence_gap",
    "usage_in_suspense",
    "suspense_aged",
    "interconnect_negative_margin",
    "terminated_line_usage",
    "zero_rated_usage",
    "roaming_not_passed_on",
)
_KEYED_BY_NUMBER = ("usage_in_suspense", "suspense_aged")


def _finding_key(
    category: str,
    subject_type: str,
    subject_id: str,
    evidence_key: str | None,
    msisdn_of: dict[str, str],
) -> str:
    if category in _KEYED_BY_NUMBER:
        return msisdn_of.get(subject_id, subject_id) if subject_type == "subscriber" else subject_id
    return evidence_key or subject_id


def leakage_accuracy(layout: Layout, billing_period: str) -> list[TypeAccuracy]:
    """Per leakage category: the injected case keys against the findings of
    ``billing_period``, with the amounts injected and found."""
    truth = json.loads((layout.manifest / LEAKAGE_MANIFEST).read_text(encoding="utf-8"))
    cases: dict[str, list[dict[str, object]]] = truth["cases"]
    subscribers = read_reference(layout, "subscribers.csv")
    msisdn_of = dict(zip(subscribers["subscriber_id"], subscribers["msisdn"], strict=True))
    with duckdb.connect(str(layout.duckdb_path), read_only=True) as con:
        rows = con.execute(
            "select category, subject_type, subject_id, case category"
            " when 'file_sequence_gap' then concat_ws('/', evidence ->> 'feed',"
            " evidence ->> 'switch_id', evidence ->> 'first_sequence_number')"
            " when 'interconnect_negative_margin' then concat_ws('|', evidence ->> 'carrier_id',"
            " evidence ->> 'destination_group', evidence ->> 'destination_name')"
            " when 'roaming_not_passed_on' then concat_ws('|', evidence ->> 'tadig', subject_id)"
            " when 'zero_rated_usage' then"
            " concat_ws(':', subject_id, evidence ->> 'destination_prefix')"
            " end,"
            " amount_at_risk_micros from fct_leakage_findings where billing_period = ?",
            [billing_period],
        ).fetchall()
    raised: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for category, subject_type, subject_id, evidence_key, amount in rows:
        key = _finding_key(category, subject_type, subject_id, evidence_key, msisdn_of)
        raised[category][key] += int(amount)
    result = []
    for category in CATEGORIES:
        injected_cases = {str(c["key"]): c["amount_micros"] for c in cases.get(category, [])}
        found = raised.get(category, {})
        priced = all(amount is not None for amount in injected_cases.values())
        result.append(
            TypeAccuracy(
                domain="leakage",
                case_type=category,
                injected=frozenset(injected_cases),
                raised=frozenset(found),
                amount_injected_micros=(
                    sum(int(str(a)) for a in injected_cases.values()) if priced else None
                ),
                amount_found_micros=sum(v for k, v in found.items() if k in injected_cases),
                note=(
                    "amounts: the generator's own"
                    if priced
                    else "amounts: not priced by the generator; found is the controls' estimate"
                ),
                missed_examples=tuple(sorted(set(injected_cases) - set(found))[:5]),
            )
        )
    return result
