"""A generated operator's legal holds (reference ``legal_holds.csv``, docs/privacy.md).

One hold, as legal counsel would place it on a fraud investigation: the records of the
month's IRSF-pumped line are kept past their retention until the case is closed. The purge
(pipelines/privacy/retention.py) reads it; billing never does.
"""

from __future__ import annotations

from datetime import date


def legal_hold_rows(
    subscriber_id: str, month_start: date, month_end: date
) -> list[dict[str, object]]:
    """The generated holds: ``subscriber_id``'s records of the month, placed at its end."""
    return [
        {
            "hold_id": f"LH-{month_start:%Y%m}-001",
            "scope": "subscriber",
            "subject_id": subscriber_id,
            "from_date": month_start.isoformat(),
            "to_date": month_end.isoformat(),
            "case_reference": f"FRAUD-{month_start:%Y%m}-IRSF",
            "placed_by": "legal-counsel",
            "placed_on": month_end.isoformat(),
            "released_on": "",
        }
    ]
