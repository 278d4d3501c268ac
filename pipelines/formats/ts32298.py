"""3GPP TS 32.298 charging records (BER) for the mobile switch, and the CDR files they ship in.

The ASN.1 types are pycrate's compilation of the TS 32.298 modules (``pycrate_asn1dir.CDR``).
pycrate has no single ``CallEventRecord`` type; its ``CSRecord`` (MSC records) and
``GPRSRecord`` (packet-core records) CHOICEs carry the same context tags as the
CallEventRecord alternatives ([0] moCallRecord, [1] mtCallRecord, [6] moSMSRecord,
[7] mtSMSRecord, [79] pGWRecord), so encoding through them writes CallEventRecord bytes.

The octet-string fields use the spec's encodings, through pycrate's TS 24.008 / 29.002 /
23.040 / 29.274 codecs: TBCD for IMSI and IMEI, AddressString for MSISDN, recording entity
and service centre, BCDDirectoryNumber for called and calling numbers, the TS 23.040
address field for an SMS destination, PLMN-Id for MCC-MNC, the TS 29.274 ULI for the PGW
user location, and the 9-octet TimeStamp (BCD YYMMDDhhmmss, ASCII sign, BCD hhmm offset).
docs/formats/ts32298.md lists what each MobileCdr field becomes.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from pycrate_asn1dir import CDR
from pycrate_asn1rt.codecs import ASN1CodecBER
from pycrate_core.charpy import Charpy
from pycrate_mobile.TS23040_SMS import TP_DA
from pycrate_mobile.TS24008_IE import PLMN, BCDNumber, decode_bcd, encode_bcd
from pycrate_mobile.TS29002_MAPIE import AddressString
from pycrate_mobile.TS29274_GTPC import ULI

from pipelines.formats.ber_structure import MAX_NESTING, SetPaths, ber_problem, nesting_depth
from pipelines.formats.cdr_events import MobileCdr
from pipelines.formats.ts32297 import (
    CdrHeader,
    FileClosureReason,
    FileHeader,
    HeaderTimestamp,
    TsNumber,
    encode_file,
)

#: The 32.298 release of pycrate's modules (its RecordType already lists Release 15's
#: chargingFunctionRecord); written as the release identifier of every header.
RELEASE = 15
VERSION = 0

#: CallEventRecord alternative name for each MobileCdr record type.
ALTERNATIVES = {
    "voice_mo": "moCallRecord",
    "voice_mt": "mtCallRecord",
    "sms_mo": "moSMSRecord",
    "sms_mt": "mtSMSRecord",
    "data": "pGWRecord",
}

#: RecordType values (GenericChargingDataTypes) of the alternatives we write.
_RECORD_TYPE = {
    "moCallRecord": 0,
    "mtCallRecord": 1,
    "moSMSRecord": 6,
    "mtSMSRecord": 7,
    "pGWRecord": 85,
}

_CS_RECORD = CDR.CSChargingDataTypes.CSRecord
_GPRS_RECORD = CDR.GPRSChargingDataTypes.GPRSRecord
_GPRS_TAGS = frozenset(_GPRS_RECORD._cont[name]._tag[0] for name in _GPRS_RECORD._cont)
_CONTEXT_CLASS = 2  # BER tag class bits of a context-specific tag
_CAUSE_FOR_TERM: dict[str, int] = dict(CDR.GenericChargingDataTypes.CauseForTerm._cont)
_CAUSE_FOR_REC_CLOSING: dict[str, int] = dict(CDR.GenericChargingDataTypes.CauseForRecClosing._cont)
#: Code -> name, for the decoder.
CAUSE_FOR_TERM_NAMES = {code: name for name, code in _CAUSE_FOR_TERM.items()}
CAUSE_FOR_REC_CLOSING_NAMES = {code: name for name, code in _CAUSE_FOR_REC_CLOSING.items()}
#: CauseForRecClosing codes that close a partial record while the session (IP-CAN bearer,
#: MM context, MBMS bearer) goes on. Source: the CauseForRecClosing type and its comments in
#: pycrate's GenericChargingDataTypes.asn (TS 32.298 Rel-15/16) and the field description
#: in TS 32.298 §5.1.2.2.5: CauseForTerm's partialRecord, the volume, time and
#: charging-condition-count limits, and the changes of serving node (servingNodeChange is
#: the PGW's serving node list overflow), radio system, RAT, UE time zone, serving PLMN,
#: S-GW, APN-AMBR, MO exception data counter and MBMS downstream node list. Every other
#: code ends the session: normalRelease, abnormalRelease, cAMELInitCallRelease,
#: managementIntervention (an O&M release), the LCS failures, and codes the module does not
#: name: a cause nobody can read never holds a session open (release_cause keeps the code).
PARTIAL_CLOSING_CAUSES = frozenset(
    _CAUSE_FOR_REC_CLOSING[name]
    for name in (
        "partialRecord",
        "volumeLimit",
        "timeLimit",
        "servingNodeChange",
        "maxChangeCond",
        "intraSGSNIntersystemChange",
        "rATChange",
        "mSTimeZoneChange",
        "sGSNPLMNIDChange",
        "sGWChange",
        "aPNAMBRChange",
        "mOExceptionDataCounterReceipt",
        "listofDownstreamNodeChange",
    )
)

#: CauseForTerm codes that close a partial MSC call record while the call goes on
#: (TS 32.298 §5.1.2.2.5): partialRecord and partialRecordCallReestablishment. Every other
#: code, named or not, is the call's own release and ends it.
CALL_PARTIAL_CAUSES = frozenset(
    _CAUSE_FOR_TERM[name] for name in ("partialRecord", "partialRecordCallReestablishment")
)

# TS 24.008 / 29.002 type of number and numbering plan.
TON_UNKNOWN = 0
TON_INTERNATIONAL = 1
_NPI_E164 = 1
#: Numbers shorter than this are service or emergency short codes, written as dialled with
#: type of number "unknown"; longer ones are full E.164 numbers ("international").
_MIN_E164_DIGITS = 7

#: MS classmark 2 (TS 24.008 §10.5.1.6) of a typical handset; mandatory in SMS records,
#: unused by billing.
_MS_CLASSMARK = bytes.fromhex("5759a6")
#: BasicServiceCode teleservice "telephony" (TS 29.002 TeleserviceCode '00010001'B).
_TELEPHONY = b"\x11"
#: ChargingCharacteristics "normal" (TS 32.251 Annex A: bit 11 of the 16).
_CHARGING_CHARACTERISTICS = b"\x08\x00"
#: RATType EUTRAN (TS 29.274 §8.17).
_RAT_EUTRAN = 6


# Decoders reuse one pycrate object per field type: building one costs more than decoding
# with it (a ULI ~0.7 ms). This makes the decode functions not thread-safe.
_ADDRESS_STRING = AddressString()
_BCD_NUMBER = BCDNumber()
_SMS_ADDRESS = TP_DA()
_PLMN = PLMN()
_ULI = ULI()


class UndecodableRecordError(ValueError):
    """BER bytes that are not a CallEventRecord alternative this module can read."""


# --- field encodings --------------------------------------------------------------------


def encode_tbcd(digits: str) -> bytes:
    """TBCD-STRING (TS 29.002): two digits an octet, low nibble first, 'F' filler."""
    if not digits.isdigit():
        raise ValueError(f"not a digit string: {digits!r}")
    return encode_bcd(digits)


def decode_tbcd(data: bytes) -> str:
    """The digits of a TBCD-STRING, up to the filler."""
    return decode_bcd(data)


def _type_of_number(digits: str) -> int:
    return TON_INTERNATIONAL if len(digits) >= _MIN_E164_DIGITS else TON_UNKNOWN


def encode_address_string(digits: str) -> bytes:
    """AddressString / ISDN-AddressString (TS 29.002): TON/NPI octet, then TBCD digits."""
    if not digits.isdigit():
        raise ValueError(f"not a digit string: {digits!r}")
    value = {"NumType": _type_of_number(digits), "NumPlan": _NPI_E164, "Num": digits}
    return AddressString(val=value).to_bytes()


def decode_address_string(data: bytes) -> tuple[int, str]:
    """(type of number, digits) of an AddressString."""
    address = _ADDRESS_STRING
    address.from_bytes(data)
    # "Num" is an alternative on the numbering plan: BCD digits for E.164 and E.212.
    return address["NumType"].get_val(), _digits(address["Num"].get_alt())


def encode_bcd_directory_number(digits: str) -> bytes:
    """BCDDirectoryNumber (TS 32.298): a TS 24.008 called party BCD number without IEI and
    length, i.e. TON/NPI octet then BCD digits."""
    if not digits.isdigit():
        raise ValueError(f"not a digit string: {digits!r}")
    value = {"Type": _type_of_number(digits), "NumberingPlan": _NPI_E164, "Num": digits}
    return BCDNumber(val=value).to_bytes()


def decode_bcd_directory_number(data: bytes) -> tuple[int, str]:
    """(type of number, digits) of a BCDDirectoryNumber."""
    number = _BCD_NUMBER
    number.from_bytes(data)
    return number["Type"].get_val(), _digits(number["Num"])


def encode_sms_address(digits: str) -> bytes:
    """SmsTpDestinationNumber: the TS 23.040 §9.1.2.5 address field (digit count, TON/NPI,
    BCD digits)."""
    if not digits.isdigit():
        raise ValueError(f"not a digit string: {digits!r}")
    value = {"Type": _type_of_number(digits), "NumberingPlan": _NPI_E164, "Num": digits}
    return TP_DA(val=value).to_bytes()


def decode_sms_address(data: bytes) -> tuple[int, str]:
    """(type of number, digits) of a TS 23.040 address field."""
    address = _SMS_ADDRESS
    address.from_bytes(data)
    return address["Type"].get_val(), _digits(address["Num"])


def _digits(buffer: Any) -> str:
    digits = buffer.decode() if hasattr(buffer, "decode") else None
    if not isinstance(digits, str) or not digits.isdigit():
        raise ValueError(f"number holds non-digits: {buffer.to_bytes().hex()}")
    return str(digits)


def encode_timestamp(at: datetime, utc_offset_minutes: int) -> bytes:
    """TimeStamp (TS 32.298): local time as BCD YYMMDDhhmmss, ASCII '+'/'-', BCD hhmm.

    Seconds are the resolution; a fraction of a second is dropped.
    """
    if at.tzinfo is None:
        raise ValueError("TimeStamp needs an aware datetime")
    local = at.astimezone(UTC) + timedelta(minutes=utc_offset_minutes)
    offset = abs(utc_offset_minutes)
    digits = local.strftime("%y%m%d%H%M%S") + f"{offset // 60:02d}{offset % 60:02d}"
    sign = b"+" if utc_offset_minutes >= 0 else b"-"
    return bytes.fromhex(digits[:12]) + sign + bytes.fromhex(digits[12:])


def decode_timestamp(data: bytes) -> datetime:
    """The UTC instant of a TimeStamp; ValueError when it is not one."""
    if len(data) != 9 or data[6:7] not in (b"+", b"-"):
        raise ValueError(f"not a TimeStamp: {data.hex()}")
    digits = data[:6].hex() + data[7:].hex()
    if not digits.isdigit():
        raise ValueError(f"TimeStamp is not BCD: {data.hex()}")
    local = datetime.strptime("20" + digits[:12], "%Y%m%d%H%M%S")
    offset = timedelta(hours=int(digits[12:14]), minutes=int(digits[14:16]))
    if data[6:7] == b"-":
        offset = -offset
    return (local - offset).replace(tzinfo=UTC)


def parse_cell_id(cell_id: str) -> tuple[str, str, int, int]:
    """(MCC, MNC, LAC, CI) of a cell id written "MCC-MNC-LAC-CI" (LAC and CI in decimal)."""
    parts = cell_id.split("-")
    if len(parts) != 4 or not all(part.isdigit() for part in parts):
        raise ValueError(f"cell id is not MCC-MNC-LAC-CI: {cell_id!r}")
    mcc, mnc, lac, ci = parts
    if len(mcc) != 3 or len(mnc) not in (2, 3) or int(lac) > 0xFFFF or int(ci) > 0xFFFF:
        raise ValueError(f"cell id out of range: {cell_id!r}")
    return mcc, mnc, int(lac), int(ci)


def format_cell_id(plmn: str, lac: int, ci: int) -> str:
    """The "MCC-MNC-LAC-CI" text of a cell, from PLMN digits (MCC then MNC)."""
    return f"{plmn[:3]}-{plmn[3:]}-{lac}-{ci}"


def encode_location(cell_id: str) -> dict[str, bytes]:
    """LocationAreaAndCell (TS 32.298) of a cell id."""
    mcc, mnc, lac, ci = parse_cell_id(cell_id)
    return {
        "locationAreaCode": lac.to_bytes(2, "big"),
        "cellId": ci.to_bytes(2, "big"),
        "mCC-MNC": PLMN(val=mcc + mnc).to_bytes(),
    }


def decode_plmn(data: bytes) -> str:
    """MCC and MNC digits of a 3-octet PLMN-Id (TS 24.008)."""
    plmn = _PLMN
    plmn.from_bytes(data)
    digits = plmn.decode()
    if len(data) != 3 or not digits.isdigit():
        raise ValueError(f"not a PLMN-Id: {data.hex()}")
    return str(digits)


def encode_user_location(cell_id: str) -> bytes:
    """User Location Information (TS 29.274 §8.21) holding the CGI of a cell id."""
    mcc, mnc, lac, ci = parse_cell_id(cell_id)
    value = {"Flags": {"CGI": 1}, "CGI": {"PLMN": mcc + mnc, "LAC": lac, "CI": ci}}
    return ULI(val=value).to_bytes()


def decode_user_location(data: bytes) -> str | None:
    """The "MCC-MNC-LAC-CI" cell of a ULI, or None when it carries no CGI."""
    uli = _ULI
    uli.from_bytes(data)
    if not uli["Flags"]["CGI"].get_val():
        return None
    plmn, lac, ci = uli["CGI"].decode()
    if not plmn.isdigit():
        raise ValueError(f"ULI holds no valid PLMN: {data.hex()}")
    return format_cell_id(plmn, lac, ci)


def encode_ip_address(address: str) -> tuple[str, tuple[str, Any]]:
    """GSNAddress / IPAddress value (binary form) of an IPv4 or IPv6 address."""
    ip = ipaddress.ip_address(address)
    if ip.version == 4:
        return ("iPBinaryAddress", ("iPBinV4Address", ip.packed))
    return ("iPBinaryAddress", ("iPBinV6Address", ("iPBinV6Address", ip.packed)))


def decode_ip_address(value: tuple[str, Any]) -> str:
    """Text of a decoded GSNAddress / IPAddress value."""
    kind, inner = value
    if kind == "iPTextRepresentedAddress":
        return str(inner[1])
    form, address = inner
    if form == "iPBinV6Address":
        variant, address = address
        if variant != "iPBinV6Address":  # the variant with a prefix length
            address = address["iPBinV6Address"]
    return str(ipaddress.ip_address(address))


def encode_call_reference(call_reference: int) -> bytes:
    """CallReferenceNumber (TS 29.002, 1..8 octets): the integer, big-endian, no padding."""
    if not 0 <= call_reference < 1 << 64:
        raise ValueError(f"call reference {call_reference} does not fit 8 octets")
    return call_reference.to_bytes(max(1, (call_reference.bit_length() + 7) // 8), "big")


# --- records --------------------------------------------------------------------------


def _seconds(start: datetime, end: datetime) -> int:
    return int((end - start).total_seconds())


def _cause(names: dict[str, int], release_cause: str, field: str) -> int:
    if release_cause not in names:
        raise ValueError(f"{release_cause!r} is not a {field} value")
    return names[release_cause]


def _call_record(
    cdr: MobileCdr, *, recording_entity: str, utc_offset_minutes: int
) -> dict[str, Any]:
    if cdr.other_party_number is None:
        raise ValueError("a call record needs the other party's number")
    originating = cdr.record_type == "voice_mo"
    record: dict[str, Any] = {
        "recordType": _RECORD_TYPE[ALTERNATIVES[cdr.record_type]],
        "servedIMSI": encode_tbcd(cdr.served_imsi),
        "servedIMEI": encode_tbcd(cdr.served_imei),
        "servedMSISDN": (
            encode_address_string(cdr.served_msisdn)
            if originating
            else encode_bcd_directory_number(cdr.served_msisdn)  # MTCallRecord types it so
        ),
        "recordingEntity": encode_address_string(recording_entity),
        "location": encode_location(cdr.cell_id),
        "basicService": ("teleservice", _TELEPHONY),
        "seizureTime": encode_timestamp(cdr.started_at, utc_offset_minutes),
        "releaseTime": encode_timestamp(cdr.ended_at, utc_offset_minutes),
        "callDuration": 0,
        "causeForTerm": _cause(_CAUSE_FOR_TERM, cdr.release_cause, "CauseForTerm"),
        "callReference": encode_call_reference(cdr.call_reference),
        "mSCAddress": encode_address_string(recording_entity),
    }
    if originating:
        record["callingNumber"] = encode_bcd_directory_number(cdr.served_msisdn)
        record["calledNumber"] = encode_bcd_directory_number(cdr.other_party_number)
    else:
        record["callingNumber"] = encode_bcd_directory_number(cdr.other_party_number)
    if cdr.answered_at is not None:
        record["answerTime"] = encode_timestamp(cdr.answered_at, utc_offset_minutes)
        record["callDuration"] = _seconds(cdr.answered_at, cdr.ended_at)
    elif (cdr.record_sequence_number or 0) > 1:
        # A later partial of a call in progress: no answerTime, all of its time chargeable.
        record["callDuration"] = _seconds(cdr.started_at, cdr.ended_at)
    if cdr.incoming_trunk_group is not None:
        record["mscIncomingTKGP"] = ("tkgpName", cdr.incoming_trunk_group)
    if cdr.outgoing_trunk_group is not None:
        record["mscOutgoingTKGP"] = ("tkgpName", cdr.outgoing_trunk_group)
    if cdr.record_sequence_number is not None:
        record["sequenceNumber"] = cdr.record_sequence_number
    return record


def _sms_record(
    cdr: MobileCdr, *, recording_entity: str, service_centre: str, utc_offset_minutes: int
) -> dict[str, Any]:
    if cdr.other_party_number is None:
        raise ValueError("an SMS record needs the other party's number")
    if cdr.release_cause != "normalRelease":
        raise ValueError(f"SMS records carry no release cause, got {cdr.release_cause!r}")
    # Our SMS go through CAMEL (online charging), so the MSC writes cAMELSMSInformation:
    # the SMS reference number (a CallReferenceNumber, the record's key) and, for MT, the
    # calling party, which MTSMSRecord has no field of its own for.
    camel: dict[str, Any] = {"smsReferenceNumber": encode_call_reference(cdr.call_reference)}
    record: dict[str, Any] = {
        "recordType": _RECORD_TYPE[ALTERNATIVES[cdr.record_type]],
        "servedIMSI": encode_tbcd(cdr.served_imsi),
        "servedIMEI": encode_tbcd(cdr.served_imei),
        "servedMSISDN": encode_address_string(cdr.served_msisdn),
        "msClassmark": _MS_CLASSMARK,
        "serviceCentre": encode_address_string(service_centre),
        "recordingEntity": encode_address_string(recording_entity),
        "location": encode_location(cdr.cell_id),
        "cAMELSMSInformation": camel,
    }
    event_time = encode_timestamp(cdr.started_at, utc_offset_minutes)
    if cdr.record_type == "sms_mo":
        # TP-Message-Reference is one octet (TS 23.040 §9.2.3.6), so it wraps.
        record["messageReference"] = bytes([cdr.call_reference % 256])
        record["originationTime"] = event_time
        record["destinationNumber"] = encode_sms_address(cdr.other_party_number)
    else:
        record["deliveryTime"] = event_time
        camel["callingPartyNumber"] = encode_bcd_directory_number(cdr.other_party_number)
    return record


def _pgw_record(cdr: MobileCdr, *, node_address: str, utc_offset_minutes: int) -> dict[str, Any]:
    if cdr.charging_id is None or cdr.apn is None:
        raise ValueError("a PGW record needs a charging id and an APN")
    gateway = encode_ip_address(node_address)
    record: dict[str, Any] = {
        "recordType": _RECORD_TYPE["pGWRecord"],
        "servedIMSI": encode_tbcd(cdr.served_imsi),
        "p-GWAddress": gateway,
        "chargingID": cdr.charging_id,
        # A combined S/P-GW: the serving node is the same box.
        "servingNodeAddress": [gateway],
        "accessPointNameNI": cdr.apn,
        "listOfTrafficVolumes": [
            {
                "dataVolumeGPRSUplink": cdr.uplink_bytes,
                "dataVolumeGPRSDownlink": cdr.downlink_bytes,
                "changeCondition": "recordClosure",
                "changeTime": encode_timestamp(cdr.ended_at, utc_offset_minutes),
            }
        ],
        "recordOpeningTime": encode_timestamp(cdr.started_at, utc_offset_minutes),
        "duration": _seconds(cdr.started_at, cdr.ended_at),
        "causeForRecClosing": _cause(
            _CAUSE_FOR_REC_CLOSING, cdr.release_cause, "CauseForRecClosing"
        ),
        "servedMSISDN": encode_address_string(cdr.served_msisdn),
        "chargingCharacteristics": _CHARGING_CHARACTERISTICS,
        "servingNodeType": ["gTPSGW"],
        "servedIMEI": encode_tbcd(cdr.served_imei),
        "rATType": _RAT_EUTRAN,
        "userLocationInformation": encode_user_location(cdr.cell_id),
    }
    if cdr.record_sequence_number is not None:
        record["recordSequenceNumber"] = cdr.record_sequence_number
    return record


def encode_call_event_record(
    cdr: MobileCdr,
    *,
    recording_entity: str,
    service_centre: str,
    node_address: str,
    utc_offset_minutes: int,
) -> bytes:
    """BER of the CallEventRecord alternative for ``cdr``.

    recording_entity: the MSC's E.164 number (recordingEntity, mSCAddress);
    service_centre: the SMSC's E.164 number (SMS records);
    node_address: the P-GW's IP address (pGWRecord p-GWAddress);
    utc_offset_minutes: the switch clock's offset, in which TimeStamps are written.
    """
    alternative = ALTERNATIVES[cdr.record_type]
    if cdr.record_type in ("voice_mo", "voice_mt"):
        record = _call_record(
            cdr, recording_entity=recording_entity, utc_offset_minutes=utc_offset_minutes
        )
    elif cdr.record_type in ("sms_mo", "sms_mt"):
        record = _sms_record(
            cdr,
            recording_entity=recording_entity,
            service_centre=service_centre,
            utc_offset_minutes=utc_offset_minutes,
        )
    else:
        record = _pgw_record(cdr, node_address=node_address, utc_offset_minutes=utc_offset_minutes)
    choice = _GPRS_RECORD if alternative == "pGWRecord" else _CS_RECORD
    choice.set_val((alternative, record))
    return bytes(choice.to_ber())


#: The SETs of the mapped records, whose components pycrate would read twice (last value
#: wins): each record (moCallRecord [0], mtCallRecord [1], moSMSRecord [6], mtSMSRecord [7],
#: pGWRecord [79]) and the SMS records' CAMELSMSInformation ([13] in MO, [12] in MT).
_SETS: SetPaths = frozenset(
    {
        (b"\xa0",),
        (b"\xa1",),
        (b"\xa6",),
        (b"\xa7",),
        (b"\xbf\x4f",),
        (b"\xa6", b"\xad"),
        (b"\xa7", b"\xac"),
    }
)


def decode_call_event_record(data: bytes) -> tuple[str, dict[str, Any]]:
    """(alternative name, field values) of one BER CallEventRecord.

    Values are pycrate's: OCTET STRINGs as bytes, INTEGERs as int, ENUMERATEDs as names,
    CHOICEs as (name, value). Raises UndecodableRecordError with the decoder's message when
    the bytes are not a CSRecord or GPRSRecord alternative, or octets follow the record,
    and, before pycrate reads them (pipelines/formats/ber_structure.py), when they nest
    deeper than MAX_NESTING, an element runs past its parent, or the record holds a field
    twice.
    """
    depth = nesting_depth(data)
    if depth > MAX_NESTING:
        raise UndecodableRecordError(f"BER nested {depth} levels deep, over {MAX_NESTING}")
    # pycrate raises many exception types on bad input (ASN.1 codec errors, charpy
    # overflows, index and value errors); each one means "not a readable record".
    try:
        char = Charpy(data)
        tag_class, _, tag = ASN1CodecBER.decode_tag(char)
        length = ASN1CodecBER.decode_len(char)
    except Exception as error:
        raise UndecodableRecordError(f"no BER tag and length: {error}") from error
    if length >= 0 and char.len_byte() != length:
        raise UndecodableRecordError(
            f"record declares {length} content octets, the CDR holds {char.len_byte()}"
        )
    if tag_class != _CONTEXT_CLASS:
        raise UndecodableRecordError(f"tag class {tag_class} is not a CallEventRecord tag")
    problem = ber_problem(data, _SETS)
    if problem is not None:
        raise UndecodableRecordError(problem)
    choice = _GPRS_RECORD if tag in _GPRS_TAGS else _CS_RECORD
    try:
        choice.from_ber(data)
        alternative, record = choice.get_val()
    except Exception as error:
        raise UndecodableRecordError(f"{choice._name}: {error}") from error
    return str(alternative), record


# --- files ---------------------------------------------------------------------------


def _cdr_header(cdr: MobileCdr | bytes) -> CdrHeader:
    packet = not isinstance(cdr, bytes) and cdr.record_type == "data"
    return CdrHeader(
        release=RELEASE,
        version=VERSION,
        ts_number=TsNumber.TS_32_251 if packet else TsNumber.TS_32_250,
    )


def encode_cdr_file(
    cdrs: Sequence[MobileCdr | bytes],
    *,
    node_address: str,
    file_sequence_number: int,
    opened_at: datetime,
    closed_at: datetime,
    utc_offset_minutes: int,
    recording_entity: str,
    service_centre: str,
) -> bytes:
    """The bytes of a TS 32.297 CDR file holding ``cdrs`` in order.

    A ``bytes`` item is written verbatim as one CDR payload (behind a TS 32.250 CDR header),
    which is how a corrupt record gets into a test or demo file.
    """
    payloads = [
        cdr
        if isinstance(cdr, bytes)
        else encode_call_event_record(
            cdr,
            recording_entity=recording_entity,
            service_centre=service_centre,
            node_address=node_address,
            utc_offset_minutes=utc_offset_minutes,
        )
        for cdr in cdrs
    ]
    header = FileHeader(
        high_release=RELEASE,
        high_version=VERSION,
        low_release=RELEASE,
        low_version=VERSION,
        opened=HeaderTimestamp.from_datetime(opened_at, utc_offset_minutes),
        last_appended=HeaderTimestamp.from_datetime(closed_at, utc_offset_minutes),
        cdr_count=len(payloads),
        file_sequence_number=file_sequence_number,
        closure_reason=FileClosureReason.FILE_OPEN_TIME_LIMIT,
        node_address=node_address,
    )
    return encode_file(header, [(_cdr_header(c), p) for c, p in zip(cdrs, payloads, strict=True)])


def write_cdr_file(
    path: str | Path,
    cdrs: Sequence[MobileCdr | bytes],
    *,
    node_address: str,
    file_sequence_number: int,
    opened_at: datetime,
    closed_at: datetime,
    utc_offset_minutes: int,
    recording_entity: str,
    service_centre: str,
) -> None:
    """Write a TS 32.297 CDR file of ``cdrs`` to ``path`` (see encode_cdr_file).

    The bytes depend only on the arguments, so the same input gives the same file.
    """
    Path(path).write_bytes(
        encode_cdr_file(
            cdrs,
            node_address=node_address,
            file_sequence_number=file_sequence_number,
            opened_at=opened_at,
            closed_at=closed_at,
            utc_offset_minutes=utc_offset_minutes,
            recording_entity=recording_entity,
            service_centre=service_centre,
        )
    )
