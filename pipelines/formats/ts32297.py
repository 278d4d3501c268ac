"""3GPP TS 32.297 §6.1 CDR file framing: the file header and the per-CDR headers.

A CDR file is one file header followed by CDRs, each behind a CDR header. All integers are
big-endian. Layout of the file header (octets):

    4  file length (the whole file, header included)
    4  header length (the file header, variable parts included)
    1  high release identifier (3 bits) | high version identifier (5 bits)
    1  low release identifier (3 bits) | low version identifier (5 bits)
    4  file opening timestamp (see HeaderTimestamp)
    4  timestamp when the last CDR was appended
    4  number of CDRs in the file (0xFFFFFFFF: unknown)
    4  file sequence number
    1  file closure trigger reason (FileClosureReason; 192-255 vendor specific)
   20  IP address of the node that generated the file
    1  lost CDR indicator
    2  length of the CDR routing filter, then the filter itself
    2  length of the private extension, then the extension itself
    1  high release identifier extension (present when the high release identifier is 7)
    1  low release identifier extension (present when the low release identifier is 7)

CDR header: 2 octets CDR length (the CDR without its header), 1 octet release identifier
(3 bits) | version identifier (5 bits), 1 octet data record format (3 bits: 1 = BER) | TS
number (5 bits), and 1 octet release identifier extension when the release identifier is 7.

Release identifiers: 0 = Release 99, 1..6 = Release 4..9, 7 = Release 10 or later, the
extension octet holding (release - 10).

Decoding never raises anything but Ts32297Error (or its subclass TruncatedCdrError), so a
parser can turn any framing problem into a reject.
"""

from __future__ import annotations

import ipaddress
import struct
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import IntEnum

#: Octets of the file header without its variable parts and release extensions.
FILE_HEADER_FIXED_LENGTH = 52
#: Octets of a CDR header without its release identifier extension.
CDR_HEADER_FIXED_LENGTH = 4
#: Number of CDRs value meaning "not known by the writer".
CDR_COUNT_UNKNOWN = 0xFFFFFFFF
#: Data record format code of BER (the other codes: 2 unaligned PER, 3 aligned PER, 4 XER).
DATA_RECORD_FORMAT_BER = 1

_RELEASE_EXTENDED = 7  # release identifier value whose real release is in an extension octet


class TsNumber(IntEnum):
    """The 5-bit TS number of a CDR header: which charging spec defines the record."""

    TS_32_250 = 6  # circuit-switched domain charging (MSC records)
    TS_32_251 = 7  # packet-switched domain charging (SGSN/S-GW/P-GW records)
    TS_32_260 = 9  # IMS charging
    TS_32_274 = 15  # SMS charging


class FileClosureReason(IntEnum):
    """Why the node closed the file (the file closure trigger reason octet)."""

    NORMAL = 0
    FILE_SIZE_LIMIT = 1
    FILE_OPEN_TIME_LIMIT = 2
    MAX_CDRS_IN_FILE = 3
    MANUAL_INTERVENTION = 4
    CDR_RELEASE_VERSION_OR_ENCODING_CHANGE = 5
    ABNORMAL = 128
    FILE_SYSTEM_ERROR = 129
    FILE_SYSTEM_STORAGE_EXHAUSTED = 130
    FILE_INTEGRITY_ERROR = 131


class Ts32297Error(ValueError):
    """The bytes are not a readable TS 32.297 file header or CDR header."""


class TruncatedCdrError(Ts32297Error):
    """A CDR (or its header) runs past the end of the data.

    ``offset`` is where the CDR header starts; ``remaining`` holds every byte from there to
    the end of the data, for a reject's raw text.
    """

    def __init__(self, message: str, *, offset: int, remaining: bytes) -> None:
        super().__init__(message)
        self.offset = offset
        self.remaining = remaining


