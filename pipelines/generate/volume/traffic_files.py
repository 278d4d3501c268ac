"""The landing files of volume traffic: TS 32.297 files of the MSC/PGW, Asterisk Master.csv.

A switch writes the records that ended in a local hour to that hour's file, in end-time
order, and closes a file early when it reaches ``max_records`` (the next opens at once), as
switches rotate files by time and size; file sequence numbers run 1, 2, ... per switch.
Names and paths are the landing contract's (``pipelines.generate.landing``). BER files are
encoded by the Numba kernel (``kernels.ber_encode_api``); Asterisk rows are built with
polars string columns, byte for byte as ``asterisk_writer.format_cdr_row`` renders them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import polars as pl

from kernels.ber_encode_api import (
    Digits,
    MobileCdrColumns,
    RecordKind,
    TextTable,
    cell_table,
    encode_cdr_file,
)
from pipelines.formats.ts32297 import FileClosureReason
from pipelines.generate.asterisk_writer import AMA_FLAGS
from pipelines.generate.catalog import MOBILE_NODE_ADDRESS, MSC_NUMBER, SMSC_NUMBER
from pipelines.generate.landing import LandingFile, file_name, file_path
from pipelines.generate.traffic import FIXED_CONTEXT_IN, FIXED_CONTEXT_OUT
from pipelines.generate.volume.traffic_columns import FixedCalls, MobileRecords
from pipelines.generate.volume.traffic_events import DISPOSITIONS
from pipelines.generate.volume.traffic_lines import (
    APN,
    DOMESTIC,
    EMERGENCY,
    ONNET,
    TEXTS,
    TOLL_FREE,
    Network,
)
from pipelines.schema import Feed

_HEX = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)


@dataclass
class SwitchFiles:
    """The files one switch has written so far, numbered in order."""

    landing: Path
    feed: Feed
    switch_id: str
    tz: ZoneInfo
    max_records: int
    files: int = 0
    records: int = 0
    bytes_written: int = 0
    names: list[str] = field(default_factory=list)

    def chunks(self, count: int) -> list[tuple[int, int]]:
        """[start, end) of each file the hour's ``count`` records fill."""
        return [(a, min(a + self.max_records, count)) for a in range(0, count, self.max_records)]

    def write(self, hour_start: int, data: bytes | np.ndarray, records: int) -> None:
        """Write the next file of the hour starting at ``hour_start``."""
        self.files += 1
        planned = LandingFile(self.feed, self.switch_id, hour_start, [], sequence=self.files)
        planned.name = file_name(planned, self.tz)
        path = file_path(self.landing, planned)
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("wb") as out:
            out.write(data.data if isinstance(data, np.ndarray) else data)
        self.records += records
        self.bytes_written += len(data)
        self.names.append(planned.name)


def _utc(epoch: int) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)


