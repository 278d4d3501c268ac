"""Parser of GSMA TAP 3.12 roaming files (TD.57), with the TD.32 audit check and RAP returns.

A visited network (VPMN) sends our network (HPMN) a TAP file of what our subscribers did
abroad: a ``DataInterChange`` that is either a ``TransferBatch`` (call events plus
``AuditControlInfo`` totals) or a ``Notification`` (no traffic in the period). The bytes are
decoded with pycrate's compiled TAP 3.12 module (``pycrate_asn1dir.TAP3.TAP_0312``); RAP
files are encoded with its RAP 1.05 module (``RAP_0105``).

``parse_file`` yields, for a transfer batch whose audit reconciles, one item per call event
(record_number = 1-based position in ``callEventDetails``): a ParsedRecord for
mobileOriginatedCall / mobileTerminatedCall / gprsCall, a RejectedRecord for the rest. A batch
whose audit does not reconcile is returned whole (TD.32: a fatal error): one AUDIT_MISMATCH
reject per event, nothing accepted. A Notification yields nothing (mediation registers the
file as ``empty``); a file that cannot be read as a TAP 3.12 DataInterChange (not BER,
trailing octets, a RAP, NRTRDE or other-release file, a fatal BatchControlInfo or
AccountingInfo error) yields one UNREADABLE_FILE reject with record_number 0.

``read_batch`` gives the batch-level facts (parties, sequence number, currency, exact
per-event charges, declared and computed audit totals) for roaming settlement, and
``build_rap`` the RAP file that returns a batch whose audit failed. docs/formats/tap3.md
documents every rule and its source.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from pycrate_asn1dir import TAP3
from pycrate_asn1rt.codecs import ASN1CodecBER
from pycrate_core.charpy import Charpy

from pipelines.formats.ber_structure import MAX_NESTING, ber_problem, nesting_depth
from pipelines.mediation.numbering import InvalidNumberError, normalise_number
from pipelines.mediation.records import PARSER_COLUMNS, FileContext, ParsedRecord, RejectedRecord
from pipelines.schema import RejectReason

_TAP = TAP3.TAP_0312
_RAP = TAP3.RAP_0105

_APPLICATION = 1  # BER tag class of every TAP, RAP and NRTRDE item
_TRANSFER_BATCH_TAG = 1  # also the tag of an NRTRDE file's outer Nrtrde SEQUENCE
_NOTIFICATION_TAG = 2
_CALL_EVENT_DETAIL_LIST_TAG = 3
_NRTRDE_SPECIFICATION_VERSION_TAG = 41  # first item of an NRTRDE file (TD.35)
_RAP_RETURN_BATCH_TAG = 534
_RAP_ACKNOWLEDGEMENT_TAG = 535

TAP_VERSION = (3, 12)  # specificationVersionNumber, releaseVersionNumber
RAP_VERSION = (1, 5)  # rapSpecificationVersionNumber, rapReleaseVersionNumber of RAP_0105

#: Money in the lake is integer millionths of the currency unit.
MICROS_DECIMAL_PLACES = 6
#: ISO 4217 code of the IMF Special Drawing Right, TAP's currency when tapCurrency is absent.
SDR = "XDR"
#: ChargeType of the total charge of a ChargeInformation (TD.57); other types are its parts.
TOTAL_CHARGE_TYPE = b"00"

#: TD.32 error code "value does not match the calculated sum/count" of every
#: AuditControlInfo total (docs/formats/tap3.md gives the source).
RAP_AUDIT_MISMATCH_ERROR_CODE = 100
#: APPLICATION tags TD.32 error contexts name (TD.57 ASN.1).
_RAP_PATH_ITEM = {
    "transferBatch": 1,
    "auditControlInfo": 15,
    "callEventDetailsCount": 43,
    "totalCharge": 415,
    "totalTaxValue": 226,
    "totalDiscountValue": 225,
}

#: Mapped CallEventDetail alternatives -> (service, direction); SMS are MO/MT calls whose
#: basic service is an SMS teleservice.
_CALL_EVENTS = {
    "mobileOriginatedCall": ("outbound", "_mo"),
    "mobileTerminatedCall": ("inbound", "_mt"),
}
#: TD.57 TeleServiceCode group 2x: short message services (20 all, 21 MT, 22 MO).
_SMS_TELESERVICE_PREFIX = b"2"
#: Lake's release_cause when TAP has no causeForTerm: TD.57 writes it only when the event
#: did not end normally.
NORMAL_RELEASE = "normal"
# A short code stays as dialled in the lake; TAP sends the visited country's short codes
# (emergency, voicemail) without a country code.
_MAX_SHORT_CODE_DIGITS = 6

_LOCAL_TIME = re.compile(rb"[0-9]{14}")
_UTC_OFFSET = re.compile(rb"([+-])([0-9]{2})([0-9]{2})")
_MAX_OFFSET_HOURS = 14  # UTC+14 (Kiribati) is the widest offset in use
_MAX_BYTES = 2**63 - 1  # the lake's BIGINT volume columns


class TapFileError(ValueError):
    """A file that is not a readable TAP 3.12 transfer batch (parse_file: UNREADABLE_FILE)."""


class _NotificationFile(Exception):
    """A valid TAP Notification: the sender had no traffic to report."""


class _RecordError(Exception):
    """A call event that cannot become a canonical row."""

    def __init__(self, reason: RejectReason, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True)
class TapEvent:
    """The money of one call event, in micro-units of the batch's TAP currency."""

    record_number: int  # 1-based position in callEventDetails
    kind: str  # the CallEventDetail alternative, e.g. "gprsCall"
    charge_micros: int  # chargeType '00' charges + CAMEL invocation fees, refunds excluded
    tax_micros: int  # taxValue of every TaxInformation
    discount_micros: int  # discount of every DiscountInformation


