"""How well the RA controls and fraud detectors find what the generator injected.

The generator writes the ground truth of every leakage type and fraud pattern it injects
(``manifest/leakage.json``, ``manifest/fraud.json``); the controls write their findings to
the marts (``fct_leakage_findings``, ``fct_fraud_alerts``). Each side is compared per type on
a *case key* that both can name without the other (a subscriber, an account, a calling range,
an IMSI...): a case the marts raise that no injection explains is a false positive. Real
operators have no manifest; for a synthetic operator it measures the controls.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from pipelines.config import Layout
from pipelines.report import money


@dataclass(frozen=True)
class TypeAccuracy:
    """One leakage type or fraud pattern: what was injected against what was raised."""

    domain: str  # "leakage" or "fraud"
    case_type: str  # the finding category or the detector
    injected: frozenset[str]  # case keys the generator injected
    raised: frozenset[str]  # case keys the marts raised
    #: What the injected cases put at risk, per the generator; None where the generator
    #: cannot price them independently (the controls' estimate is then all there is).
    amount_injected_micros: int | None
    amount_found_micros: int  # amount at risk the marts give the raised cases that match
    note: str = ""  # how keys and amounts are counted, for the report's reader
    missed_examples: tuple[str, ...] = field(default=())

    @property
    def found(self) -> int:
        return len(self.injected & self.raised)

    @property
    def false_positives(self) -> int:
        return len(self.raised - self.injected)

    @property
    def precision(self) -> float | None:
        return self.found / len(self.raised) if self.raised else None

    @property
    def recall(self) -> float | None:
        return self.found / len(self.injected) if self.injected else None

    def meets(self, target: float) -> bool:
        """Precision and recall both at or above ``target`` (a type nobody injected and
        nothing raised meets it; one never injected but raised does not)."""
        precision, recall = self.precision, self.recall
        return (precision is None or precision >= target) and (recall is None or recall >= target)


def accuracy_table(types: Iterable[TypeAccuracy]) -> list[dict[str, object]]:
    """Rows of the per-type accuracy report (JSON-ready)."""
    return [
        {
            "domain": t.domain,
            "type": t.case_type,
            "injected": len(t.injected),
            "found": t.found,
            "false_positives": t.false_positives,
            "precision": t.precision,
            "recall": t.recall,
            "amount_injected_micros": t.amount_injected_micros,
            "amount_found_micros": t.amount_found_micros,
            "missed": sorted(t.injected - t.raised)[:10],
            "unexpected": sorted(t.raised - t.injected)[:10],
            "note": t.note,
        }
        for t in types
    ]


#: The issue's target: precision and recall at or above this for every type.
TARGET = 0.95


def measure(layout: Layout, billing_period: str) -> list[TypeAccuracy]:
    """Every leakage type and fraud pattern of the period, leakage first.

    FileNotFoundError when the generator wrote no ground truth (an operator's real data).
    """
    from pipelines.assurance.fraud_truth import fraud_accuracy
    from pipelines.assurance.leakage_truth import leakage_accuracy

    return [*leakage_accuracy(layout, billing_period), *fraud_accuracy(layout, billing_period)]


def _ratio(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f}"


def _amount(micros: int | None) -> str:
    return "not priced" if micros is None else money(micros)


def to_markdown(types: Iterable[TypeAccuracy], target: float = TARGET) -> str:
    """The per-type table: injected, found, false positives, precision, recall, amounts."""
    rows = list(types)
    lines = [
        "| domain | type | injected | found | false positives | precision | recall "
        "| amount injected | amount found | target met |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for t in rows:
        lines.append(
            f"| {t.domain} | {t.case_type} | {len(t.injected)} | {t.found} "
            f"| {t.false_positives} | {_ratio(t.precision)} | {_ratio(t.recall)} "
            f"| {_amount(t.amount_injected_micros)} | {money(t.amount_found_micros)} "
            f"| {'yes' if t.meets(target) else 'NO'} |"
        )
    notes = [f"- {t.case_type}: {t.note}" for t in rows if t.note]
    return "\n".join(lines + (["", *notes] if notes else [])) + "\n"
