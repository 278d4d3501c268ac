"""Customers' traffic studies: the interstate share a customer proved, instead of a safe harbor.

The optional reference file ``traffic_studies.csv`` (account_id, interstate_share as a
decimal such as ``0.25``, effective_from, effective_to exclusive and empty while open) holds
one row per study. A study in effect on a billing period's first day replaces the FCC safe
harbor for the account's wireless and VoIP charges (FCC 06-94 lets a provider report actual
interstate revenue from a traffic study); calls classed by where they went keep their class.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal, InvalidOperation

import polars as pl

from pipelines.config import Layout
from pipelines.taxes.model import PPM

TRAFFIC_STUDIES_FILE = "traffic_studies.csv"

#: The categories whose default share is a safe harbor, which a study replaces.
SAFE_HARBOR_CATEGORIES = (
    "wireless_access",
    "wireless_usage",
    "voip_access",
    "voip_line",
    "voip_usage",
)

_SCHEMA = {"account_id": pl.String, "study_share_ppm": pl.Int64}


class TrafficStudyError(ValueError):
    """A traffic study row that cannot be read; names the file, line and value."""


def studies_in_effect(layout: Layout, on: date) -> pl.DataFrame:
    """Per account with a study in effect on ``on``: its interstate share in ppm.

    Two studies of one account in effect on the same day are an error, not a choice.
    """
    path = layout.reference / TRAFFIC_STUDIES_FILE
    if not path.is_file():
        return pl.DataFrame(schema=_SCHEMA)
    rows = pl.read_csv(path, infer_schema=False).with_columns(pl.all().fill_null(""))
    studies: dict[str, int] = {}
    for line, row in enumerate(rows.iter_rows(named=True), start=2):
        where = f"{TRAFFIC_STUDIES_FILE}:{line}"
        start = _date(row["effective_from"], where)
        end = _date(row["effective_to"], where) if row.get("effective_to") else None
        if start > on or (end is not None and end <= on):
            continue
        account = row["account_id"]
        if account in studies:
            raise TrafficStudyError(f"{where}: a second study of {account} in effect on {on}")
        studies[account] = _share_ppm(row["interstate_share"], where)
    return pl.DataFrame(
        {"account_id": list(studies), "study_share_ppm": list(studies.values())}, schema=_SCHEMA
    )


def _date(text: str, where: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise TrafficStudyError(f"{where}: {text!r} is not an ISO date") from None


def _share_ppm(text: str, where: str) -> int:
    try:
        share = Decimal(text)
    except InvalidOperation:
        raise TrafficStudyError(f"{where}: interstate_share {text!r} is not a number") from None
    ppm = share * PPM
    if not 0 <= share <= 1 or ppm != ppm.to_integral_value():
        raise TrafficStudyError(
            f"{where}: interstate_share {text!r} must be between 0 and 1 with at most 6 decimals"
        )
    return int(ppm)
