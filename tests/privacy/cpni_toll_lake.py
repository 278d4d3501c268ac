"""A hand-made lake of toll records for the retention purge tests.

Three lines: SUB1 and SUB2 of account ACC1, SUB3 of ACC2. March 2025 (due from 1 October
2026) and April 2025 (due a month later):

| record | file | event date | who | notes |
|---|---|---|---|---|
| u1 | F1 | 2025-03-10 | SUB1 served | |
| u2 | F1 | 2025-03-10 | SUB2 served | |
| u3 | F1 | 2025-03-10 | SUB3 calls SUB1's number | |
| u4, u5 | F2 | 2025-03-10 | SUB3 | |
| u8, u9 | F1 | 2025-03-10 | no number | partials of session:MSC1:k1, rated to SUB1 |
| u7 | F4 (dated 2025-03-31) | 2025-04-01 | SUB3 | a record of April in a March file |
| u6 | F3 | 2025-04-01 | SUB3 | |

F1 also has a rejected record; F2 carries a quarantine fix. Every file is in the landing
area under ``ts32298_ber/MSC1/``. A hold on SUB1 keeps F1 whole (SUB2's u2 with it) and
lets F2 go.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import pyarrow as pa

from pipelines import lake
from pipelines.config import Layout
from pipelines.mediation.line_buckets import LINE_COLUMNS, line_buckets
from pipelines.schema import LAKE_TABLES

FEED = "ts32298_ber"
SWITCH = "MSC1"
NUMBER = {"SUB1": "13120000001", "SUB2": "13120000002", "SUB3": "13120000003"}
ACCOUNT = {"SUB1": "ACC1", "SUB2": "ACC1", "SUB3": "ACC2"}
MARCH, APRIL = date(2025, 3, 10), date(2025, 4, 1)
FILES = {  # file_id -> (file name, file date, records in)
    "F1": ("MSC1_2025031010_000001.ber", MARCH, 6),
    "F2": ("MSC1_2025031011_000002.ber", MARCH, 2),
    "F4": ("MSC1_2025033123_000003.ber", date(2025, 3, 31), 1),
    "F3": ("MSC1_2025040100_000004.ber", APRIL, 1),
}


def usage_row(usage_id: str, file_id: str, day: date, served: str | None, **extra: Any) -> dict:
    return {
        "usage_id": usage_id,
        "file_id": file_id,
        "file_name": FILES[file_id][0],
        "record_number": int(usage_id[1:]),
        "feed": FEED,
        "switch_id": SWITCH,
        "file_date": FILES[file_id][1],
        "event_date": day,
        "record_key": f"key-{usage_id}",  # every switch record has one
        "record_type": "voice_mo",
        "service": "voice",
        "served_msisdn": NUMBER.get(served or ""),
        "duration_seconds": 60,
        **extra,
    }


USAGE = [
    usage_row("u1", "F1", MARCH, "SUB1"),
    usage_row("u2", "F1", MARCH, "SUB2"),
    usage_row("u3", "F1", MARCH, "SUB3", other_party_number=NUMBER["SUB1"]),
    usage_row("u4", "F2", MARCH, "SUB3"),
    usage_row("u5", "F2", MARCH, "SUB3"),
    usage_row("u8", "F1", MARCH, None, session_key="k1", partial_sequence=1),
    usage_row("u9", "F1", MARCH, None, session_key="k1", partial_sequence=2),
    usage_row("u7", "F4", APRIL, "SUB3"),
    usage_row("u6", "F3", APRIL, "SUB3"),
]


def rated_row(usage: dict, subscriber: str | None) -> dict:
    return {
        **usage,
        "billing_period": f"{usage['event_date']:%Y-%m}",
        "subscriber_id": subscriber,
        "account_id": ACCOUNT.get(subscriber or ""),
        "charge_micros": 100_000,
        "rating_status": "rated",
    }


def write_toll_lake(layout: Layout) -> None:
    """Write the lake, the landing files and the CRM's subscribers and accounts."""
    layout.reference.mkdir(parents=True, exist_ok=True)
    (layout.reference / "subscribers.csv").write_text(
        "subscriber_id,account_id,msisdn,imsi\n"
        + "".join(f"{sub},{ACCOUNT[sub]},{NUMBER[sub]},3102600000{sub[-1]}\n" for sub in NUMBER)
    )
    (layout.reference / "accounts.csv").write_text("account_id\nACC1\nACC2\n")
    by_id = {row["usage_id"]: row for row in USAGE}
    session = {
        **usage_row("u8", "F1", MARCH, None),
        "usage_id": "session:MSC1:k1",
        "record_key": "k1",
        "billing_period": "2025-03",
        "correlation_status": "complete",
        "partials": 2,
        "missing_partials": 0,
        "partial_usage_ids": ["u8", "u9"],
    }
    subscribers = {"u1": "SUB1", "u2": "SUB2", "u3": "SUB3", "u4": "SUB3", "u5": "SUB3"}
    rated = [rated_row(by_id[uid], sub) for uid, sub in subscribers.items()]
    rated += [rated_row(session, "SUB1")]
    rated += [rated_row(by_id["u7"], "SUB3"), rated_row(by_id["u6"], "SUB3")]
    write_rows(layout, "usage", USAGE)
    write_rows(layout, "sessions", [session])
    write_rows(layout, "rated_usage", rated)
    write_rows(
        layout,
        "billed_charge_usage",
        [
            {
                "billing_period": row["billing_period"],
                "charge_id": f"{row['billing_period']}/usage/{row['subscriber_id']}/voice",
                "link_source": "rated_usage",
                "usage_id": row["usage_id"],
                "charge_micros": row["charge_micros"],
            }
            for row in rated
        ],
    )
    write_rows(
        layout,
        "file_registry",
        [
            {
                "file_id": file_id,
                "file_name": name,
                "feed": FEED,
                "switch_id": SWITCH,
                "file_date": day,
                "file_status": "processed",
                "records_in": records,
                "records_accepted": records - (file_id == "F1"),
                "records_rejected": int(file_id == "F1"),
                "records_duplicate": 0,
            }
            for file_id, (name, day, records) in FILES.items()
        ],
    )
    common = {"feed": FEED, "switch_id": SWITCH, "file_date": MARCH}
    write_rows(
        layout,
        "rejects",
        [
            {
                **common,
                "file_id": "F1",
                "file_name": FILES["F1"][0],
                "record_number": 10,
                "reason_code": "invalid_number",
                "raw_text": "raw bytes of a call from 13120000002",
            }
        ],
    )
    write_rows(
        layout,
        "quarantine_fixes",
        [
            {
                **common,
                "file_id": "F2",
                "file_name": FILES["F2"][0],
                "record_number": 4,
                "fixed_text": "fixed call of 13120000003",
            }
        ],
    )
    for name, _, _ in FILES.values():
        layout.landing_store.write(f"{FEED}/{SWITCH}/{name}", b"raw switch file")


