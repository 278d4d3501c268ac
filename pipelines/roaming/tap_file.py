"""TAP 3.12 files written: transfer batches of call events, and notifications (TD.57).

The encoder of what ``pipelines.mediation.tap3`` reads: a ``TransferBatch`` with
BatchControlInfo, AccountingInfo, NetworkInfo, the call events and AuditControlInfo
totals, or a ``Notification`` (a period with no events), BER-encoded with pycrate's
compiled TAP 3.12 module. It writes the items that parser maps (docs/formats/tap3.md) and
those TD.57 makes mandatory for what it sends: mobile originated and terminated calls and
SMS, and GPRS calls, each with one ChargeInformation of charge type ``00``.

Times are local to the sending network with a UTC offset code, listed in NetworkInfo: one
code per offset in use, numbered from 0 in increasing offset. Numbers (IMSI, MSISDN, IMEI,
called and calling numbers) are TD.57 BCD strings: two digits an octet, high nibble first,
an ``F`` filler after an odd count.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from fractions import Fraction
from typing import Any
from zoneinfo import ZoneInfo

from pycrate_asn1dir import TAP3

from pipelines.mediation.tap3 import TAP_VERSION, TOTAL_CHARGE_TYPE

#: TD.57 RecEntityType of what records events: an MSC, and a GGSN / P-GW.
MSC_ENTITY = 1
GATEWAY_ENTITY = 3
#: TeleServiceCode: telephony, SMS mobile terminated, SMS mobile originated.
_TELEPHONY, _SMS_MT, _SMS_MO = b"11", b"21", b"22"
#: ChargedItem: a call's duration, an event (SMS), the total volume (GPRS).
_DURATION, _EVENT, _VOLUME_TOTAL = b"D", b"E", b"X"
#: CallTypeLevel1: unknown / not applicable, national, international, and a GPRS session
#: through the visited network's gateway (local breakout).
_CALL_TYPE_UNKNOWN, _NATIONAL, _INTERNATIONAL, _VISITED_GATEWAY = 0, 1, 2, 11
#: The one currency conversion of a batch (AccountingInfo), named by every charge.
EXCHANGE_RATE_CODE = 1
#: Decimal places of the TAP-to-local exchange rate when the rate is not exact in fewer.
EXCHANGE_RATE_DECIMALS = 6
#: TD.57 file name prefix of chargeable (not test) data.
CHARGEABLE_DATA = "CD"

RECORD_TYPES = ("voice_mo", "voice_mt", "sms_mo", "sms_mt", "data")


@dataclass(frozen=True)
class RecordingEntity:
    """A network element named in NetworkInfo and by each event's location."""

    code: int
    entity_type: int  # MSC_ENTITY or GATEWAY_ENTITY
    identity: str  # the MSC's E.164 number, the gateway's address


@dataclass(frozen=True)
class BatchHeader:
    """What a file says about itself: parties, sequence, times, money, network."""

    sender: str  # TADIG of the network whose events these are
    recipient: str  # TADIG of the subscribers' home network, which pays
    file_sequence_number: int  # 1..99999, per sender and recipient
    created_at: datetime  # aware: fileCreationTimeStamp
    available_at: datetime  # aware: fileAvailableTimeStamp
    cut_off_at: datetime  # aware: transferCutOffTimeStamp
    zone: ZoneInfo  # the sender network's clock: the local times of the file and its events
    national_prefix: str  # country calling code of the sender's network (call type national)
    local_currency: str
    tap_currency: str
    tap_decimal_places: int
    exchange_rate: Fraction  # local currency units per TAP currency unit
    recording_entities: tuple[RecordingEntity, ...] = ()


@dataclass(frozen=True)
class TapCallEvent:
    """One chargeable event, as the sender's network recorded and priced it."""

    record_type: str  # voice_mo, voice_mt, sms_mo, sms_mt or data
    imsi: str
    msisdn: str | None  # E.164 digits
    imei: str | None
    other_party_number: str | None  # E.164 digits or a short code; None when unknown
    started_at: datetime  # aware: the start of charging (answer time of a call)
    duration_seconds: int  # 0 for SMS
    uplink_bytes: int  # data sent by the mobile (dataVolumeOutgoing)
    downlink_bytes: int  # data received by it (dataVolumeIncoming)
    recording_entity: int  # a RecordingEntity code of the header
    location_area: int | None
    cell_id: int | None
    charge: int  # TAP units: micro-units / 10 ** (6 - tap_decimal_places)
    chargeable_units: int  # seconds, messages or bytes used
    charged_units: int  # the units charged, after increments
    apn: str | None = None  # data: the access point name (network identifier)
    charging_id: int | None = None  # data: the gateway's charging id


def file_name(sender: str, recipient: str, file_sequence_number: int) -> str:
    """TD.57 name of a chargeable-data TAP file: CD<sender><recipient><sequence:05d>."""
    return f"{CHARGEABLE_DATA}{sender}{recipient}{file_sequence_number:05d}"


def encode(kind: str, value: dict[str, Any]) -> bytes:
    """BER of a DataInterChange ``transferBatch`` or ``notification``."""
    interchange = TAP3.TAP_0312.DataInterChange
    interchange.set_val((kind, value))
    return bytes(interchange.to_ber())