@dataclass(frozen=True)
class AuditTotals:
    """AuditControlInfo totals; money in micro-units, None where the file omits the item."""

    call_event_details_count: int | None
    total_charge_micros: int | None
    total_tax_value_micros: int | None
    total_discount_value_micros: int | None


@dataclass(frozen=True)
class TapBatch:
    """What roaming settlement needs from one TAP transfer batch."""

    sender: str  # TADIG code of the visited network that sent the file
    recipient: str  # TADIG code of the home network (us)
    file_sequence_number: str  # 5 digits, as written (leading zeros are significant)
    file_creation_at: datetime  # UTC
    file_available_at: datetime  # UTC
    transfer_cut_off_at: datetime  # UTC
    local_currency: str  # the sender's currency (exchange rates convert TAP -> local)
    tap_currency: str  # the currency of every charge: tapCurrency, or SDR ("XDR")
    tap_decimal_places: int
    events: tuple[TapEvent, ...]
    declared: AuditTotals
    # AuditControlInfo as decoded: a RAP returns the group as received.
    audit_control_info: Mapping[str, Any] = field(repr=False)

    @property
    def computed(self) -> AuditTotals:
        """The audit totals recomputed from the call events (TD.32 validation 100)."""
        return AuditTotals(
            call_event_details_count=len(self.events),
            total_charge_micros=sum(e.charge_micros for e in self.events),
            total_tax_value_micros=sum(e.tax_micros for e in self.events),
            total_discount_value_micros=sum(e.discount_micros for e in self.events),
        )

    def audit_mismatches(self) -> list[tuple[str, int | None, int]]:
        """(AuditControlInfo item, declared, computed) of every total that does not match;
        empty when the batch reconciles. Money in micro-units; a missing mandatory total is
        declared None."""
        declared, computed = self.declared, self.computed
        items = (
            ("callEventDetailsCount", "call_event_details_count"),
            ("totalCharge", "total_charge_micros"),
            ("totalTaxValue", "total_tax_value_micros"),
            ("totalDiscountValue", "total_discount_value_micros"),
        )
        mismatches = []
        for item, attribute in items:
            stated, found = getattr(declared, attribute), getattr(computed, attribute)
            if stated != found:
                mismatches.append((item, stated, found))
        return mismatches

    def to_tap_units(self, micros: int) -> int:
        """A micro-unit amount back in the file's integer TAP units (exact: micros came
        from TAP units)."""
        return micros // 10 ** (MICROS_DECIMAL_PLACES - self.tap_decimal_places)


@dataclass(frozen=True)
class _Decoded:
    batch: TapBatch
    events: list[tuple[str, dict[str, Any]]]  # (alternative, value) in file order
    raw_events: list[bytes]  # each event's BER bytes as read
    utc_offsets: dict[int, timedelta | None]  # utcTimeOffsetCode -> offset; None: ambiguous


def read_batch(data: bytes) -> TapBatch:
    """The batch-level facts of a TAP 3.12 transfer batch.

    Raises TapFileError naming why when the bytes are not one (a Notification, RAP or NRTRDE
    file, another TAP release, BER errors, a fatal header error).
    """
    try:
        return _decode(data).batch
    except _NotificationFile as notification:
        raise TapFileError(str(notification)) from notification


