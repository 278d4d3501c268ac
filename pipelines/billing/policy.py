"""The operator's billing policy: payment terms, late fees and dunning.

Read from the optional reference file ``billing_policy.yaml``; every key is optional and
the defaults below are those docs/billing.md documents. An unknown key or a value of the
wrong kind refuses the file, naming it: a misspelt late-fee rate must not bill silently
at the default.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import yaml

from pipelines.config import Layout

POLICY_FILE = "billing_policy.yaml"


@dataclass(frozen=True)
class DunningStage:
    stage: str  # reminder, suspension, disconnection
    days_past_due: int


@dataclass(frozen=True)
class BillingPolicy:
    #: Days from the invoice date to its due date.
    payment_terms_days: int = 21
    #: Late fee on an account whose past-due balance at its bill date is at least the
    #: minimum: the greater of the fixed fee and the percentage of that balance.
    late_fee_fixed_micros: int = 5_000_000
    late_fee_percent_ppm: int = 15_000
    late_fee_minimum_overdue_micros: int = 10_000_000
    #: Dunning: an invoice still open this many days after its due date triggers the stage.
    dunning_stages: tuple[DunningStage, ...] = (
        DunningStage("reminder", 5),
        DunningStage("suspension", 30),
        DunningStage("disconnection", 60),
    )
    #: Past-due balances below this are not dunned.
    dunning_minimum_overdue_micros: int = 5_000_000


def load_policy(layout: Layout) -> BillingPolicy:
    """The policy in ``reference/billing_policy.yaml``, else the defaults."""
    path = layout.reference / POLICY_FILE
    if not path.is_file():
        return BillingPolicy()
    document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    if not isinstance(document, dict):
        raise ValueError(f"{POLICY_FILE}: expected a mapping of policy keys")
    known = {field.name: field for field in fields(BillingPolicy)}
    unknown = sorted(set(document) - set(known))
    if unknown:
        raise ValueError(f"{POLICY_FILE}: unknown key(s) {', '.join(unknown)}")
    values: dict[str, object] = {}
    for key, value in document.items():
        if key == "dunning_stages":
            values[key] = _stages(value)
        elif isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ValueError(f"{POLICY_FILE}: {key} must be a whole number >= 0, got {value!r}")
        else:
            values[key] = value
    return BillingPolicy(**values)  # type: ignore[arg-type]


def _stages(value: object) -> tuple[DunningStage, ...]:
    if not isinstance(value, list) or not value:
        raise ValueError(f"{POLICY_FILE}: dunning_stages must be a list of stage, days_past_due")
    stages = []
    for item in value:
        if (
            not isinstance(item, dict)
            or set(item) != {"stage", "days_past_due"}
            or not isinstance(item["days_past_due"], int)
            or item["days_past_due"] < 0
        ):
            raise ValueError(f"{POLICY_FILE}: bad dunning stage {item!r}")
        stages.append(DunningStage(str(item["stage"]), item["days_past_due"]))
    days = [stage.days_past_due for stage in stages]
    if days != sorted(days) or len(set(days)) != len(days):
        raise ValueError(f"{POLICY_FILE}: dunning stages must have increasing days_past_due")
    return tuple(stages)
