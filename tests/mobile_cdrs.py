"""A typical MobileCdr for tests of the TS 32.298 writer, parsers and fast path.

Imported by name from the test folders (tests/ is on sys.path through conftest.py).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from pipelines.formats.cdr_events import MobileCdr

#: 16:15 UTC, 10:15 at a switch on Chicago winter time (-06:00).
T0 = datetime(2025, 3, 1, 16, 15, 0, tzinfo=UTC)


def mobile_cdr(record_type: str, **overrides: object) -> MobileCdr:
    """One record of ``record_type``: a 2-minute answered call, an SMS, or a 2-minute data
    session of 1000 + 20000 octets; ``overrides`` replace any field."""
    voice = record_type.startswith("voice")
    fields: dict[str, object] = {
        "record_type": record_type,
        "served_imsi": "310260123456789",
        "served_msisdn": "13125550123",
        "served_imei": "356987012345678",
        "other_party_number": None if record_type == "data" else "447700900123",
        "started_at": T0,
        "answered_at": T0 + timedelta(seconds=5) if voice else None,
        "ended_at": T0 + timedelta(seconds=125) if voice or record_type == "data" else T0,
        "release_cause": "normalRelease",
        "cell_id": "310-260-1234-5678",
        "call_reference": 1000,
    }
    if record_type == "data":
        fields.update(apn="internet", charging_id=777, uplink_bytes=1000, downlink_bytes=20000)
    fields.update(overrides)
    return MobileCdr(**fields)  # type: ignore[arg-type]
