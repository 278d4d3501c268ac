"""Deliveries no parser should read: compressed files, and text in another encoding.

No feed takes compressed files: a switch or collector that gzips its files (TS 32.297
allows it) must have them decompressed before they land. Parsed as they are, their bytes
would come out as a handful of junk "records" whose count says nothing about the calls
inside, and a truncated one the same. The text feeds are UTF-8 (ASCII in practice); a
file exported as UTF-16 or UTF-32 would split into lines of NUL-padded characters, again
counted as records it does not hold. Both are refused whole here, before parsing: the file
is ``unreadable`` with one ``unreadable_file`` reject (record_number 0) saying what it is
and what to do, and records_in 0, so the file's records are reported missing rather than
miscounted. A stray Latin-1 byte in an otherwise UTF-8 file is the parsers' business: its
record alone is rejected (``invalid_encoding``) and can be fixed and replayed.
"""

from __future__ import annotations

from pipelines.schema import Feed

#: Leading octets of the compressed formats a file transfer may deliver.
COMPRESSION_MAGIC: dict[bytes, str] = {
    b"\x1f\x8b": "gzip",
    b"\x1f\x9d": "compress (.Z)",
    b"BZh": "bzip2",
    b"\xfd7zXZ\x00": "xz",
    b"\x28\xb5\x2f\xfd": "zstd",
    b"PK\x03\x04": "zip",
}

#: Byte-order marks of the encodings a text feed does not take.
WIDE_BOMS: dict[bytes, str] = {
    b"\xff\xfe\x00\x00": "UTF-32LE",
    b"\x00\x00\xfe\xff": "UTF-32BE",
    b"\xff\xfe": "UTF-16LE",
    b"\xfe\xff": "UTF-16BE",
}

TEXT_FEEDS = frozenset(
    {
        Feed.ASTERISK_CDR_CSV,
        Feed.FREESWITCH_CDR_CSV,
        Feed.CISCO_CUCM_CDR,
        Feed.OPENSIPS_FLATSTORE,
    }
)

# A line of UTF-16 text without a byte-order mark has a NUL beside every ASCII character.
_SNIFF_BYTES = 64
_WIDE_NUL_SHARE = 0.25


def refused_delivery(feed: str, data: bytes) -> str | None:
    """Why ``feed`` cannot read this file at all (the reject's detail), or None."""
    for magic, name in COMPRESSION_MAGIC.items():
        if data.startswith(magic) and not _is_ts32297_file(feed, data):
            return (
                f"a {name}-compressed file: {feed} takes uncompressed files; decompress it "
                "and land it again (it was not read)"
            )
    if feed in TEXT_FEEDS:
        encoding = next((name for bom, name in WIDE_BOMS.items() if data.startswith(bom)), None)
        head = data[:_SNIFF_BYTES]
        if encoding is None and head and head.count(0) >= _WIDE_NUL_SHARE * len(head):
            encoding = "UTF-16 or UTF-32 (NUL bytes between the characters)"
        if encoding is not None:
            return (
                f"text encoded as {encoding}: {feed} files are UTF-8; export or convert it "
                "as UTF-8 and land it again (it was not read)"
            )
    return None


def _is_ts32297_file(feed: str, data: bytes) -> bool:
    """A TS 32.297 file opens with its own length (4 octets): a BER file whose first
    octets look like a compression magic but give its exact size is a real CDR file."""
    return feed == Feed.TS32298_BER and int.from_bytes(data[:4], "big") == len(data)
