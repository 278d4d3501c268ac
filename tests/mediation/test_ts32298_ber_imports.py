"""A process that mediates well-formed BER files never imports pycrate.

pycrate's compiled TS 32.298 modules take 4-6 CPU-seconds and about 55 MiB to import; the
fast path reads well-formed records without them and imports the library decoder only for a
record it leaves. Each check runs in a fresh interpreter, where sys.modules shows what the
mediation of a partition really loaded.
"""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import datetime
from pathlib import Path

from ber_landing import ber_operator, land_ber_file
from mobile_cdrs import mobile_cdr

from pipelines.config import Layout

#: Mediates the partitions given (ISO dates) one after the other; after each, prints what
#: it accepted and rejected and whether any pycrate module was loaded.
MEDIATE = """
import json, sys
from datetime import date
from pathlib import Path

from pipelines.config import Layout
from pipelines.mediation.stage import mediate_partition

layout = Layout(Path(sys.argv[1]))
for day in sys.argv[2:]:
    result = mediate_partition(layout, "ts32298_ber", date.fromisoformat(day))
    print(json.dumps({
        "accepted": result.accepted,
        "rejects": result.rejects_by_reason,
        "pycrate": sorted(name for name in sys.modules if name.startswith("pycrate")),
    }))
"""

RECORD_TYPES = ("voice_mo", "voice_mt", "sms_mo", "sms_mt", "data")


def _mediate(layout: Layout, *days: str) -> list[dict[str, object]]:
    done = subprocess.run(
        [sys.executable, "-c", MEDIATE, str(layout.root), *days],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return [json.loads(line) for line in done.stdout.splitlines()]


def test_well_formed_files_are_mediated_without_pycrate(tmp_path: Path) -> None:
    layout = ber_operator(tmp_path)
    well_formed = [
        mobile_cdr(kind, call_reference=1000 + n, charging_id=700 + n)
        if kind == "data"
        else mobile_cdr(kind, call_reference=1000 + n)
        for n, kind in enumerate(RECORD_TYPES)
    ]
    land_ber_file(layout, datetime(2025, 3, 1, 10), 1, well_formed)
    land_ber_file(layout, datetime(2025, 3, 1, 11), 2, well_formed[:2])
    # The next day's file holds a record that is not BER: the library decoder rejects it.
    land_ber_file(layout, datetime(2025, 3, 2, 10), 3, [well_formed[0], b"\x00\x01"])

    clean, with_reject = _mediate(layout, "2025-03-01", "2025-03-02")

    assert clean == {"accepted": 5, "rejects": {}, "pycrate": []}
    assert with_reject["rejects"] == {"undecodable_record": 1}
    assert "pycrate_asn1dir.CDR" in with_reject["pycrate"]
