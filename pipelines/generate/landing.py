"""Hourly raw usage files: which record goes in which file, file names, and writing them.

A switch closes one file per local hour; a record goes in the file of the hour in which
it ended, and file sequence numbers increase per switch in time order. Files are planned
in memory first so anomalies can be injected (and traced) before a byte is written.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from pipelines.formats.cdr_events import MobileCdr
from pipelines.generate.asterisk_writer import format_cdr_row, malformed_row
from pipelines.generate.catalog import MOBILE_NODE_ADDRESS, MSC_NUMBER, SMSC_NUMBER
from pipelines.generate.traffic import AsteriskCall, MobileSession
from pipelines.generate.voip_writers import (
    CUCM_HEADER,
    CUCM_NODE,
    FIXED_SWITCH_FEEDS,
    render_calls,
)
from pipelines.schema import Feed

#: The anomaly tag of a malformed row that must be the last line of its file: a CSV
#: reader that meets an unclosed quote consumes everything after it.
UNCLOSED_QUOTE = "malformed_row:unclosed_quote"


@dataclass
class FileEntry:
    """One record slot of a planned file: a row, a CDR, or raw bytes standing for one."""

    payload: str | MobileCdr | bytes
    record_key: str  # "<uniqueid>#<sequence>" (Asterisk); "<call_reference>:<partial>" (MSC)
    anomaly: str | None = None


@dataclass
class LandingFile:
    feed: Feed
    switch_id: str
    hour_start: int  # epoch seconds of the start of the local hour the file covers
    entries: list[FileEntry]
    sequence: int = 0
    name: str = ""
    touched: bool = False  # an anomaly took a record from it, so keep it otherwise clean
    duplicate_of: str | None = None  # name of the file this one re-delivers
    payload: bytes = field(default=b"", repr=False)  # bytes as written
    #: A late file (Asterisk): start of the local hour it was closed in, days after the hour
    #: it covers; only its name shows it.
    closed_hour_start: int | None = None

    @property
    def closing_hour_start(self) -> int:
        """Start of the local hour the file was closed in: the hour its name carries."""
        return self.hour_start if self.closed_hour_start is None else self.closed_hour_start

    def is_clean(self) -> bool:
        """No injected anomaly touches this file or any of its records."""
        return not self.touched and all(entry.anomaly is None for entry in self.entries)


def local_hour_start(epoch: int, tz: ZoneInfo) -> int:
    """Start of the local hour containing ``epoch`` (the repeated hour of a DST fold
    stays distinct: its fold is kept)."""
    local = datetime.fromtimestamp(epoch, tz)
    return int(local.replace(minute=0, second=0, microsecond=0).timestamp())


def mobile_record_key(cdr: MobileCdr) -> str:
    """The generator's key of an MSC/PGW record: call reference and partial number."""
    return f"{cdr.call_reference}:{cdr.record_sequence_number or 0}"


def plan_asterisk_files(
    calls: list[AsteriskCall], switch_id: str, tz: ZoneInfo
) -> list[LandingFile]:
    """Group numbered Asterisk calls into hourly files, rows in end-time order."""
    by_hour: dict[int, list[AsteriskCall]] = {}
    for call in sorted(calls, key=lambda c: (c.end, c.sequence)):
        by_hour.setdefault(local_hour_start(call.end, tz), []).append(call)
    files = []
    for hour in sorted(by_hour):
        ordered = sorted(by_hour[hour], key=lambda c: c.anomaly == UNCLOSED_QUOTE)
        entries = [FileEntry(_render(call, tz), call.record_key, call.anomaly) for call in ordered]
        files.append(LandingFile(Feed.ASTERISK_CDR_CSV, switch_id, hour, entries))
    return files


def plan_voip_files(calls: list[AsteriskCall], switch_id: str, tz: ZoneInfo) -> list[LandingFile]:
    """Group a FreeSWITCH, CUCM or OpenSIPS switch's calls into hourly files, in end-time
    order; an OpenSIPS call's INVITE and BYE lines stay together in the file of its end."""
    by_hour: dict[int, list[FileEntry]] = {}
    # render_calls keeps start order, so each rendering pairs with its call's anomaly tag.
    ordered = sorted(calls, key=lambda call: call.start)
    rendered_calls = zip(render_calls(ordered, switch_id, tz), ordered, strict=True)
    for rendered, call in sorted(rendered_calls, key=lambda pair: pair[0].end):
        hour = local_hour_start(rendered.end, tz)
        by_hour.setdefault(hour, []).append(
            FileEntry(rendered.text, rendered.record_key, call.anomaly)
        )
    feed = FIXED_SWITCH_FEEDS[switch_id]
    return [LandingFile(feed, switch_id, hour, by_hour[hour]) for hour in sorted(by_hour)]


def _render(call: AsteriskCall, tz: ZoneInfo) -> str:
    if call.anomaly is not None and call.anomaly.startswith("malformed_row:"):
        return malformed_row(call, tz, call.anomaly.split(":", 1)[1])
    return format_cdr_row(call, tz)


