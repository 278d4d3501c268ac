"""Expectation suites: what the auditors are shown about each mart, one module per domain.

An audit domain (billing, interconnect, revenue assurance) is a list of *audit frames*. A frame
is a SQL query against the DuckDB marts that produces one row per audit grain (an invoice, a
subscriber in a period, a feed-day...) plus the expectations that every such row, or the frame
as a whole, must meet. Every frame carries an ``audit_key`` column naming its row, so that a
failed expectation can list the offending invoices, subscribers or feed-days.

Queries may use two named parameters: ``$billing_period`` (``YYYY-MM``, or NULL for every
period in the warehouse) and ``$reference_dir`` (the operator's reference CSV folder, for the
rate decks the marts do not carry).

dbt tests already block the build on keys, enums of the models and arithmetic identities;
these suites report reconciliations, plausibility ranges and distributions, so the checks here
are not repeated there (see docs/expectations.md).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from great_expectations.expectations import Expectation

#: The column every audit frame carries: the human-readable key of its row.
AUDIT_KEY = "audit_key"


@dataclass(frozen=True)
class AuditFrame:
    """One audit-grain frame pulled from the marts and the expectations it is held to.

    ``expectations`` is a factory: GX mutates expectation objects when a suite is saved, so
    every run builds fresh ones.
    """

    domain: str
    name: str
    grain: str
    sql: str
    expectations: Callable[[], list[Expectation]]

    @property
    def suite_name(self) -> str:
        return f"{self.domain}.{self.name}"


@dataclass(frozen=True)
class AuditDomain:
    """An audit domain: validated together by one checkpoint."""

    name: str
    description: str
    frames: tuple[AuditFrame, ...]


def check(
    kind: type[Expectation],
    check_id: str,
    description: str,
    *,
    severity: str = "critical",
    **kwargs: Any,
) -> Expectation:
    """Build an expectation tagged with a stable business name (``meta.check``).

    ``check_id`` is what results.json and ValidationFailed report, so auditors and tests can
    refer to "tax_share_plausible" rather than to a GX class and its arguments.
    ``severity`` "critical" fails the run; "warning" is reported (Data Docs, results.json,
    run summary) for an analyst to look at but does not stop the pipeline: rates such as
    reject or duplicate shares flag an unusual day, they do not make the books wrong.
    """
    from great_expectations.expectations.metadata_types import FailureSeverity

    return kind(
        description=description,
        meta={"check": check_id},
        severity=FailureSeverity(severity),
        **kwargs,
    )


def audit_domains() -> tuple[AuditDomain, ...]:
    """Every audit domain, in the order they are validated."""
    from expectations.suites import billing, fraud, interconnect, revenue_assurance

    return (billing.DOMAIN, interconnect.DOMAIN, revenue_assurance.DOMAIN, fraud.DOMAIN)