@dataclass
class BerFiles:
    """The MSC/PGW's TS 32.297 files (one node: MSC number, SMSC and P-GW address of the
    generated operator, ``pipelines.generate.catalog``)."""

    switch: SwitchFiles
    network: Network
    cells: np.ndarray = field(init=False)
    texts: TextTable = field(init=False)
    #: The hour being written, when its current file opened, and its records not yet in
    #: a file.
    _hour: int = field(init=False, default=-1)
    _opened: int = field(init=False, default=-1)
    _buffer: MobileRecords | None = field(init=False, default=None)

    def __post_init__(self) -> None:
        self.cells = cell_table(self.network.cell_ids)
        self.texts = TextTable.of(TEXTS)

    def _columns(self, records: MobileRecords) -> MobileCdrColumns:
        mobile, line = self.network.mobile, records.line
        packet = records.kind == RecordKind.PGW
        n = len(records)
        return MobileCdrColumns(
            record_type=records.kind,
            served_imsi=Digits(mobile.imsi.value[line], mobile.imsi.count[line]),
            served_imei=Digits(mobile.imei.value[line], mobile.imei.count[line]),
            served_msisdn=Digits(
                mobile.msisdn_digits.value[line], mobile.msisdn_digits.count[line]
            ),
            other_party=Digits(records.other, records.other_digits),
            started_at=records.started,
            answered_at=records.answered,
            ended_at=records.ended,
            cause=records.cause,
            cell=records.cell,
            call_reference=np.where(packet, 0, records.reference),
            sequence=records.sequence,
            uplink_bytes=records.uplink,
            downlink_bytes=records.downlink,
            charging_id=np.where(packet, records.reference, 0),
            apn=np.full(n, APN, dtype=np.int32),
            incoming_trunk=records.incoming_trunk,
            outgoing_trunk=records.outgoing_trunk,
        )

    def append(self, records: MobileRecords, hour_start: int) -> None:
        """Add records that ended in the hour from ``hour_start``, all after those added
        before, ordered by end time, then MSC before PGW records, reference and partial
        number; write each file as it fills up."""
        if hour_start != self._hour:
            self._hour = self._opened = hour_start
        is_packet = records.kind == RecordKind.PGW
        order = np.lexsort((records.sequence, records.reference, is_packet, records.ended))
        buffered = records.take(order)
        if self._buffer is not None:
            buffered = MobileRecords.concat([self._buffer, buffered])
        limit = self.switch.max_records
        while len(buffered) >= limit:
            self._write(buffered.take(np.arange(limit)), last=False)
            buffered = buffered.take(np.arange(limit, len(buffered)))
        self._buffer = buffered

    def close_hour(self) -> None:
        """Write the hour's last file, closed by the open-time limit at the hour's end."""
        if self._buffer is not None and len(self._buffer):
            self._write(self._buffer, last=True)
        self._buffer = None

    def _write(self, records: MobileRecords, last: bool) -> None:
        hour = self._hour
        offset = datetime.fromtimestamp(hour, self.switch.tz).utcoffset() or timedelta(0)
        closed = hour + 3599 if last else int(records.ended[-1])
        data = encode_cdr_file(
            self._columns(records),
            self.cells,
            self.texts,
            node_address=MOBILE_NODE_ADDRESS,
            file_sequence_number=self.switch.files + 1,
            opened_at=_utc(self._opened),
            closed_at=_utc(closed),
            utc_offset_minutes=int(offset.total_seconds() // 60),
            recording_entity=MSC_NUMBER,
            service_centre=SMSC_NUMBER,
            closure_reason=(
                FileClosureReason.FILE_OPEN_TIME_LIMIT
                if last
                else FileClosureReason.FILE_SIZE_LIMIT
            ),
        )
        self.switch.write(hour, data, len(records))
        self._opened = closed


def _hex8(values: np.ndarray) -> pl.Series:
    """Each value as 8 lowercase hex digits (Asterisk's channel suffix)."""
    nibbles = (values.astype(np.int64)[:, None] >> np.arange(28, -1, -4)) & 0xF
    return pl.Series(_HEX[nibbles].copy().view("S8").ravel()).cast(pl.String)


def _quoted(column: pl.Expr) -> pl.Expr:
    """A string field as Asterisk's append_string writes it."""
    return pl.lit('"') + column.str.replace_all('"', '""', literal=True) + pl.lit('"')


def _local_times(epochs: np.ndarray, tz: ZoneInfo) -> pl.Series:
    return (
        pl.from_epoch(pl.Series(epochs), time_unit="s")
        .dt.replace_time_zone("UTC")
        .dt.convert_time_zone(str(tz))
        .dt.strftime("%Y-%m-%d %H:%M:%S")
    )


def asterisk_rows(calls: FixedCalls, network: Network, tz: ZoneInfo) -> str:
    """The Master.csv lines of ``calls``, in order (docs/generator.md, Asterisk cdr_csv
    conventions): outgoing calls from-internal with the caller's account, incoming ones
    from-trunk with the callee's; off-net legs over their trunk group's endpoint."""
    fixed = network.fixed
    line = pl.Series(calls.line)
    callee = pl.Series(np.maximum(calls.callee, 0))
    far = pl.Series(calls.other).cast(pl.String).str.zfill(pl.Series(calls.other_digits))
    caller_channel = 2 * calls.sequence
    frame = pl.DataFrame(
        {
            "outbound": calls.outbound,
            "kind": calls.kind,
            "number": fixed.msisdn.gather(line).str.slice(1),
            "account": fixed.account_id.gather(line),
            "name": fixed.account_name.gather(line),
            "peer": fixed.account_id.gather(callee),
            "far": far,
            "trunk": pl.Series([*TEXTS, ""]).gather(
                pl.Series(np.where(calls.trunk < 0, len(TEXTS), calls.trunk))
            ),
            "start": _local_times(calls.started, tz),
            "answer": _local_times(np.maximum(calls.answered, 0), tz),
            "end": _local_times(calls.ended, tz),
            "answered": calls.answered >= 0,
            "duration": calls.ended - calls.started,
            "billsec": np.where(calls.answered >= 0, calls.ended - calls.answered, 0),
            "disposition": pl.Series(DISPOSITIONS).gather(pl.Series(calls.disposition)),
            "uniqueid": pl.Series(calls.started).cast(pl.String)
            + "."
            + pl.Series(caller_channel).cast(pl.String),
            "channel": _hex8(caller_channel),
            "dstchannel": _hex8(caller_channel + 1),
            "sequence": calls.sequence,
        }
    )
    kind = pl.col("kind")
    national = kind.is_in([ONNET, DOMESTIC])
    dialled = (
        pl.when(national)
        .then(pl.col("far").str.slice(1))
        .when(kind.is_in([TOLL_FREE, EMERGENCY]) | pl.col("far").str.starts_with("1"))
        .then(pl.col("far"))
        .otherwise("011" + pl.col("far"))
    )
    presented = pl.when(national).then(pl.col("far").str.slice(1)).otherwise("+" + pl.col("far"))
    out, onnet = pl.col("outbound"), kind == ONNET
    number = pl.col("number")
    fields = [
        pl.when(out).then(pl.col("account")).otherwise(pl.lit("")),
        pl.when(out).then(number).otherwise(presented),
        pl.when(out).then(dialled).otherwise(number),
        pl.when(out).then(pl.lit(FIXED_CONTEXT_OUT)).otherwise(pl.lit(FIXED_CONTEXT_IN)),
        pl.when(out)
        .then('"' + pl.col("name") + '" <' + number + ">")
        .otherwise('"' + presented + '" <' + presented + ">"),
        "PJSIP/" + pl.when(out).then(number).otherwise(pl.col("trunk")) + "-" + pl.col("channel"),
        "PJSIP/"
        + pl.when(out & onnet).then(dialled).when(out).then(pl.col("trunk")).otherwise(number)
        + "-"
        + pl.col("dstchannel"),
        pl.lit("Dial"),
        pl.when(out & onnet)
        .then("PJSIP/" + dialled + ",30")
        .when(out)
        .then("PJSIP/" + dialled + "@" + pl.col("trunk") + ",60")
        .otherwise("PJSIP/" + number + ",30"),
        pl.col("start"),
        pl.col("answer"),
        pl.col("end"),
    ]
    quoted = [_quoted(f if isinstance(f, pl.Expr) else pl.col(f)) for f in fields]
    quoted[10] = pl.when(pl.col("answered")).then(quoted[10]).otherwise(pl.lit(""))
    peer = (
        pl.when(out & onnet)
        .then(pl.col("peer"))
        .when(out)
        .then(pl.lit(""))
        .otherwise(pl.col("account"))
    )
    row = pl.concat_str(
        [
            *quoted,
            pl.col("duration").cast(pl.String),
            pl.col("billsec").cast(pl.String),
            _quoted(pl.col("disposition")),
            _quoted(pl.lit(AMA_FLAGS)),
            _quoted(pl.col("uniqueid")),
            _quoted(pl.lit("")),
            _quoted(peer),
            _quoted(pl.col("uniqueid")),
            pl.col("sequence").cast(pl.String),
        ],
        separator=",",
    )
    return str(frame.select(row.str.join("\n")).item()) + "\n"


@dataclass
class AsteriskFiles:
    """The Asterisk switch's Master.csv files of the fixed lines' calls."""

    switch: SwitchFiles
    network: Network

    def write_hour(self, calls: FixedCalls, hour_start: int) -> None:
        """The files of the calls that ended in the hour, rows by end time then CDR
        sequence (as Asterisk appends a CDR when its call ends)."""
        if not len(calls):
            return
        calls = calls.take(np.lexsort((calls.sequence, calls.ended)))
        for first, end in self.switch.chunks(len(calls)):
            text = asterisk_rows(calls.take(np.arange(first, end)), self.network, self.switch.tz)
            self.switch.write(hour_start, text.encode("utf-8"), end - first)
