"""Line buckets: the lake's usage split by a stable hash of each record's served line.

A line bucket is CRC-32 (zlib's, the IEEE 802.3 polynomial, as rating's buckets use) of the
UTF-8 bytes of the record's served line, ``coalesce(served_msisdn, served_imsi,
record_key)``, modulo LINE_BUCKETS. Everything mediation and consolidation join or compare
happens within one served line: the partials of a session, the legs of a call (per party),
a record and its redelivered copies. So each of those stages can hold one line bucket at a
time rather than a whole day or period (docs/scale.md).

LINE_BUCKETS is a constant of the lake, not a setting: the usage, usage_repeats and
sessions partitions are written per line bucket, and a lake written with another count
would split records that belong together. Changing it means mediating every partition
again.
"""

from __future__ import annotations

import zlib

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from pipelines.string_hashes import crc32_of_strings

#: How many line buckets the lake's usage is split into (a constant of the lake).
LINE_BUCKETS = 16

#: The columns that name a record's served line, in order of preference.
LINE_COLUMNS = ("served_msisdn", "served_imsi", "record_key")


def line_bucket_of(line: str) -> int:
    """The line bucket of one served line (its MSISDN, else IMSI, else record key)."""
    return zlib.crc32(line.encode()) % LINE_BUCKETS


def served_lines(records: pa.Table) -> pa.ChunkedArray:
    """Each record's served line: its MSISDN, else its IMSI, else its record key."""
    return pc.coalesce(*(records[column] for column in LINE_COLUMNS))


def line_buckets(records: pa.Table) -> np.ndarray:
    """The line bucket of each record of ``records`` (with LINE_COLUMNS), int32 (n,).

    Each distinct served line is hashed once: lines repeat across a day's records.
    """
    lines = served_lines(records)
    if lines.null_count:
        raise ValueError("a record has no served line: no MSISDN, IMSI or record key")
    distinct = pc.unique(lines)
    buckets = (crc32_of_strings(distinct) % LINE_BUCKETS).astype(np.int32)
    return buckets[pc.index_in(lines, value_set=distinct).to_numpy()]


def split_by_line_bucket(records: pa.Table) -> dict[int, pa.Table]:
    """``records`` per line bucket (only the buckets they fall in), each in input order."""
    if not records.num_rows:
        return {}
    buckets = line_buckets(records)
    # A stable sort keeps the rows of each bucket in their input order.
    order = np.argsort(buckets, kind="stable")
    ordered = records.take(pa.array(order))
    sorted_buckets = buckets[order]
    bounds = np.flatnonzero(np.diff(sorted_buckets)) + 1
    starts = [0, *bounds.tolist()]
    ends = [*bounds.tolist(), len(order)]
    return {
        int(sorted_buckets[start]): ordered.slice(start, end - start)
        for start, end in zip(starts, ends, strict=True)
    }


def usage_partitions(usage: pa.Table) -> dict[tuple[str, str, str, int], pa.Table]:
    """Usage rows (USAGE_SCHEMA) per lake partition: (feed, event_date, file_date,
    line_bucket) -> the partition's rows, in input order. For fixtures and tools that
    write usage rows made elsewhere into the lake; mediation splits its own."""
    keys = pa.table(
        {
            "feed": usage["feed"],
            "event_date": pc.cast(usage["event_date"], pa.string()),
            "file_date": pc.cast(usage["file_date"], pa.string()),
            "line_bucket": pa.array(line_buckets(usage)),
        }
    ).to_pylist()
    rows: dict[tuple[str, str, str, int], list[int]] = {}
    for index, key in enumerate(keys):
        values = (key["feed"], key["event_date"], key["file_date"], key["line_bucket"])
        rows.setdefault(values, []).append(index)
    return {values: usage.take(pa.array(indices)) for values, indices in sorted(rows.items())}