def parse_file(data: bytes, context: FileContext) -> Iterator[ParsedRecord | RejectedRecord]:
    """Parse a TAP file into canonical usage records and rejects (see module doc).

    Never raises on any input. ``context`` is unused: TAP times carry their UTC offsets.
    """
    if not data:
        yield RejectedRecord(0, RejectReason.EMPTY_FILE, "file has 0 bytes", "")
        return
    try:
        decoded = _decode(data)
    except _NotificationFile:
        return
    except TapFileError as error:
        yield RejectedRecord(0, RejectReason.UNREADABLE_FILE, str(error), data[:64].hex())
        return
    mismatches = decoded.batch.audit_mismatches()
    if mismatches:
        detail = _audit_detail(decoded.batch, mismatches)
        for number, raw in enumerate(decoded.raw_events, start=1):
            yield RejectedRecord(number, RejectReason.AUDIT_MISMATCH, detail, raw.hex())
        return
    yield from _map_events(decoded)


def decode_events(data: bytes) -> Iterator[ParsedRecord | RejectedRecord]:
    """Every call event of a transfer batch mapped to a canonical row or a reject, without
    the audit check parse_file applies first (for inspecting files whose audit fails).

    Raises TapFileError as read_batch does.
    """
    try:
        decoded = _decode(data)
    except _NotificationFile as notification:
        raise TapFileError(str(notification)) from notification
    yield from _map_events(decoded)


def _map_events(decoded: _Decoded) -> Iterator[ParsedRecord | RejectedRecord]:
    batch = decoded.batch
    for number, ((alternative, event), raw) in enumerate(
        zip(decoded.events, decoded.raw_events, strict=True), start=1
    ):
        try:
            values = _canonical(alternative, event, decoded.utc_offsets)
        except _RecordError as error:
            yield RejectedRecord(number, error.reason, error.detail, raw.hex())
            continue
        values["record_key"] = (
            f"{batch.sender}:{batch.recipient}:{batch.file_sequence_number}:{number}"
        )
        yield ParsedRecord(number, values)


def _audit_detail(batch: TapBatch, mismatches: list[tuple[str, int | None, int]]) -> str:
    parts = []
    for item, declared, computed in mismatches:
        if item == "callEventDetailsCount":
            parts.append(f"{item} declared {declared}, call events found {computed}")
        else:
            stated = "absent" if declared is None else str(batch.to_tap_units(declared))
            parts.append(
                f"{item} declared {stated}, computed {batch.to_tap_units(computed)} "
                f"(TAP units, {batch.tap_decimal_places} decimal places, {batch.tap_currency})"
            )
    return (
        f"AuditControlInfo does not reconcile: {'; '.join(parts)}; "
        "the whole file is returned (TD.32 fatal error)"
    )


# --- decoding -------------------------------------------------------------------------


def _decode(data: bytes) -> _Decoded:
    outer = _outer_tlv(data)
    tag_class, tag = outer[0], outer[2]
    if tag_class != _APPLICATION:
        raise TapFileError(f"not a TAP DataInterChange: outer tag class {tag_class}")
    if tag == _RAP_RETURN_BATCH_TAG:
        raise TapFileError("a RAP file (ReturnBatch), not TAP: RAP returns TAP files to us")
    if tag == _RAP_ACKNOWLEDGEMENT_TAG:
        raise TapFileError("a RAP acknowledgement file, not TAP")
    if tag == _TRANSFER_BATCH_TAG:
        children = outer[4] if isinstance(outer[4], list) else []
        if children and children[0][0:3:2] == [_APPLICATION, _NRTRDE_SPECIFICATION_VERSION_TAG]:
            raise TapFileError("an NRTRDE file (TD.35 near-real-time roaming data), not TAP")
    elif tag != _NOTIFICATION_TAG:
        raise TapFileError(f"not a TAP DataInterChange: outer tag [APPLICATION {tag}]")
    interchange = _TAP.DataInterChange
    # pycrate raises many exception types on bad input (codec errors, charpy overflows,
    # index and value errors); each one means "not a readable file".
    try:
        interchange.from_ber(data)
        kind, value = interchange.get_val()
    except Exception as error:
        raise TapFileError(f"TAP 3.12 DataInterChange does not decode: {error}") from error
    unknown = _unknown_item(value, kind)
    if unknown is not None:
        raise TapFileError(f"{unknown} is not a TAP 3.12 item")
    if kind == "notification":
        raise _NotificationFile(
            f"a TAP Notification (no call events) from {_text(value.get('sender'))} "
            f"to {_text(value.get('recipient'))}, sequence {_text(value.get('fileSequenceNumber'))}"
        )
    return _transfer_batch(value, _event_bytes(data, outer))


