"""A switch's view of one mobile usage event, before it is encoded in a file format.

The generator builds these; the TS 32.298 writer encodes them. Mediation never sees them:
it reads the encoded files back.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

MobileRecordType = Literal["voice_mo", "voice_mt", "sms_mo", "sms_mt", "data"]


@dataclass(frozen=True)
class MobileCdr:
    """One MSC (voice, SMS) or PGW (data) charging record.

    Times are timezone-aware UTC datetimes; the writer renders them in the switch's local
    offset as TS 32.298 TimeStamps. Numbers are E.164 digits without ``+``, or short codes
    (``911``) as dialled.
    """

    record_type: MobileRecordType
    served_imsi: str
    served_msisdn: str
    served_imei: str
    other_party_number: str | None  # called (MO) or calling (MT) number; None for data
    started_at: datetime  # seizure (voice), event (SMS) or session start (data)
    answered_at: datetime | None  # voice only; None when unanswered
    ended_at: datetime
    release_cause: str  # e.g. "normalRelease", "partialRecord", "abnormalRelease"
    cell_id: str  # serving cell as LAC-CI, e.g. "310-260-1234-5678"
    call_reference: int  # unique per switch: the record's natural key with the switch id
    outgoing_trunk_group: str | None = None
    incoming_trunk_group: str | None = None
    record_sequence_number: int | None = None  # partial records of one call or session
    uplink_bytes: int = 0
    downlink_bytes: int = 0
    apn: str | None = None
    charging_id: int | None = None  # PGW charging id (data)