def transfer_batch(header: BatchHeader, events: Sequence[TapCallEvent]) -> bytes:
    """A TransferBatch of ``events`` (in the order given) with reconciling audit totals."""
    if not events:
        raise ValueError("a transfer batch holds at least one event; send a notification")
    return encode("transferBatch", transfer_batch_value(header, events))


def notification(header: BatchHeader) -> bytes:
    """A Notification: the sender has no events for the recipient in the period."""
    return encode("notification", {**_control(header)})


def transfer_batch_value(header: BatchHeader, events: Sequence[TapCallEvent]) -> dict[str, Any]:
    """The TransferBatch value pycrate encodes (for callers that alter it, e.g. a test
    file whose audit must not reconcile)."""
    codes = _offset_codes(header.zone, [e.started_at for e in events])
    details = [_event(e, header, codes) for e in events]
    first = min(e.started_at for e in events)
    last = max(e.started_at for e in events)
    return {
        "batchControlInfo": _control(header),
        "accountingInfo": _accounting(header),
        "networkInfo": {
            "utcTimeOffsetInfo": [
                {"utcTimeOffsetCode": code, "utcTimeOffset": _offset_text(offset)}
                for offset, code in codes.items()
            ],
            "recEntityInfo": [
                {
                    "recEntityCode": entity.code,
                    "recEntityType": entity.entity_type,
                    "recEntityId": entity.identity.encode("ascii"),
                }
                for entity in header.recording_entities
            ],
        },
        "callEventDetails": details,
        "auditControlInfo": {
            "earliestCallTimeStamp": _date_time_long(first, header.zone),
            "latestCallTimeStamp": _date_time_long(last, header.zone),
            "totalCharge": sum(e.charge for e in events),
            "totalTaxValue": 0,
            "totalDiscountValue": 0,
            "callEventDetailsCount": len(events),
        },
    }


def _control(header: BatchHeader) -> dict[str, Any]:
    if not 1 <= header.file_sequence_number <= 99999:
        raise ValueError(f"file sequence number {header.file_sequence_number} not in 1..99999")
    return {
        "sender": header.sender.encode("ascii"),
        "recipient": header.recipient.encode("ascii"),
        "fileSequenceNumber": f"{header.file_sequence_number:05d}".encode("ascii"),
        "fileCreationTimeStamp": _date_time_long(header.created_at, header.zone),
        "transferCutOffTimeStamp": _date_time_long(header.cut_off_at, header.zone),
        "fileAvailableTimeStamp": _date_time_long(header.available_at, header.zone),
        "specificationVersionNumber": TAP_VERSION[0],
        "releaseVersionNumber": TAP_VERSION[1],
    }


def _accounting(header: BatchHeader) -> dict[str, Any]:
    places, rate = exchange_rate_digits(header.exchange_rate)
    return {
        "localCurrency": header.local_currency.encode("ascii"),
        "tapCurrency": header.tap_currency.encode("ascii"),
        "currencyConversionInfo": [
            {
                "exchangeRateCode": EXCHANGE_RATE_CODE,
                "numberOfDecimalPlaces": places,
                "exchangeRate": rate,
            }
        ],
        "tapDecimalPlaces": header.tap_decimal_places,
    }


def exchange_rate_digits(rate: Fraction) -> tuple[int, int]:
    """(numberOfDecimalPlaces, exchangeRate) of a rate: exact in the fewest decimal places
    up to EXCHANGE_RATE_DECIMALS, else rounded half up to that many."""
    if rate <= 0:
        raise ValueError(f"exchange rate {rate} must be > 0")
    for places in range(EXCHANGE_RATE_DECIMALS + 1):
        scaled = rate * 10**places
        if scaled.denominator == 1:
            return places, int(scaled)
    scaled = rate * 10**EXCHANGE_RATE_DECIMALS
    return EXCHANGE_RATE_DECIMALS, int(scaled + Fraction(1, 2))


def _offset_codes(zone: ZoneInfo, moments: Sequence[datetime]) -> dict[timedelta, int]:
    offsets = sorted({_offset(moment, zone) for moment in moments})
    return {offset: code for code, offset in enumerate(offsets)}


def _offset(moment: datetime, zone: ZoneInfo) -> timedelta:
    offset = moment.astimezone(zone).utcoffset()
    if offset is None:
        raise ValueError(f"{moment} must be timezone-aware")
    return offset


def _offset_text(offset: timedelta) -> bytes:
    minutes = int(offset.total_seconds()) // 60
    sign = "-" if minutes < 0 else "+"
    hours, rest = divmod(abs(minutes), 60)
    return f"{sign}{hours:02d}{rest:02d}".encode("ascii")


def _local_stamp(moment: datetime, zone: ZoneInfo) -> bytes:
    if moment.tzinfo is None:
        raise ValueError(f"{moment} must be timezone-aware")
    if moment.microsecond:  # TAP times are whole seconds: never drop a part silently
        raise ValueError(f"{moment} is not a whole second")
    return moment.astimezone(zone).strftime("%Y%m%d%H%M%S").encode("ascii")