def _outer_tlv(data: bytes) -> list[Any]:
    """pycrate's tag-length-value tree of the file's one outer item; refuses trailing
    octets (a padded or concatenated file is not one DataInterChange), and what pycrate
    would read leniently or not at all (pipelines/formats/ber_structure.py): nesting deeper
    than any TAP or RAP file, an element running past its parent."""
    depth = nesting_depth(data)
    if depth > MAX_NESTING:  # checked first: pycrate reads the tree recursively
        raise TapFileError(f"BER nested {depth} levels deep, over {MAX_NESTING}")
    char = Charpy(data)
    try:
        tlv = ASN1CodecBER.decode_single(char)[0]
    except Exception as error:  # pycrate raises assorted errors on bytes that are not BER
        raise TapFileError(f"not BER: {error}") from error
    left = char.len_byte()
    if left:
        raise TapFileError(f"{left} octet(s) after the DataInterChange: {data[-left:][:16].hex()}")
    problem = ber_problem(data)
    if problem is not None:
        raise TapFileError(f"not well-formed BER: {problem}")
    return list(tlv)


def _event_bytes(data: bytes, outer: list[Any]) -> list[bytes]:
    """Each call event's BER bytes as read. pycrate's TLV tree gives where each item's
    content starts, so the events are walked in order from the list's content start, each
    running to where decoding it stops (definite or indefinite lengths alike)."""
    for child in outer[4]:
        if child[0] == _APPLICATION and child[2] == _CALL_EVENT_DETAIL_LIST_TAG:
            events = []
            position = child[5]  # bit offset of the list's first content octet
            for _ in child[4]:
                char = Charpy(data)
                char._cur = position
                ASN1CodecBER.decode_single(char)
                events.append(data[position // 8 : char._cur // 8])
                position = char._cur
            return events
    return []


def _unknown_item(value: Any, path: str) -> str | None:
    """The path of the first item pycrate kept as an unknown extension, if any: TAP 3.12
    has no extension markers, so such an item means another format or release."""
    if isinstance(value, dict):
        for key, item in value.items():
            if key.startswith("_ext_"):
                return f"{path}.{key}"
            found = _unknown_item(item, f"{path}.{key}")
            if found is not None:
                return found
    elif isinstance(value, tuple) and len(value) == 2 and isinstance(value[0], str):
        if value[0].startswith("_ext_"):
            return f"{path}.{value[0]}"
        return _unknown_item(value[1], f"{path}.{value[0]}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found = _unknown_item(item, f"{path}[{index}]")
            if found is not None:
                return found
    return None


def _text(octets: Any) -> str:
    if not isinstance(octets, bytes):
        return "?"
    return octets.decode("ascii", "replace")


def _transfer_batch(value: dict[str, Any], raw_events: list[bytes]) -> _Decoded:
    control = value.get("batchControlInfo")
    accounting = value.get("accountingInfo")
    if control is None or accounting is None:
        raise TapFileError("TransferBatch lacks BatchControlInfo or AccountingInfo")
    version = (control.get("specificationVersionNumber"), control.get("releaseVersionNumber"))
    if version != TAP_VERSION:
        raise TapFileError(
            f"TAP {version[0]}.{version[1]}; this parser reads TAP 3.12 only "
            "(other releases differ in tags and items)"
        )
    places = accounting.get("tapDecimalPlaces")
    if places is None or not 0 <= places <= MICROS_DECIMAL_PLACES:
        raise TapFileError(
            f"tapDecimalPlaces {places}: charges need 0..6 decimal places to be held exactly "
            "in micro-units"
        )
    events = value.get("callEventDetails", [])
    if len(events) != len(raw_events):
        raise TapFileError("call event count differs between decoder passes")
    scale = 10 ** (MICROS_DECIMAL_PLACES - places)
    audit = value.get("auditControlInfo", {})

    def micros(amount: int | None) -> int | None:
        return None if amount is None else amount * scale

    batch = TapBatch(
        sender=_party(control, "sender"),
        recipient=_party(control, "recipient"),
        file_sequence_number=_sequence_number(control),
        file_creation_at=_batch_time(control, "fileCreationTimeStamp"),
        file_available_at=_batch_time(control, "fileAvailableTimeStamp"),
        transfer_cut_off_at=_batch_time(control, "transferCutOffTimeStamp"),
        local_currency=_currency(accounting.get("localCurrency"), "localCurrency"),
        tap_currency=(
            _currency(accounting["tapCurrency"], "tapCurrency")
            if "tapCurrency" in accounting
            else SDR
        ),
        tap_decimal_places=places,
        events=tuple(
            _event_money(number, kind, event, scale)
            for number, (kind, event) in enumerate(events, start=1)
        ),
        declared=AuditTotals(
            call_event_details_count=audit.get("callEventDetailsCount"),
            total_charge_micros=micros(audit.get("totalCharge")),
            total_tax_value_micros=micros(audit.get("totalTaxValue")),
            total_discount_value_micros=micros(audit.get("totalDiscountValue")),
        ),
        audit_control_info=audit,
    )
    return _Decoded(batch, events, raw_events, _utc_offsets(value.get("networkInfo", {})))


def _party(control: dict[str, Any], item: str) -> str:
    code = control.get(item)
    # TADIG codes: 3-letter country + 2-character operator, e.g. "USAXX".
    if not isinstance(code, bytes) or not re.fullmatch(rb"[A-Z]{3}[A-Z0-9]{2}", code):
        raise TapFileError(f"BatchControlInfo {item} {code!r} is not a TADIG code")
    return code.decode("ascii")


def _sequence_number(control: dict[str, Any]) -> str:
    number = control.get("fileSequenceNumber")
    if not isinstance(number, bytes) or not re.fullmatch(rb"[0-9]{5}", number):
        raise TapFileError(f"fileSequenceNumber {number!r} is not 5 digits")
    return number.decode("ascii")


def _currency(code: Any, item: str) -> str:
    if not isinstance(code, bytes) or not re.fullmatch(rb"[A-Z]{3}", code):
        raise TapFileError(f"AccountingInfo {item} {code!r} is not an ISO 4217 code")
    return code.decode("ascii")


def _batch_time(control: dict[str, Any], item: str) -> datetime:
    stamp = control.get(item)
    if stamp is None:
        raise TapFileError(f"BatchControlInfo {item} is missing")
    try:
        return _utc(stamp.get("localTimeStamp"), _offset(stamp.get("utcTimeOffset")))
    except ValueError as error:
        raise TapFileError(f"BatchControlInfo {item}: {error}") from error


def _offset(text: Any) -> timedelta:
    match = _UTC_OFFSET.fullmatch(text) if isinstance(text, bytes) else None
    if match is None:
        raise ValueError(f"UTC offset {text!r} is not +hhmm / -hhmm")
    hours, minutes = int(match[2]), int(match[3])
    if hours > _MAX_OFFSET_HOURS or minutes >= 60:
        raise ValueError(f"UTC offset {text!r} is out of range")
    offset = timedelta(hours=hours, minutes=minutes)
    return -offset if match[1] == b"-" else offset


def _utc(local: Any, offset: timedelta) -> datetime:
    if not isinstance(local, bytes) or not _LOCAL_TIME.fullmatch(local):
        raise ValueError(f"local time stamp {local!r} is not YYYYMMDDhhmmss")
    naive = datetime.strptime(local.decode("ascii"), "%Y%m%d%H%M%S")
    try:
        return (naive - offset).replace(tzinfo=UTC)
    except OverflowError as error:  # year 1 minus a positive offset
        raise ValueError(f"local time stamp {local!r} is out of range in UTC") from error


def _utc_offsets(network: dict[str, Any]) -> dict[int, timedelta | None]:
    """NetworkInfo's utcTimeOffsetCode -> offset table; a code listed twice with different
    offsets, or with an unreadable offset, maps to None (events using it are refused)."""
    table: dict[int, timedelta | None] = {}
    for entry in network.get("utcTimeOffsetInfo", []):
        code = entry.get("utcTimeOffsetCode")
        if code is None:
            continue
        try:
            offset: timedelta | None = _offset(entry.get("utcTimeOffset"))
        except ValueError:
            offset = None
        table[code] = offset if table.get(code, offset) == offset else None
    return table


# --- money ---------------------------------------------------------------------------


def _event_money(number: int, kind: str, event: Any, scale: int) -> TapEvent:
    """TD.57 audit sums over one event, scaled exactly to micro-units.

    totalCharge: every ChargeDetail of charge type '00' (the total of its ChargeInformation;
    other types are its parts), every CAMEL invocation fee and a messaging event's charge.
    totalTaxValue: every taxValue. totalDiscountValue: every discount. A content service
    flagged as a refund counts in the refund totals instead, which are not reconciled.
    """
    charge, tax, discount = _amounts(event)
    return TapEvent(number, kind, charge * scale, tax * scale, discount * scale)


def _amounts(value: Any) -> tuple[int, int, int]:
    """(charge, tax, discount) in TAP units over a decoded value and everything in it."""
    if isinstance(value, tuple) and len(value) == 2 and isinstance(value[0], str):
        return _amounts(value[1])  # a CHOICE
    if isinstance(value, list):
        parts = [_amounts(item) for item in value]
    elif isinstance(value, dict) and "chargeRefundIndicator" not in value:
        charge = sum(
            detail.get("charge", 0)
            for detail in value.get("chargeDetailList", [])
            if detail.get("chargeType") == TOTAL_CHARGE_TYPE
        )
        charge += value.get("camelInvocationFee", 0)
        if "messagingEventService" in value:  # a MessagingEvent carries its charge itself
            charge += value.get("charge", 0)
        own = (charge, value.get("taxValue", 0), value.get("discount", 0))
        parts = [own] + [_amounts(item) for key, item in value.items() if key != "chargeDetailList"]
    else:
        return 0, 0, 0
    return sum(p[0] for p in parts), sum(p[1] for p in parts), sum(p[2] for p in parts)


# --- call events -> canonical rows ---------------------------------------------------


def _canonical(
    alternative: str, event: dict[str, Any], offsets: dict[int, timedelta | None]
) -> dict[str, Any]:
    values: dict[str, Any] = dict.fromkeys(PARSER_COLUMNS)
    values.update(uplink_bytes=0, downlink_bytes=0, data_volume_bytes=0, is_answered=True)
    if alternative == "gprsCall":
        _gprs_values(event, offsets, values)
    elif alternative in _CALL_EVENTS:
        _call_values(alternative, event, offsets, values)
    else:
        raise _RecordError(
            RejectReason.UNSUPPORTED_RECORD_TYPE,
            f"{alternative} is not usage telcolake rates (only MO/MT calls, SMS and GPRS)",
        )
    return values


def _required(record: dict[str, Any], item: str, where: str) -> Any:
    if item not in record:
        raise _RecordError(RejectReason.MISSING_FIELD, f"{where}.{item} is missing")
    return record[item]


def _bcd(octets: Any, item: str) -> str:
    """A TD.57 BCDString: two digits an octet, high nibble first, one 'F' filler when the
    digit count is odd (the XML dumps show IMSI 133713371337133 as 133713371337133F)."""
    nibbles = octets.hex() if isinstance(octets, bytes) else ""
    digits = nibbles[:-1] if nibbles.endswith("f") else nibbles
    if not digits.isdigit():
        raise _RecordError(RejectReason.INVALID_NUMBER, f"{item} {nibbles!r} is not BCD digits")
    return digits


def _subscriber(chargeable: Any, values: dict[str, Any], where: str) -> None:
    kind, subscriber = chargeable
    if kind != "simChargeableSubscriber":
        raise _RecordError(
            RejectReason.UNSUPPORTED_RECORD_TYPE,
            f"{where} is a {kind} (CDMA MIN/MDN): no IMSI to bill",
        )
    values["served_imsi"] = _bcd(_required(subscriber, "imsi", where), "imsi")
    if "msisdn" in subscriber:
        values["served_msisdn"] = _e164(_bcd(subscriber["msisdn"], "msisdn"), "msisdn")


def _e164(digits: str, item: str) -> str:
    """International-format digits (TD.57 MSISDN and AddressStringDigits) in the lake's
    form; up to 6 digits that are not a number there stay as dialled (short codes)."""
    try:
        return normalise_number(f"+{digits}")
    except InvalidNumberError as error:
        if len(digits) <= _MAX_SHORT_CODE_DIGITS:
            return digits
        raise _RecordError(RejectReason.INVALID_NUMBER, f"{item}: {error}") from error


def _equipment(event: dict[str, Any], values: dict[str, Any]) -> None:
    if "equipmentIdentifier" not in event:
        return
    kind, identifier = event["equipmentIdentifier"]
    if kind == "imei":  # an ESN (CDMA) is not an IMEI
        values["served_imei"] = _bcd(identifier, "imei")


def _start(stamp: Any, offsets: dict[int, timedelta | None], where: str) -> datetime:
    code = stamp.get("utcTimeOffsetCode")
    if code not in offsets:
        raise _RecordError(
            RejectReason.INVALID_TIMESTAMP,
            f"{where}.utcTimeOffsetCode {code} is not in NetworkInfo's UtcTimeOffsetInfo",
        )
    offset = offsets[code]
    if offset is None:
        raise _RecordError(
            RejectReason.INVALID_TIMESTAMP,
            f"{where}.utcTimeOffsetCode {code} has no single valid offset in NetworkInfo",
        )
    try:
        return _utc(stamp.get("localTimeStamp"), offset)
    except ValueError as error:
        raise _RecordError(RejectReason.INVALID_TIMESTAMP, f"{where}: {error}") from error


def _duration(basic: dict[str, Any], started: datetime, where: str) -> tuple[int, datetime]:
    """(totalCallEventDuration, the event's end)."""
    seconds = int(_required(basic, "totalCallEventDuration", where))
    try:
        if seconds < 0:
            raise ValueError("is negative")
        return seconds, started + timedelta(seconds=seconds)
    except (ValueError, OverflowError) as error:  # overflow: ends after year 9999
        raise _RecordError(
            RejectReason.INVALID_DURATION,
            f"{where}.totalCallEventDuration {seconds}: {error}",
        ) from error


def _cause(basic: dict[str, Any]) -> str:
    return str(basic["causeForTerm"]) if "causeForTerm" in basic else NORMAL_RELEASE


def _cell(network_location: dict[str, Any]) -> str | None:
    if "locationArea" in network_location and "cellId" in network_location:
        return f"{network_location['locationArea']}-{network_location['cellId']}"
    return None


def _is_sms(event: dict[str, Any]) -> bool:
    for used in event.get("basicServiceUsedList", []):
        kind, code = used.get("basicService", {}).get("serviceCode", ("", b""))
        if kind == "teleServiceCode" and code.startswith(_SMS_TELESERVICE_PREFIX):
            return True
    return False


def _call_values(
    alternative: str,
    event: dict[str, Any],
    offsets: dict[int, timedelta | None],
    values: dict[str, Any],
) -> None:
    direction, suffix = _CALL_EVENTS[alternative]
    where = f"{alternative}.basicCallInformation"
    basic = _required(event, "basicCallInformation", alternative)
    _subscriber(_required(basic, "chargeableSubscriber", where), values, where)
    _equipment(event, values)
    started = _start(_required(basic, "callEventStartTimeStamp", where), offsets, where)
    duration, ended = _duration(basic, started, where)
    sms = _is_sms(event)
    if alternative == "mobileOriginatedCall":
        party = basic.get("destination", {})
        number, text = party.get("calledNumber"), party.get("sMSDestinationNumber")
    else:
        party = basic.get("callOriginator", {})
        number, text = party.get("callingNumber"), party.get("sMSOriginator")
    if number is not None:
        other: str | None = _e164(_bcd(number, "party number"), "party number")
    elif sms and text is not None:
        other = _e164(_ascii_digits(text), "SMS party")
    else:
        other = None  # TAP omits it, e.g. withheld CLI: rating's concern, not mediation's
    location = event.get("locationInformation", {}).get("networkLocation", {})
    values.update(
        record_type=("sms" if sms else "voice") + suffix,
        service="sms" if sms else "voice",
        direction=direction,
        other_party_number=other,
        started_at=started,
        # TAP reports chargeable events: the start stamp is the answer (charging) time.
        answered_at=None if sms else started,
        ended_at=started if sms else ended,
        duration_seconds=0 if sms else duration,
        release_cause=_cause(basic),
        cell_id=_cell(location),
    )


def _ascii_digits(text: bytes) -> str:
    digits = text.decode("ascii", "replace").removeprefix("+")
    if not digits.isdigit():
        raise _RecordError(RejectReason.INVALID_NUMBER, f"SMS party {text!r} is not digits")
    return digits


def _gprs_values(
    event: dict[str, Any], offsets: dict[int, timedelta | None], values: dict[str, Any]
) -> None:
    where = "gprsCall.gprsBasicCallInformation"
    basic = _required(event, "gprsBasicCallInformation", "gprsCall")
    chargeable = _required(basic, "gprsChargeableSubscriber", where)
    _subscriber(
        _required(chargeable, "chargeableSubscriber", f"{where}.gprsChargeableSubscriber"),
        values,
        where,
    )
    _equipment(event, values)
    started = _start(_required(basic, "callEventStartTimeStamp", where), offsets, where)
    duration, ended = _duration(basic, started, where)
    used = _required(event, "gprsServiceUsed", "gprsCall")
    # Incoming = received by the mobile (downlink), outgoing = sent by it (uplink).
    downlink = int(used.get("dataVolumeIncoming", 0))
    uplink = int(used.get("dataVolumeOutgoing", 0))
    if not (0 <= downlink <= _MAX_BYTES and 0 <= uplink <= _MAX_BYTES - downlink):
        raise _RecordError(
            RejectReason.INVALID_VOLUME,
            f"gprsServiceUsed data volume incoming {downlink} / outgoing {uplink}: "
            "TD.57 volumes are >= 0, and the lake holds their sum in a BIGINT",
        )
    location = event.get("gprsLocationInformation", {}).get("gprsNetworkLocation", {})
    values.update(
        record_type="data",
        service="data",
        direction="none",
        started_at=started,
        ended_at=ended,
        duration_seconds=duration,
        uplink_bytes=uplink,
        downlink_bytes=downlink,
        data_volume_bytes=uplink + downlink,
        release_cause=_cause(basic),
        cell_id=_cell(location),
    )


# --- RAP -----------------------------------------------------------------------------


def build_rap(
    batch: TapBatch,
    reason: str,
    *,
    rap_file_sequence_number: int,
    created_at: datetime,
) -> bytes:
    """A RAP 1.5 ReturnBatch (TD.32) returning the whole of ``batch`` for its audit errors.

    One FatalReturn with an AuditControlInfoError: the AuditControlInfo as received and one
    ErrorDetail (error code 100, context TransferBatch > AuditControlInfo > item) per total
    that does not reconcile. ``reason`` travels as operator-specific text. The RAP goes from
    the batch's recipient (us) back to its sender; ``rap_file_sequence_number`` (1..99999)
    is ours to keep per partner, ``created_at`` (timezone-aware) stamps the file in that
    zone's local time. Raises ValueError when the batch reconciles (nothing to return).
    """
    mismatches = batch.audit_mismatches()
    if not mismatches:
        raise ValueError("the batch's audit reconciles: a fatal return needs an audit error")
    if created_at.utcoffset() is None:
        raise ValueError("created_at must be timezone-aware")
    if not 1 <= rap_file_sequence_number <= 99999:
        raise ValueError(f"RAP file sequence number {rap_file_sequence_number} not in 1..99999")
    stamp = _date_time_long(created_at)
    errors = [
        {
            "errorContext": _error_context("transferBatch", "auditControlInfo", item),
            "errorCode": RAP_AUDIT_MISMATCH_ERROR_CODE,
        }
        for item, _, _ in mismatches
    ]
    fatal = {
        "fileSequenceNumber": batch.file_sequence_number.encode("ascii"),
        "auditControlInfoError": {
            "auditControlInfo": dict(batch.audit_control_info),
            "errorDetail": errors,
        },
        "operatorSpecList": [reason.encode("utf-8")],
    }
    return_batch = {
        "rapBatchControlInfoRap": {
            "sender": batch.recipient.encode("ascii"),
            "recipient": batch.sender.encode("ascii"),
            "rapFileSequenceNumber": f"{rap_file_sequence_number:05d}".encode("ascii"),
            "rapFileCreationTimeStamp": stamp,
            "rapFileAvailableTimeStamp": stamp,
            "specificationVersionNumber": TAP_VERSION[0],
            "releaseVersionNumber": TAP_VERSION[1],
            "rapSpecificationVersionNumber": RAP_VERSION[0],
            "rapReleaseVersionNumber": RAP_VERSION[1],
        },
        "returnDetails": [("fatalReturn", fatal)],
        # No severe (per-event) returns: the fatal return covers the whole file.
        "rapAuditControlInfo": {"totalSevereReturnValue": 0, "returnDetailsCount": 1},
    }
    interchange = _RAP.RapDataInterChange
    interchange.set_val(("returnBatch", return_batch))
    return bytes(interchange.to_ber())


def read_rap(data: bytes) -> tuple[str, dict[str, Any]]:
    """(alternative, value) of a RAP 1.5 RapDataInterChange (ReturnBatch or Acknowledgement).

    Raises TapFileError when the bytes do not decode as one, or octets follow it.
    """
    _outer_tlv(data)
    interchange = _RAP.RapDataInterChange
    try:
        interchange.from_ber(data)
        kind, value = interchange.get_val()
    except Exception as error:  # pycrate raises assorted errors on bad input
        raise TapFileError(f"RAP RapDataInterChange does not decode: {error}") from error
    # The alternative itself may be an unknown extension, not only an item inside it.
    unknown = _unknown_item((kind, value), "RapDataInterChange")
    if unknown is not None:
        raise TapFileError(f"{unknown} is not a RAP 1.5 item")
    return str(kind), value


def _error_context(*path: str) -> list[dict[str, int]]:
    """TD.32 ErrorContext from TransferBatch (level 1) down to the item in error; each item
    occurs once in a batch."""
    return [
        {"pathItemId": _RAP_PATH_ITEM[item], "itemOccurrence": 1, "itemLevel": level}
        for level, item in enumerate(path, start=1)
    ]


def _date_time_long(at: datetime) -> dict[str, bytes]:
    offset = at.utcoffset()
    assert offset is not None
    minutes = int(offset.total_seconds()) // 60
    sign = "-" if minutes < 0 else "+"
    hours, rest = divmod(abs(minutes), 60)
    return {
        "localTimeStamp": at.strftime("%Y%m%d%H%M%S").encode("ascii"),
        "utcTimeOffset": f"{sign}{hours:02d}{rest:02d}".encode("ascii"),
    }
