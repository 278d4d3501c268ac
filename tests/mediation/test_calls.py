"""Asterisk call legs collapsed per call (linkedid), from Master.csv rows parsed by the real
parser (row and columnar paths) to the consolidated, billable call.

The calls are the ones Asterisk 12+ writes several CDRs for: a failover retry on a second
trunk, a blind transfer, a Local channel chain and a ring-group fork. Every expected value
is worked out by hand from the rows.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import polars as pl
import pyarrow as pa
import pytest
from usage_lake import period_billable_usage, write_usage

from pipelines.config import Layout
from pipelines.mediation.asterisk_cdr_csv import parse_file
from pipelines.mediation.asterisk_cdr_csv_columnar import parse_file_columnar
from pipelines.mediation.calls import collapse_legs
from pipelines.mediation.consolidate import consolidate_period
from pipelines.mediation.records import FileContext, parsed_batch
from pipelines.schema import USAGE_SCHEMA

FEED = "asterisk_cdr_csv"
SWITCH = "ast-chi-01"
CONTEXT = FileContext("Master_ast-chi-01_2026101411_000001.csv", SWITCH, "America/Chicago")
DAY = date(2026, 10, 14)


def cdr(
    src: str,
    dst: str,
    channel: str,
    dstchannel: str,
    times: tuple[str, str, str],
    disposition: str,
    uniqueid: str,
    linkedid: str,
    sequence: int,
    dcontext: str = "from-internal",
) -> str:
    """A 21-column Master.csv line; times are Chicago wall clock (CDT, UTC-5) on DAY."""
    start, answer, end = (f'"{DAY} {t}"' if t else "" for t in times)
    seconds = [int(t[:2]) * 3600 + int(t[3:5]) * 60 + int(t[6:]) if t else None for t in times]
    duration = seconds[2] - seconds[0]  # type: ignore[operator]
    billsec = seconds[2] - seconds[1] if seconds[1] is not None else 0  # type: ignore[operator]
    quoted = [
        "", src, dst, dcontext, f"<{src}>", channel, dstchannel, "Dial", dst,
    ]  # fmt: skip
    head = ",".join(f'"{text}"' for text in quoted)
    tail = f'"DOCUMENTATION","{uniqueid}","","","{linkedid}",{sequence}'
    return f'{head},{start},{answer},{end},{duration},{billsec},"{disposition}",{tail}\n'


A = "3125550101"  # the calling subscriber
B = "3125550102"  # another subscriber, on-net
FAILOVER = [
    # The first trunk is congested; the dialplan retries the same number on a second one.
    cdr(A, "2125550199", f"PJSIP/{A}-0000000a", "PJSIP/tg_att_out-0000000b",
        ("10:00:00", "", "10:00:04"), "CONGESTION", "1760454000.10", "1760454000.10", 20),
    cdr(A, "2125550199", f"PJSIP/{A}-0000000a", "PJSIP/tg_vz_out-0000000c",
        ("10:00:04", "10:00:10", "10:02:10"), "ANSWERED", "1760454000.10", "1760454000.10", 21),
]  # fmt: skip
TRANSFER = [
    # A talks to 2125550199 for 30 s, who transfers A to 2125550188 for 90 s more.
    cdr(A, "2125550199", f"PJSIP/{A}-0000000d", "PJSIP/tg_att_out-0000000e",
        ("10:10:00", "10:10:05", "10:10:35"), "ANSWERED", "1760454600.13", "1760454600.13", 22),
    cdr(A, "2125550188", f"PJSIP/{A}-0000000d", "PJSIP/tg_att_out-0000000f",
        ("10:10:35", "10:10:35", "10:12:05"), "ANSWERED", "1760454600.13", "1760454600.13", 23),
]  # fmt: skip
LOCAL_CHAIN = [
    # A's dial goes through a Local channel whose other half dials out: both legs are
    # connected over the same 60 s (the Local half inherits A's caller id).
    cdr(A, "2125550177", f"PJSIP/{A}-00000010", "Local/2125550177@outbound-00000001;1",
        ("10:20:00", "10:20:05", "10:21:05"), "ANSWERED", "1760455200.16", "1760455200.16", 24),
    cdr(A, "2125550177", "Local/2125550177@outbound-00000001;2", "PJSIP/tg_att_out-00000011",
        ("10:20:01", "10:20:05", "10:21:05"), "ANSWERED", "1760455201.17", "1760455200.16", 25),
]  # fmt: skip
FORK = [
    # An inbound call rings two devices of subscriber B's group; the second answers. The
    # transferring party's own consultation call (B dialling out) shares the linkedid.
    cdr("+447700900123", B, "PJSIP/tg_bt_in-00000012", f"PJSIP/{B}-00000013",
        ("10:30:00", "", "10:30:20"), "NO ANSWER", "1760455800.18", "1760455800.18", 26,
        "from-trunk"),
    cdr("+447700900123", B, "PJSIP/tg_bt_in-00000012", f"PJSIP/{B}-00000014",
        ("10:30:00", "10:30:08", "10:31:08"), "ANSWERED", "1760455800.18", "1760455800.18", 27,
        "from-trunk"),
    cdr(B, "2125550166", f"PJSIP/{B}-00000015", "PJSIP/tg_att_out-00000016",
        ("10:30:40", "10:30:44", "10:30:54"), "ANSWERED", "1760455840.21", "1760455800.18", 28),
]  # fmt: skip
SINGLE = [
    cdr(A, "2125550155", f"PJSIP/{A}-00000017", "PJSIP/tg_att_out-00000018",
        ("10:40:00", "10:40:03", "10:41:03"), "ANSWERED", "1760456400.23", "1760456400.23", 29),
]  # fmt: skip
MASTER_CSV = "".join(FAILOVER + TRANSFER + LOCAL_CHAIN + FORK + SINGLE).encode()


def cdt(clock: str) -> datetime:
    hours, minutes, seconds = map(int, clock.split(":"))
    return datetime(2026, 10, 14, hours + 5, minutes, seconds, tzinfo=UTC)


def usage_rows(data: bytes, file_date: date = DAY, file_tag: str = "f1") -> list[dict]:
    """The usage rows mediation would write for ``data`` (parsed by the row parser)."""
    batch = parsed_batch(parse_file(data, CONTEXT))
    assert batch.rejects == []
    rows = []
    for record in batch.records.to_pylist():
        row = dict.fromkeys(USAGE_SCHEMA.names)
        row.update(record)
        row.update(
            usage_id=f"{file_tag}-{record['record_number']}",
            file_id=file_tag.ljust(64, "0"),
            file_name=f"Master_{SWITCH}_{file_date:%Y%m%d}11_{file_tag}.csv",
            feed=FEED,
            switch_id=SWITCH,
            file_date=file_date,
            event_date=record["started_at"].astimezone(cdt("00:00:00").tzinfo).date(),
        )
        rows.append(row)
    return rows


def frame(rows: list[dict]) -> pl.DataFrame:
    data = pl.from_arrow(pa.Table.from_pylist(rows, schema=USAGE_SCHEMA))
    assert isinstance(data, pl.DataFrame)
    return data


def calls_by_key(rows: list[dict]) -> dict[str, dict]:
    return {call["record_key"]: call for call in collapse_legs(frame(rows)).to_dicts()}


def test_both_parsers_carry_the_linkedid_as_the_key_legs_share() -> None:
    columnar = parse_file_columnar(MASTER_CSV, CONTEXT)
    assert columnar is not None
    row_parsed = parsed_batch(parse_file(MASTER_CSV, CONTEXT))
    assert columnar.records.equals(row_parsed.records)
    keys = row_parsed.records.column("session_key").to_pylist()
    assert keys == ["1760454000.10"] * 2 + ["1760454600.13"] * 2 + ["1760455200.16"] * 2 + [
        "1760455800.18"
    ] * 3 + ["1760456400.23"]
    # A Local channel is a loopback, not a trunk group; the real trunk is on the other leg.
    trunks = row_parsed.records.column("outgoing_trunk_group").to_pylist()
    assert trunks[4:6] == [None, "tg_att_out"]


def test_a_failover_retry_is_one_call_carried_by_the_trunk_that_answered() -> None:
    call = calls_by_key(usage_rows(MASTER_CSV))["1760454000.10/outbound/13125550101"]
    assert call["usage_id"] == "call:ast-chi-01:1760454000.10/outbound/13125550101"
    assert (call["started_at"], call["answered_at"]) == (cdt("10:00:00"), cdt("10:00:10"))
    assert call["ended_at"] == cdt("10:02:10")
    assert (call["duration_seconds"], call["is_answered"]) == (120, True)
    assert call["outgoing_trunk_group"] == "tg_vz_out"
    assert call["release_cause"] == "ANSWERED"
    assert call["other_party_number"] == "12125550199"
    assert (call["partials"], call["partial_usage_ids"]) == (2, ["f1-1", "f1-2"])
    assert call["correlation_status"] == "complete"


def test_a_transfer_bills_the_caller_for_both_connected_spans() -> None:
    call = calls_by_key(usage_rows(MASTER_CSV))["1760454600.13/outbound/13125550101"]
    assert call["duration_seconds"] == 30 + 90
    assert call["other_party_number"] == "12125550199"  # what the caller dialled
    assert (call["started_at"], call["ended_at"]) == (cdt("10:10:00"), cdt("10:12:05"))


def test_overlapping_legs_of_a_local_chain_count_their_seconds_once() -> None:
    call = calls_by_key(usage_rows(MASTER_CSV))["1760455200.16/outbound/13125550101"]
    assert call["duration_seconds"] == 60  # not 120
    assert call["outgoing_trunk_group"] == "tg_att_out"
    assert call["partials"] == 2


def test_a_fork_is_one_answered_call_and_the_consultation_call_its_own() -> None:
    calls = calls_by_key(usage_rows(MASTER_CSV))
    inbound = calls["1760455800.18/inbound/13125550102"]
    assert (inbound["partials"], inbound["duration_seconds"]) == (2, 60)
    assert inbound["answered_at"] == cdt("10:30:08")
    assert inbound["incoming_trunk_group"] == "tg_bt_in"
    consultation = calls["1760455800.18/outbound/13125550102"]
    assert (consultation["partials"], consultation["duration_seconds"]) == (1, 10)
    assert len(calls) == 6


def test_an_unanswered_call_ends_as_its_last_leg_did() -> None:
    legs = usage_rows(MASTER_CSV)[:1]  # the congested attempt alone
    (call,) = collapse_legs(frame(legs)).to_dicts()
    assert (call["is_answered"], call["duration_seconds"]) == (False, 0)
    assert call["answered_at"] is None
    assert call["release_cause"] == "CONGESTION"


def test_a_one_leg_call_keeps_every_value_of_its_leg() -> None:
    (leg,) = usage_rows(SINGLE[0].encode())
    (call,) = collapse_legs(frame([leg])).to_dicts()
    renamed = {"usage_id", "record_key"}
    assert {k: call[k] for k in USAGE_SCHEMA.names if k not in renamed} == {
        k: leg[k] for k in USAGE_SCHEMA.names if k not in renamed
    }


@pytest.fixture
def layout(tmp_path: Path) -> Layout:
    return Layout(tmp_path)


def test_legs_split_by_a_file_rotation_are_billed_as_one_call(layout: Layout) -> None:
    # The failover's first leg is in one day's last file, its second in the next day's.
    first = usage_rows(FAILOVER[0].encode(), DAY, "f1")
    second = usage_rows(FAILOVER[1].encode(), date(2026, 10, 15), "f2")
    write_usage(layout, first)
    consolidate_period(layout, FEED, "2026-10")
    (alone,) = period_billable_usage(layout, "2026-10").to_dicts()
    assert (alone["is_answered"], alone["release_cause"]) == (False, "CONGESTION")

    write_usage(layout, second)
    result = consolidate_period(layout, FEED, "2026-10")
    assert (result.partials, result.sessions_by_status["complete"]) == (2, 1)
    (call,) = period_billable_usage(layout, "2026-10").to_dicts()
    assert call["usage_id"] == alone["usage_id"]  # rating replaces, never adds
    assert (call["duration_seconds"], call["outgoing_trunk_group"]) == (120, "tg_vz_out")
    before = {p: p.read_bytes() for p in layout.lake.rglob("*.parquet")}
    consolidate_period(layout, FEED, "2026-10")
    assert {p: p.read_bytes() for p in layout.lake.rglob("*.parquet")} == before