def _date_time_long(moment: datetime, zone: ZoneInfo) -> dict[str, bytes]:
    return {
        "localTimeStamp": _local_stamp(moment, zone),
        "utcTimeOffset": _offset_text(_offset(moment, zone)),
    }


def _date_time(moment: datetime, zone: ZoneInfo, codes: dict[timedelta, int]) -> dict[str, Any]:
    return {
        "localTimeStamp": _local_stamp(moment, zone),
        "utcTimeOffsetCode": codes[_offset(moment, zone)],
    }


def bcd(digits: str) -> bytes:
    """TD.57 BCDString of decimal digits: high nibble first, F filler when odd."""
    if not digits.isascii() or not digits.isdigit():
        raise ValueError(f"{digits!r} is not decimal digits")
    return bytes.fromhex(digits + "f" * (len(digits) % 2))


def _subscriber(event: TapCallEvent) -> tuple[str, dict[str, bytes]]:
    subscriber = {"imsi": bcd(event.imsi)}
    if event.msisdn:
        subscriber["msisdn"] = bcd(event.msisdn)
    return ("simChargeableSubscriber", subscriber)


def _charge_information(event: TapCallEvent, item: bytes, call_type: int) -> list[dict[str, Any]]:
    return [
        {
            "chargedItem": item,
            "exchangeRateCode": EXCHANGE_RATE_CODE,
            "callTypeGroup": {
                "callTypeLevel1": call_type,
                "callTypeLevel2": 0,
                "callTypeLevel3": 0,
            },
            "chargeDetailList": [
                {
                    "chargeType": TOTAL_CHARGE_TYPE,
                    "charge": event.charge,
                    "chargeableUnits": event.chargeable_units,
                    "chargedUnits": event.charged_units,
                }
            ],
        }
    ]


def _event(
    event: TapCallEvent, header: BatchHeader, codes: dict[timedelta, int]
) -> tuple[str, dict[str, Any]]:
    if event.record_type not in RECORD_TYPES:
        raise ValueError(f"record type {event.record_type!r} is not one TAP out sends")
    started = _date_time(event.started_at, header.zone, codes)
    equipment = {"equipmentIdentifier": ("imei", bcd(event.imei))} if event.imei else {}
    if event.record_type == "data":
        return "gprsCall", _gprs(event, header, started, equipment)
    originated = event.record_type.endswith("_mo")
    sms = event.record_type.startswith("sms")
    party: dict[str, Any] = {}
    if event.other_party_number:
        party[("calledNumber" if originated else "callingNumber")] = bcd(event.other_party_number)
    basic: dict[str, Any] = {"chargeableSubscriber": _subscriber(event)}
    basic["destination" if originated else "callOriginator"] = party
    basic["callEventStartTimeStamp"] = started
    basic["totalCallEventDuration"] = event.duration_seconds
    if not originated or not event.other_party_number:
        call_type = _CALL_TYPE_UNKNOWN
    elif event.other_party_number.startswith(header.national_prefix):
        call_type = _NATIONAL
    else:
        call_type = _INTERNATIONAL
    service = (_SMS_MO if originated else _SMS_MT) if sms else _TELEPHONY
    location: dict[str, Any] = {"recEntityCode": event.recording_entity}
    if event.location_area is not None and event.cell_id is not None:
        location.update(locationArea=event.location_area, cellId=event.cell_id)
    value: dict[str, Any] = {
        "basicCallInformation": basic,
        "locationInformation": {"networkLocation": location},
        **equipment,
        "basicServiceUsedList": [
            {
                "basicService": {"serviceCode": ("teleServiceCode", service)},
                "chargeInformationList": _charge_information(
                    event, _EVENT if sms else _DURATION, call_type
                ),
            }
        ],
    }
    return ("mobileOriginatedCall" if originated else "mobileTerminatedCall"), value


def _gprs(
    event: TapCallEvent, header: BatchHeader, started: dict[str, Any], equipment: dict[str, Any]
) -> dict[str, Any]:
    basic: dict[str, Any] = {
        "gprsChargeableSubscriber": {"chargeableSubscriber": _subscriber(event)},
    }
    if event.apn:
        basic["gprsDestination"] = {"accessPointNameNI": event.apn.encode("ascii")}
    basic["callEventStartTimeStamp"] = started
    basic["totalCallEventDuration"] = event.duration_seconds
    if event.charging_id is not None:
        basic["chargingId"] = event.charging_id
    location: dict[str, Any] = {"recEntity": [event.recording_entity]}
    if event.location_area is not None and event.cell_id is not None:
        location.update(locationArea=event.location_area, cellId=event.cell_id)
    return {
        "gprsBasicCallInformation": basic,
        "gprsLocationInformation": {"gprsNetworkLocation": location},
        **equipment,
        "gprsServiceUsed": {
            "dataVolumeIncoming": event.downlink_bytes,
            "dataVolumeOutgoing": event.uplink_bytes,
            "chargeInformationList": _charge_information(event, _VOLUME_TOTAL, _VISITED_GATEWAY),
        },
    }
