"""Raw call detail on request: ``telcolake call-detail`` (docs/privacy.md, Access).

An analyst who sees a token in the analyst store (a fraud alert's line, a finding's IMSI)
or an auditor tracing an invoice line asks for the records behind it, with a reason. The
records come from the warehouse's schema ``restricted`` opened read-only (the auditor
role), and every request is logged in ``cpni_access_log`` before anything is shown.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb

from pipelines.config import Layout
from pipelines.privacy.access_log import record_access
from pipelines.privacy.keys import cpni_key
from pipelines.privacy.masking import TOKEN_PATTERN, token
from pipelines.privacy.stores import Role, connect

COMMAND = "call-detail"
#: Arguments that name a subscriber: logged as tokens.
IDENTIFIER_ARGUMENTS = frozenset({"subscriber"})

#: The columns shown, in order (restricted.call_detail).
CALL_DETAIL_COLUMNS = (
    "usage_id",
    "billing_period",
    "subscriber_id",
    "record_type",
    "direction",
    "served_msisdn",
    "served_imsi",
    "served_imei",
    "other_party_number",
    "started_at",
    "duration_seconds",
    "data_volume_bytes",
    "cell_id",
    "rating_status",
    "charge_micros",
    "feed",
    "switch_id",
    "file_name",
    "record_number",
)
LINEAGE_COLUMNS = (
    "usage_id",
    "served_msisdn",
    "other_party_number",
    "started_at",
    "duration_seconds",
    "data_volume_bytes",
    "rated_charge_micros",
    "feed",
    "switch_id",
    "file_name",
    "record_number",
)


class CallDetailError(ValueError):
    """The request names nothing that can be read, or lacks its reason."""


@dataclass(frozen=True)
class CallDetail:
    """The records returned, and the access log entry written for them."""

    columns: tuple[str, ...]
    rows: list[tuple[object, ...]]
    access_id: str


@dataclass(frozen=True)
class Subject:
    """Who the request is about: a subscriber and the numbers and IMSIs that are theirs, or
    a number or IMSI no subscriber holds."""

    subscriber_id: str | None
    numbers: tuple[str, ...]


def subscriber_call_detail(
    layout: Layout,
    subject: str,
    billing_period: str,
    reason: str,
    accessed_by: str | None = None,
) -> CallDetail:
    """The period's records of a subscriber (``subject``: a subscriber_id, a number, an
    IMSI, or the analyst store's token of any of them), logged before being returned."""
    _require_reason(reason)
    arguments = {"subscriber": subject, "period": billing_period}
    with connect(layout, Role.AUDITOR) as con:
        try:
            who = resolve_subject(con, cpni_key(layout), subject, billing_period)
        except CallDetailError:
            # A request that finds no one is an access attempt all the same.
            log_access(layout, arguments, 0, reason, accessed_by)
            raise
        columns = ", ".join(CALL_DETAIL_COLUMNS)
        rows = con.execute(
            f"select {columns} from restricted.call_detail "
            "where billing_period = $period and (subscriber_id = $subscriber "
            "or served_msisdn in (select unnest($numbers)) "
            "or served_imsi in (select unnest($numbers))) "
            "order by started_at, usage_id",
            {
                "period": billing_period,
                "subscriber": who.subscriber_id,
                "numbers": list(who.numbers),
            },
        ).fetchall()
    access_id = log_access(layout, arguments, len(rows), reason, accessed_by)
    return CallDetail(CALL_DETAIL_COLUMNS, rows, access_id)


def invoice_line_call_detail(
    layout: Layout, invoice_line_id: str, reason: str, accessed_by: str | None = None
) -> CallDetail:
    """The rated records an invoice line bills, with their numbers and raw file and record
    (docs/lineage.md), logged before being returned."""
    _require_reason(reason)
    with connect(layout, Role.AUDITOR) as con:
        columns = ", ".join(LINEAGE_COLUMNS)
        rows = con.execute(
            f"select {columns} from restricted.invoice_line_lineage "
            "where invoice_line_id = $line and lineage_source = 'rated_usage' "
            "order by started_at, usage_id",
            {"line": invoice_line_id},
        ).fetchall()
    access_id = log_access(
        layout, {"invoice_line": invoice_line_id}, len(rows), reason, accessed_by
    )
    return CallDetail(LINEAGE_COLUMNS, rows, access_id)


def resolve_subject(
    con: duckdb.DuckDBPyConnection, key: bytes, subject: str, billing_period: str
) -> Subject:
    """Find whose records ``subject`` names. A token is matched against the tokens of the
    subscribers' numbers and IMSIs and of the numbers and IMSIs in the period's records.
    Raises CallDetailError when nothing matches."""
    subscribers = con.execute(
        "select subscriber_id, msisdn, imsi from main.dim_subscribers"
    ).fetchall()
    served = con.execute(
        "select distinct served_msisdn, served_imsi from restricted.call_detail "
        "where billing_period = $period",
        {"period": billing_period},
    ).fetchall()
    is_token = TOKEN_PATTERN.fullmatch(subject) is not None

    def names(value: str | None) -> bool:
        return value is not None and (
            token(key, value) == subject if is_token else value == subject
        )

    for subscriber_id, msisdn, imsi in subscribers:
        if subscriber_id == subject or names(msisdn) or names(imsi):
            numbers = tuple(value for value in (msisdn, imsi) if value)
            return Subject(subscriber_id, numbers)
    for values in served:
        for value in values:
            if names(value):
                return Subject(None, (value,))
    raise CallDetailError(
        f"no subscriber, number or IMSI matches {subject!r} in {billing_period}"
        + (" (a token of the analyst store made with another key?)" if is_token else "")
    )


def log_access(
    layout: Layout,
    arguments: dict[str, str],
    rows_returned: int,
    reason: str,
    accessed_by: str | None,
) -> str:
    """Write the request's access log entry; return its access_id."""
    entry = record_access(
        layout,
        COMMAND,
        arguments,
        rows_returned,
        reason=reason,
        identifier_arguments=IDENTIFIER_ARGUMENTS,
        accessed_by=accessed_by,
    )
    return str(entry["access_id"])


def _require_reason(reason: str) -> None:
    if not reason or not reason.strip():
        raise CallDetailError("a reason is required to read call detail (e.g. a case or ticket)")