def write_rows(layout: Layout, table: str, rows: list[dict]) -> None:
    """Write ``rows`` to their partitions: a line bucket is the row's served line's (a
    repeat's, its record's), as mediation places it; another partition key no row has,
    like rating's bucket, is 0."""
    schema, keys = LAKE_TABLES[table]
    if "line_bucket" in keys and set(LINE_COLUMNS) <= set(schema.names):
        lines = line_buckets(pa.Table.from_pylist(rows, schema=schema)).tolist()
        rows = [{**row, "line_bucket": bucket} for row, bucket in zip(rows, lines, strict=True)]
    elif "line_bucket" in keys:  # a repeat: in its record's bucket, as consolidation files it
        bucket_of = {
            usage_id: values["line_bucket"]
            for values in lake.partitions(layout, "usage")
            for usage_id in lake.read_partition(layout, "usage", values)["usage_id"].to_pylist()
        }
        rows = [{**row, "line_bucket": bucket_of[row["usage_id"]]} for row in rows]
    parts: dict[tuple[str, ...], list[dict]] = {}
    for row in rows:
        values = tuple(str(row.get(key, 0)) for key in keys)
        parts.setdefault(values, []).append(row)
    for values, part in parts.items():
        data = pa.Table.from_pylist(part, schema=schema)
        lake.write_partition(layout, table, dict(zip(keys, values, strict=True)), data)


def usage_ids(layout: Layout, table: str) -> list[str]:
    return sorted(lake.read_table(layout, table)["usage_id"].to_pylist())


def landing_files(layout: Layout) -> list[str]:
    return sorted(item.name for item in layout.landing_store.objects())
