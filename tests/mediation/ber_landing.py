"""A BER switch's data root and its TS 32.297 landing files, for the stage tests.

Imported by name from tests/mediation (pytest puts a test's folder on sys.path).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

from mobile_cdrs import T0

from pipelines.config import Layout
from pipelines.formats import ts32298
from pipelines.formats.cdr_events import MobileCdr
from pipelines.schema import Feed

SWITCH = "msc-chi-01"
#: The switch clock's zone; T0 (2025-03-01 16:15 UTC) is 10:15 there.
TIMEZONE = "America/Chicago"
UTC_OFFSET_MINUTES = -360
NODE, MSC, SMSC = "10.1.2.3", "13125550000", "13125550001"


def ber_operator(root: Path) -> Layout:
    """A data root whose only switch is the BER switch SWITCH."""
    layout = Layout(root)
    layout.reference.mkdir(parents=True)
    (layout.reference / "switches.csv").write_text(
        f"switch_id,feed,timezone,description\n{SWITCH},{Feed.TS32298_BER},{TIMEZONE},test MSC\n"
    )
    return layout


def ber_file(items: list[MobileCdr | bytes], sequence: int = 1) -> bytes:
    """The switch's TS 32.297 file number ``sequence`` holding ``items`` (a ``bytes`` item
    is a raw CDR payload)."""
    return ts32298.encode_cdr_file(
        items,
        node_address=NODE,
        file_sequence_number=sequence,
        opened_at=T0,
        closed_at=T0 + timedelta(hours=1),
        utc_offset_minutes=UTC_OFFSET_MINUTES,
        recording_entity=MSC,
        service_centre=SMSC,
    )


def ber_record(cdr: MobileCdr) -> bytes:
    """The CallEventRecord payload the switch writes for ``cdr``."""
    return ts32298.encode_call_event_record(
        cdr,
        recording_entity=MSC,
        service_centre=SMSC,
        node_address=NODE,
        utc_offset_minutes=UTC_OFFSET_MINUTES,
    )


def land_ber_file(
    layout: Layout, hour: datetime, sequence: int, items: list[MobileCdr | bytes]
) -> Path:
    """Write ``items`` as the switch's file number ``sequence`` of ``hour`` (switch local
    time: it names the file and so its partition)."""
    folder = layout.landing / Feed.TS32298_BER / SWITCH
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{SWITCH}_{hour:%Y%m%d%H}_{sequence:06d}.ber"
    path.write_bytes(ber_file(items, sequence))
    return path