def plan_mobile_files(
    sessions: list[MobileSession], switch_id: str, tz: ZoneInfo
) -> list[LandingFile]:
    """Group numbered MSC/PGW records into hourly files, CDRs in end-time order."""
    tagged = [(cdr, session.anomaly) for session in sessions for cdr in session.cdrs]
    tagged.sort(
        key=lambda item: (
            item[0].ended_at,
            item[0].call_reference,
            item[0].record_sequence_number or 0,
        )
    )
    by_hour: dict[int, list[FileEntry]] = {}
    for cdr, anomaly in tagged:
        hour = local_hour_start(int(cdr.ended_at.timestamp()), tz)
        by_hour.setdefault(hour, []).append(FileEntry(cdr, mobile_record_key(cdr), anomaly))
    return [
        LandingFile(Feed.TS32298_BER, switch_id, hour, by_hour[hour]) for hour in sorted(by_hour)
    ]


def assign_sequences(files: list[LandingFile], tz: ZoneInfo) -> None:
    """Number a switch's files 1, 2, ... in hour order and name them."""
    files.sort(key=lambda f: f.hour_start)
    for sequence, landing_file in enumerate(files, start=1):
        landing_file.sequence = sequence
        landing_file.name = file_name(landing_file, tz)


def file_name(landing_file: LandingFile, tz: ZoneInfo) -> str:
    """The contract's name: the switch-local hour the file was closed in (the hour it
    covers, but for a late file) and its sequence number; for CUCM its native name, with
    the UTC minute the file closed (the hour's last)."""
    if landing_file.feed is Feed.CISCO_CUCM_CDR:
        closed = datetime.fromtimestamp(landing_file.closing_hour_start + 3599, UTC)
        return (
            f"cdr_{landing_file.switch_id}_{CUCM_NODE}_{closed:%Y%m%d%H%M}_"
            f"{landing_file.sequence:06d}"
        )
    hour = datetime.fromtimestamp(landing_file.closing_hour_start, tz)
    stem = f"{landing_file.switch_id}_{hour:%Y%m%d%H}_{landing_file.sequence:06d}"
    if landing_file.feed in (Feed.ASTERISK_CDR_CSV, Feed.FREESWITCH_CDR_CSV):
        return f"Master_{stem}.csv"
    if landing_file.feed is Feed.OPENSIPS_FLATSTORE:
        return f"acc_{stem}.log"
    return f"{stem}.ber"


def file_path(landing: Path, landing_file: LandingFile) -> Path:
    """``landing/<feed>/<switch_id>/<name>``."""
    return landing / landing_file.feed.value / landing_file.switch_id / landing_file.name


def encode_text(landing_file: LandingFile) -> bytes:
    """A text CDR file's bytes: its rows (after the header, for CUCM), UTF-8."""
    header = CUCM_HEADER if landing_file.feed is Feed.CISCO_CUCM_CDR else ""
    rows = "".join(str(entry.payload) for entry in landing_file.entries)
    return (header + rows).encode("utf-8")


def encode_ber(
    payloads: list[MobileCdr | bytes], *, sequence: int, hour_start: int, tz: ZoneInfo
) -> bytes:
    """The bytes of a TS 32.297 CDR file for one hour of the MSC/PGW.

    The file opens at the start of its hour and closes in its last second, so the hour in
    the name is both the hour covered and the hour of closing.
    """
    # Imported here: the encoder pulls in pycrate, which only file writing needs.
    from pipelines.formats.ts32298 import encode_cdr_file

    opened = datetime.fromtimestamp(hour_start, UTC)
    offset = datetime.fromtimestamp(hour_start, tz).utcoffset() or timedelta(0)
    return encode_cdr_file(
        payloads,
        node_address=MOBILE_NODE_ADDRESS,
        file_sequence_number=sequence,
        opened_at=opened,
        closed_at=opened + timedelta(seconds=3599),
        utc_offset_minutes=int(offset.total_seconds() // 60),
        recording_entity=MSC_NUMBER,
        service_centre=SMSC_NUMBER,
    )


def write_file(landing: Path, landing_file: LandingFile, tz: ZoneInfo) -> None:
    """Write a planned file under ``landing`` and keep its bytes on the plan."""
    path = file_path(landing, landing_file)
    path.parent.mkdir(parents=True, exist_ok=True)
    if landing_file.feed is not Feed.TS32298_BER:
        landing_file.payload = encode_text(landing_file)
    else:
        landing_file.payload = encode_ber(
            ber_payloads(landing_file.entries),
            sequence=landing_file.sequence,
            hour_start=landing_file.hour_start,
            tz=tz,
        )
    path.write_bytes(landing_file.payload)


def ber_payloads(entries: list[FileEntry]) -> list[MobileCdr | bytes]:
    """The CDRs (and raw corrupt records) of planned BER file entries, in order."""
    return [entry.payload for entry in entries if not isinstance(entry.payload, str)]