@dataclass(frozen=True)
class HeaderTimestamp:
    """A file header timestamp: local month, day, hour, minute and the local UTC offset.

    The 32 bits hold month (4), day (5), hour (5), minute (6), offset sign (1: '+'),
    offset hours (5) and offset minutes (6). There is no year and no second.
    """

    month: int
    day: int
    hour: int
    minute: int
    utc_offset_minutes: int

    @classmethod
    def from_datetime(cls, at: datetime, utc_offset_minutes: int) -> HeaderTimestamp:
        """The timestamp of the aware datetime ``at`` as a clock at the given offset shows it."""
        local = at.astimezone(UTC) + timedelta(minutes=utc_offset_minutes)
        return cls(local.month, local.day, local.hour, local.minute, utc_offset_minutes)

    def encode(self) -> bytes:
        """The 4 octets of this timestamp."""
        offset = abs(self.utc_offset_minutes)
        if not (
            1 <= self.month <= 12
            and 1 <= self.day <= 31
            and 0 <= self.hour <= 23
            and 0 <= self.minute <= 59
            and offset < 24 * 60
        ):
            raise ValueError(f"timestamp out of range: {self}")
        sign = 1 if self.utc_offset_minutes >= 0 else 0
        bits = (
            self.month << 28
            | self.day << 23
            | self.hour << 18
            | self.minute << 12
            | sign << 11
            | (offset // 60) << 6
            | offset % 60
        )
        return bits.to_bytes(4, "big")

    @classmethod
    def decode(cls, data: bytes) -> HeaderTimestamp:
        """Read 4 octets; raise Ts32297Error when a part is out of range."""
        bits = int.from_bytes(data, "big")
        month, day = bits >> 28, (bits >> 23) & 0x1F
        hour, minute = (bits >> 18) & 0x1F, (bits >> 12) & 0x3F
        offset_hours, offset_minutes = (bits >> 6) & 0x1F, bits & 0x3F
        if not (
            1 <= month <= 12
            and 1 <= day <= 31
            and hour <= 23
            and minute <= 59
            and offset_hours <= 23
            and offset_minutes <= 59
        ):
            raise Ts32297Error(f"invalid file header timestamp {data.hex()}")
        offset = offset_hours * 60 + offset_minutes
        return cls(month, day, hour, minute, offset if bits >> 11 & 1 else -offset)


@dataclass(frozen=True)
class FileHeader:
    """The content of a TS 32.297 file header (lengths are computed when encoding)."""

    high_release: int  # 99 for Release 99, else 4, 5, ...
    high_version: int  # 0..31
    low_release: int
    low_version: int
    opened: HeaderTimestamp
    last_appended: HeaderTimestamp
    cdr_count: int
    file_sequence_number: int
    closure_reason: int  # FileClosureReason or a vendor code 192..255
    node_address: str  # IPv4 or IPv6, as text
    lost_cdr_indicator: int = 0  # the raw octet; 0 = no CDR lost
    routing_filter: bytes = b""
    private_extension: bytes = b""


@dataclass(frozen=True)
class FileFrame:
    """A decoded file header with the two lengths as the file declares them."""

    file_length: int
    header_length: int
    header: FileHeader


@dataclass(frozen=True)
class CdrHeader:
    """The content of a CDR header (the CDR length is computed when encoding)."""

    release: int
    version: int
    ts_number: int  # TsNumber code
    data_record_format: int = DATA_RECORD_FORMAT_BER


@dataclass(frozen=True)
class CdrFrame:
    """One CDR as found in a file: where its header starts, the header and the payload."""

    offset: int
    header: CdrHeader
    payload: bytes


def _encode_release(release: int, version: int) -> tuple[int, bytes]:
    """The release/version octet and the extension octet (empty when not needed)."""
    if not 0 <= version <= 31:
        raise ValueError(f"version identifier {version} does not fit 5 bits")
    if release == 99:
        identifier, extension = 0, b""
    elif 4 <= release <= 9:
        identifier, extension = release - 3, b""
    elif 10 <= release <= 265:
        identifier, extension = _RELEASE_EXTENDED, bytes([release - 10])
    else:
        raise ValueError(f"release {release} cannot be written in a TS 32.297 header")
    return identifier << 5 | version, extension


def _decode_release(identifier: int, extension: int | None) -> int:
    if identifier == 0:
        return 99
    if identifier == _RELEASE_EXTENDED:
        assert extension is not None
        return 10 + extension
    return identifier + 3


def _encode_node_address(address: str) -> bytes:
    # IPv4 as an IPv4-mapped IPv6 address right-aligned in the 20 octets (14 x 00, FF FF,
    # the 4 address octets); IPv6 in the last 16 octets behind 4 x FF.
    ip = ipaddress.ip_address(address)
    if ip.version == 4:
        return bytes(14) + b"\xff\xff" + ip.packed
    return b"\xff" * 4 + ip.packed


def _decode_node_address(data: bytes) -> str:
    # Readers disagree on the 4 leading octets; the last 16 always hold the IPv6 form.
    ip = ipaddress.IPv6Address(data[4:])
    return str(ip.ipv4_mapped) if ip.ipv4_mapped is not None else str(ip)


def encode_cdr_header(header: CdrHeader, cdr_length: int) -> bytes:
    """The octets of a CDR header in front of a CDR of ``cdr_length`` octets."""
    if not 0 <= cdr_length <= 0xFFFF:
        raise ValueError(f"CDR of {cdr_length} octets does not fit a TS 32.297 CDR header")
    if not (0 <= header.ts_number <= 31 and 0 <= header.data_record_format <= 7):
        raise ValueError(f"invalid CDR header {header}")
    release_octet, extension = _encode_release(header.release, header.version)
    format_octet = header.data_record_format << 5 | header.ts_number
    return struct.pack(">HBB", cdr_length, release_octet, format_octet) + extension


def encode_file(header: FileHeader, cdrs: Sequence[tuple[CdrHeader, bytes]]) -> bytes:
    """A whole CDR file: the file header, then each (CDR header, CDR) pair in order."""
    high_octet, high_extension = _encode_release(header.high_release, header.high_version)
    low_octet, low_extension = _encode_release(header.low_release, header.low_version)
    body = b"".join(encode_cdr_header(cdr_header, len(cdr)) + cdr for cdr_header, cdr in cdrs)
    header_length = (
        FILE_HEADER_FIXED_LENGTH
        + len(header.routing_filter)
        + len(header.private_extension)
        + len(high_extension)
        + len(low_extension)
    )
    parts = [
        struct.pack(">IIBB", header_length + len(body), header_length, high_octet, low_octet),
        header.opened.encode(),
        header.last_appended.encode(),
        struct.pack(">IIB", header.cdr_count, header.file_sequence_number, header.closure_reason),
        _encode_node_address(header.node_address),
        struct.pack(">BH", header.lost_cdr_indicator, len(header.routing_filter)),
        header.routing_filter,
        struct.pack(">H", len(header.private_extension)),
        header.private_extension,
        high_extension,
        low_extension,
        body,
    ]
    return b"".join(parts)


def decode_file_header(data: bytes) -> FileFrame:
    """Read the file header at the start of ``data``.

    Only the header's own consistency is checked (its parts fit its declared length, which
    fits the data); a file length that disagrees with the data is reported, not refused, so
    the CDRs of a truncated file can still be read.
    """
    if len(data) < FILE_HEADER_FIXED_LENGTH:
        raise Ts32297Error(f"{len(data)} octets cannot hold a TS 32.297 file header")
    file_length, header_length, high_octet, low_octet = struct.unpack_from(">IIBB", data, 0)
    if not FILE_HEADER_FIXED_LENGTH <= header_length <= len(data):
        raise Ts32297Error(f"header length {header_length} outside 52..{len(data)}")
    opened = HeaderTimestamp.decode(data[10:14])
    last_appended = HeaderTimestamp.decode(data[14:18])
    cdr_count, sequence, closure_reason = struct.unpack_from(">IIB", data, 18)
    node_address = _decode_node_address(data[27:47])
    lost, filter_length = struct.unpack_from(">BH", data, 47)
    position = 50
    routing_filter = data[position : position + filter_length]
    position += filter_length
    if position + 2 > header_length:
        raise Ts32297Error("CDR routing filter runs past the header length")
    (extension_length,) = struct.unpack_from(">H", data, position)
    position += 2
    private_extension = data[position : position + extension_length]
    position += extension_length
    releases = []
    for octet in (high_octet, low_octet):
        extension = None
        if octet >> 5 == _RELEASE_EXTENDED:
            if position >= header_length:
                raise Ts32297Error("release identifier extension missing from the header")
            extension = data[position]
            position += 1
        releases.append(_decode_release(octet >> 5, extension))
    if position > header_length:
        raise Ts32297Error(f"header parts take {position} octets, header length {header_length}")
    header = FileHeader(
        high_release=releases[0],
        high_version=high_octet & 0x1F,
        low_release=releases[1],
        low_version=low_octet & 0x1F,
        opened=opened,
        last_appended=last_appended,
        cdr_count=cdr_count,
        file_sequence_number=sequence,
        closure_reason=closure_reason,
        node_address=node_address,
        lost_cdr_indicator=lost,
        routing_filter=routing_filter,
        private_extension=private_extension,
    )
    return FileFrame(file_length=file_length, header_length=header_length, header=header)


def iter_cdrs(data: bytes, start: int) -> Iterator[CdrFrame]:
    """Yield the CDRs from offset ``start`` to the end of ``data``.

    Raises TruncatedCdrError, after yielding every complete CDR before it, when a CDR header
    or a CDR's declared length runs past the end of the data.
    """
    # Slices of a memoryview share the file's buffer: slicing bytes here would copy the
    # rest of the file for every CDR, quadratic in the file size.
    view = memoryview(data)
    offset = start
    while offset < len(data):
        remaining = view[offset:]
        if len(remaining) < CDR_HEADER_FIXED_LENGTH:
            raise TruncatedCdrError(
                f"{len(remaining)} octets left for a CDR header",
                offset=offset,
                remaining=bytes(remaining),
            )
        length, release_octet, format_octet = struct.unpack_from(">HBB", remaining, 0)
        header_size = CDR_HEADER_FIXED_LENGTH
        extension = None
        if release_octet >> 5 == _RELEASE_EXTENDED:
            if len(remaining) <= header_size:
                raise TruncatedCdrError(
                    "CDR header ends before its release extension",
                    offset=offset,
                    remaining=bytes(remaining),
                )
            extension = remaining[header_size]
            header_size += 1
        if header_size + length > len(remaining):
            raise TruncatedCdrError(
                f"CDR declares {length} octets, {len(remaining) - header_size} left",
                offset=offset,
                remaining=bytes(remaining),
            )
        header = CdrHeader(
            release=_decode_release(release_octet >> 5, extension),
            version=release_octet & 0x1F,
            ts_number=format_octet & 0x1F,
            data_record_format=format_octet >> 5,
        )
        yield CdrFrame(offset, header, bytes(remaining[header_size : header_size + length]))
        offset += header_size + length
