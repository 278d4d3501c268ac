"""Who read raw call detail, what, when and why: the lake table ``cpni_access_log``.

Every product command that shows or exports raw call detail (per-record usage with the
numbers, or raw switch records) calls ``record_access`` after reading and before showing
anything: if the entry cannot be written, the command fails and shows nothing. Each entry
is a partition of its own (``access_date=<UTC date>/access_id=<id>``), written once and
never rewritten, so concurrent commands cannot lose each other's entries. Identifiers in
the arguments are stored as tokens (pipelines/privacy/masking.py): the log tells an auditor
which subscriber was read (by tokenizing a candidate number) without being itself a list of
numbers.
"""

from __future__ import annotations

import getpass
import json
import os
import uuid
from collections.abc import Collection, Mapping
from datetime import UTC, datetime

import pyarrow as pa

from pipelines import lake
from pipelines.config import Layout
from pipelines.privacy.keys import cpni_key, key_id
from pipelines.privacy.masking import TOKEN_PATTERN, mask_numbers_in_text, token
from pipelines.schema import CPNI_ACCESS_LOG_SCHEMA

ACCESS_LOG_TABLE = "cpni_access_log"
USER_ENV = "TELCOLAKE_USER"


def current_user() -> str:
    """Who is running the command: ``TELCOLAKE_USER`` (a deployment that runs commands on
    behalf of named people sets it), else the OS login."""
    return os.environ.get(USER_ENV) or getpass.getuser()


def record_access(
    layout: Layout,
    command: str,
    arguments: Mapping[str, object],
    rows_returned: int,
    *,
    reason: str | None = None,
    identifier_arguments: Collection[str] = (),
    accessed_by: str | None = None,
) -> dict[str, object]:
    """Append one access entry; return the row written.

    ``arguments`` are the command's options as given (None values are left out); those
    named in ``identifier_arguments`` are stored as tokens (a token passes through), and
    every other value and the reason have phone-number-like digit runs masked.
    """
    key = cpni_key(layout)
    masked = {
        name: _masked_argument(key, str(value), name in identifier_arguments)
        for name, value in arguments.items()
        if value is not None
    }
    now = datetime.now(UTC)
    row = {
        "access_id": uuid.uuid4().hex,
        "access_date": now.date().isoformat(),
        "accessed_at": now,
        "accessed_by": accessed_by or current_user(),
        "command": command,
        "arguments": json.dumps(masked, sort_keys=True),
        "reason": None if reason is None else mask_numbers_in_text(key, reason),
        "rows_returned": rows_returned,
        "key_id": key_id(key),
    }
    values = {"access_date": row["access_date"], "access_id": row["access_id"]}
    lake.write_partition(
        layout,
        ACCESS_LOG_TABLE,
        values,
        pa.Table.from_pylist([row], schema=CPNI_ACCESS_LOG_SCHEMA),
    )
    return row


def read_access_log(layout: Layout, access_date: str | None = None) -> list[dict[str, object]]:
    """Every entry (of one UTC date, YYYY-MM-DD), oldest first."""
    where = {"access_date": access_date} if access_date else None
    rows = lake.read_table(layout, ACCESS_LOG_TABLE, where).to_pylist()
    return sorted(rows, key=lambda row: (row["accessed_at"], row["access_id"]))


def _masked_argument(key: bytes, value: str, is_identifier: bool) -> str:
    if is_identifier:
        return value if TOKEN_PATTERN.fullmatch(value) else token(key, value)
    return mask_numbers_in_text(key, value)
