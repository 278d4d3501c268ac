"""TS 32.298 records: field encodings by hand, and a second, independent BER decoder.

pycrate 0.8.1's wheel ships only its compiled modules, not the TS 32.298 ASN.1 text, and the
full module set imports MAP, CAP and X.500 modules asn1tools does not compile. The second
decoder is asn1tools on a faithful subset of TS 32.298: the five CallEventRecord
alternatives we write, each with the fields we fill, their tags and types copied from the
spec's modules (GenericChargingDataTypes, CSChargingDataTypes, GPRSChargingDataTypes) under
the spec's IMPLICIT TAGS. Fields we never write are left out, which a decoder of the subset
would refuse if they appeared; so agreement also shows we write nothing else.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import asn1tools
import pytest
from mobile_cdrs import T0, mobile_cdr

from pipelines.formats import ts32298
from pipelines.formats.cdr_events import MobileCdr

SUBSET_ASN1 = """
TS32298Subset DEFINITIONS IMPLICIT TAGS ::= BEGIN

CallEventRecord ::= CHOICE {
    moCallRecord   [0] MOCallRecord,
    mtCallRecord   [1] MTCallRecord,
    moSMSRecord    [6] MOSMSRecord,
    mtSMSRecord    [7] MTSMSRecord,
    pGWRecord      [79] PGWRecord
}

MOCallRecord ::= SET {
    recordType          [0] RecordType,
    servedIMSI          [1] IMSI OPTIONAL,
    servedIMEI          [2] IMEI OPTIONAL,
    servedMSISDN        [3] MSISDN OPTIONAL,
    callingNumber       [4] CallingNumber OPTIONAL,
    calledNumber        [5] CalledNumber OPTIONAL,
    recordingEntity     [9] RecordingEntity,
    mscIncomingTKGP     [10] TrunkGroup OPTIONAL,
    mscOutgoingTKGP     [11] TrunkGroup OPTIONAL,
    location            [12] LocationAreaAndCell OPTIONAL,
    basicService        [14] BasicServiceCode OPTIONAL,
    seizureTime         [22] TimeStamp OPTIONAL,
    answerTime          [23] TimeStamp OPTIONAL,
    releaseTime         [24] TimeStamp OPTIONAL,
    callDuration        [25] CallDuration,
    causeForTerm        [30] CauseForTerm,
    callReference       [32] CallReferenceNumber,
    sequenceNumber      [33] INTEGER OPTIONAL,
    mSCAddress          [39] MSCAddress OPTIONAL
}

MTCallRecord ::= SET {
    recordType          [0] RecordType,
    servedIMSI          [1] IMSI,
    servedIMEI          [2] IMEI OPTIONAL,
    servedMSISDN        [3] CalledNumber OPTIONAL,
    callingNumber       [4] CallingNumber OPTIONAL,
    recordingEntity     [6] RecordingEntity,
    mscIncomingTKGP     [7] TrunkGroup OPTIONAL,
    mscOutgoingTKGP     [8] TrunkGroup OPTIONAL,
    location            [9] LocationAreaAndCell OPTIONAL,
    basicService        [11] BasicServiceCode OPTIONAL,
    seizureTime         [19] TimeStamp OPTIONAL,
    answerTime          [20] TimeStamp OPTIONAL,
    releaseTime         [21] TimeStamp OPTIONAL,
    callDuration        [22] CallDuration,
    causeForTerm        [27] CauseForTerm,
    callReference       [29] CallReferenceNumber,
    sequenceNumber      [30] INTEGER OPTIONAL,
    mSCAddress          [34] MSCAddress OPTIONAL
}

MOSMSRecord ::= SET {
    recordType          [0] RecordType,
    servedIMSI          [1] IMSI,
    servedIMEI          [2] IMEI OPTIONAL,
    servedMSISDN        [3] MSISDN OPTIONAL,
    msClassmark         [4] Classmark,
    serviceCentre       [5] AddressString,
    recordingEntity     [6] RecordingEntity,
    location            [7] LocationAreaAndCell OPTIONAL,
    messageReference    [8] MessageReference,
    originationTime     [9] TimeStamp,
    destinationNumber   [12] SmsTpDestinationNumber OPTIONAL,
    cAMELSMSInformation [13] CAMELSMSInformation OPTIONAL
}

MTSMSRecord ::= SET {
    recordType          [0] RecordType,
    serviceCentre       [1] AddressString,
    servedIMSI          [2] IMSI,
    servedIMEI          [3] IMEI OPTIONAL,
    servedMSISDN        [4] MSISDN OPTIONAL,
    msClassmark         [5] Classmark,
    recordingEntity     [6] RecordingEntity,
    location            [7] LocationAreaAndCell OPTIONAL,
    deliveryTime        [8] TimeStamp,
    cAMELSMSInformation [12] CAMELSMSInformation OPTIONAL
}

PGWRecord ::= SET {
    recordType              [0] RecordType,
    servedIMSI              [3] IMSI OPTIONAL,
    p-GWAddress             [4] GSNAddress,
    chargingID              [5] ChargingID,
    servingNodeAddress      [6] SEQUENCE OF GSNAddress,
    accessPointNameNI       [7] AccessPointNameNI OPTIONAL,
    listOfTrafficVolumes    [12] SEQUENCE OF ChangeOfCharCondition OPTIONAL,
    recordOpeningTime       [13] TimeStamp,
    duration                [14] CallDuration,
    causeForRecClosing      [15] CauseForRecClosing,
    recordSequenceNumber    [17] INTEGER OPTIONAL,
    servedMSISDN            [22] MSISDN OPTIONAL,
    chargingCharacteristics [23] ChargingCharacteristics,
    servedIMEI              [29] IMEI OPTIONAL,
    rATType                 [30] RATType OPTIONAL,
    userLocationInformation [32] OCTET STRING OPTIONAL,
    servingNodeType         [35] SEQUENCE OF ServingNodeType
}

CAMELSMSInformation ::= SET {
    callingPartyNumber  [5] CallingNumber OPTIONAL,
    smsReferenceNumber  [8] CallReferenceNumber OPTIONAL
}

LocationAreaAndCell ::= SEQUENCE {
    locationAreaCode    [0] LocationAreaCode,
    cellId              [1] CellId,
    mCC-MNC             [2] MCC-MNC OPTIONAL
}

ChangeOfCharCondition ::= SEQUENCE {
    dataVolumeGPRSUplink    [3] DataVolumeGPRS OPTIONAL,
    dataVolumeGPRSDownlink  [4] DataVolumeGPRS OPTIONAL,
    changeCondition         [5] ChangeCondition,
    changeTime              [6] TimeStamp
}

TrunkGroup ::= CHOICE {
    tkgpNumber  [0] INTEGER,
    tkgpName    [1] GraphicString
}

BasicServiceCode ::= CHOICE {
    bearerService   [2] OCTET STRING (SIZE (1..5)),
    teleservice     [3] OCTET STRING (SIZE (1..5))
}

GSNAddress ::= IPAddress
IPAddress ::= CHOICE {
    iPBinaryAddress IPBinaryAddress,
    iPTextRepresentedAddress IPTextRepresentedAddress
}
IPBinaryAddress ::= CHOICE {
    iPBinV4Address [0] OCTET STRING (SIZE(4))
}
IPTextRepresentedAddress ::= CHOICE {
    iPTextV4Address [2] IA5String (SIZE(7..15)),
    iPTextV6Address [3] IA5String (SIZE(15..45))
}

RecordType ::= INTEGER {
    moCallRecord (0), mtCallRecord (1), moSMSRecord (6), mtSMSRecord (7), pGWRecord (85)
}
CauseForTerm ::= INTEGER {
    normalRelease (0), partialRecord (1), partialRecordCallReestablishment (2),
    unsuccessfulCallAttempt (3), abnormalRelease (4), cAMELInitCallRelease (5)
}
CauseForRecClosing ::= INTEGER {
    normalRelease (0), partialRecord (1), abnormalRelease (4), volumeLimit (16),
    timeLimit (17), servingNodeChange (18), maxChangeCond (19)
}
ChangeCondition ::= ENUMERATED {
    qoSChange (0), tariffTime (1), recordClosure (2)
}
ServingNodeType ::= ENUMERATED {
    sGSN (0), pMIPSGW (1), gTPSGW (2), ePDG (3), hSGW (4), mME (5), tWAN (6)
}

IMSI ::= OCTET STRING (SIZE (3..8))
IMEI ::= OCTET STRING (SIZE (8))
AddressString ::= OCTET STRING (SIZE (1..20))
MSISDN ::= OCTET STRING (SIZE (1..9))
RecordingEntity ::= AddressString
MSCAddress ::= AddressString
BCDDirectoryNumber ::= OCTET STRING
CalledNumber ::= BCDDirectoryNumber
CallingNumber ::= BCDDirectoryNumber
SmsTpDestinationNumber ::= OCTET STRING
TimeStamp ::= OCTET STRING (SIZE(9))
CallDuration ::= INTEGER
CallReferenceNumber ::= OCTET STRING (SIZE (1..8))
LocationAreaCode ::= OCTET STRING (SIZE(2))
CellId ::= OCTET STRING (SIZE(2))
MCC-MNC ::= OCTET STRING (SIZE(3))
Classmark ::= OCTET STRING
MessageReference ::= OCTET STRING
ChargingID ::= INTEGER (0..4294967295)
AccessPointNameNI ::= IA5String (SIZE(1..63))
DataVolumeGPRS ::= INTEGER
ChargingCharacteristics ::= OCTET STRING (SIZE(2))
RATType ::= INTEGER (0..255)

END
"""

CHICAGO_WINTER = -360
MSC = "13125550000"
SMSC = "13125550001"
PGW = "10.1.2.3"


def cdr(record_type: str, **overrides: object) -> MobileCdr:
    return mobile_cdr(record_type, **{"call_reference": 123456789, **overrides})


def encode(record: MobileCdr) -> bytes:
    return ts32298.encode_call_event_record(
        record,
        recording_entity=MSC,
        service_centre=SMSC,
        node_address=PGW,
        utc_offset_minutes=CHICAGO_WINTER,
    )


@pytest.fixture(scope="module")
def subset() -> asn1tools.compiler.Specification:
    return asn1tools.compile_string(SUBSET_ASN1, "ber")


# Hand-computed octets (TS 29.002 TBCD, TS 24.008 BCD numbers, TS 32.298 TimeStamp).
MSISDN_OCTETS = bytes.fromhex("913121550521f3")  # international E.164, 13125550123
IMSI_OCTETS = bytes.fromhex("13200621436587f9")
IMEI_OCTETS = bytes.fromhex("53967810325476f8")
UK_NUMBER = bytes.fromhex("91447700091032")  # international, E.164, 447700900123
SEIZURE = bytes.fromhex("250301101500") + b"-" + bytes.fromhex("0600")
ANSWER = bytes.fromhex("250301101505") + b"-" + bytes.fromhex("0600")
RELEASE = bytes.fromhex("250301101705") + b"-" + bytes.fromhex("0600")
LOCATION = {
    "locationAreaCode": bytes.fromhex("04d2"),  # 1234
    "cellId": bytes.fromhex("162e"),  # 5678
    "mCC-MNC": bytes.fromhex("130062"),  # 310 / 260
}


def test_field_encodings_by_hand() -> None:
    assert ts32298.encode_address_string("13125550123") == MSISDN_OCTETS
    assert ts32298.encode_tbcd("310260123456789") == IMSI_OCTETS
    assert ts32298.encode_bcd_directory_number("447700900123") == UK_NUMBER
    # A short code keeps its digits, with type of number "unknown".
    assert ts32298.encode_bcd_directory_number("911") == bytes.fromhex("8119f1")
    # TS 23.040 address: 12 digits, then TON/NPI, then the digits.
    assert ts32298.encode_sms_address("447700900123") == bytes.fromhex("0c91447700091032")
    assert ts32298.encode_timestamp(T0, CHICAGO_WINTER) == SEIZURE
    assert ts32298.encode_timestamp(T0, 330) == bytes.fromhex("250301214500") + b"+\x05\x30"
    assert ts32298.encode_location("310-260-1234-5678") == LOCATION
    assert ts32298.encode_user_location("310-260-1234-5678") == bytes.fromhex("0113006204d2162e")
    assert ts32298.encode_call_reference(123456789) == bytes.fromhex("075bcd15")
    assert ts32298.encode_call_reference(0) == b"\x00"


def test_decoders_invert_the_encoders() -> None:
    assert ts32298.decode_timestamp(SEIZURE) == T0
    assert ts32298.decode_timestamp(ts32298.encode_timestamp(T0, 330)) == T0
    assert ts32298.decode_address_string(MSISDN_OCTETS) == (1, "13125550123")
    assert ts32298.decode_bcd_directory_number(bytes.fromhex("8119f1")) == (0, "911")
    assert ts32298.decode_sms_address(bytes.fromhex("0c91447700091032")) == (1, "447700900123")
    assert ts32298.decode_user_location(bytes.fromhex("0113006204d2162e")) == "310-260-1234-5678"
    with pytest.raises(ValueError):
        ts32298.decode_timestamp(bytes.fromhex("2513011015002d0600"))  # month 13


def test_mo_call_agrees_with_asn1tools(subset: asn1tools.compiler.Specification) -> None:
    ber = encode(cdr("voice_mo", outgoing_trunk_group="TG-ATT-01", record_sequence_number=2))
    alternative, other = subset.decode("CallEventRecord", ber)
    assert alternative == "moCallRecord"
    assert other == {
        "recordType": 0,
        "servedIMSI": IMSI_OCTETS,
        "servedIMEI": IMEI_OCTETS,
        "servedMSISDN": MSISDN_OCTETS,
        "callingNumber": MSISDN_OCTETS,
        "calledNumber": UK_NUMBER,
        "recordingEntity": bytes.fromhex("913121550500f0"),
        "mscOutgoingTKGP": ("tkgpName", "TG-ATT-01"),
        "location": LOCATION,
        "basicService": ("teleservice", b"\x11"),
        "seizureTime": SEIZURE,
        "answerTime": ANSWER,
        "releaseTime": RELEASE,
        "callDuration": 120,
        "causeForTerm": 0,
        "callReference": bytes.fromhex("075bcd15"),
        "sequenceNumber": 2,
        "mSCAddress": bytes.fromhex("913121550500f0"),
    }
    assert ts32298.decode_call_event_record(ber) == (alternative, other)


def test_unanswered_mt_call_agrees_with_asn1tools(
    subset: asn1tools.compiler.Specification,
) -> None:
    record = cdr(
        "voice_mt",
        answered_at=None,
        ended_at=T0 + timedelta(seconds=20),
        release_cause="unsuccessfulCallAttempt",
        incoming_trunk_group="TG-VZ-02",
    )
    ber = encode(record)
    alternative, other = subset.decode("CallEventRecord", ber)
    assert alternative == "mtCallRecord"
    assert "answerTime" not in other
    assert other["callDuration"] == 0
    assert other["causeForTerm"] == 3
    assert other["callingNumber"] == UK_NUMBER
    assert other["mscIncomingTKGP"] == ("tkgpName", "TG-VZ-02")
    assert other["releaseTime"] == bytes.fromhex("250301101520") + b"-" + bytes.fromhex("0600")
    assert ts32298.decode_call_event_record(ber) == (alternative, other)


@pytest.mark.parametrize("record_type", ["sms_mo", "sms_mt"])
def test_sms_agrees_with_asn1tools(
    subset: asn1tools.compiler.Specification, record_type: str
) -> None:
    ber = encode(cdr(record_type, call_reference=4242))
    alternative, other = subset.decode("CallEventRecord", ber)
    assert other["servedMSISDN"] == MSISDN_OCTETS
    assert other["serviceCentre"] == bytes.fromhex("913121550500f1")
    assert other["cAMELSMSInformation"]["smsReferenceNumber"] == bytes.fromhex("1092")
    if record_type == "sms_mo":
        assert alternative == "moSMSRecord"
        assert other["originationTime"] == SEIZURE
        assert other["destinationNumber"] == bytes.fromhex("0c91447700091032")
        assert other["messageReference"] == bytes([4242 % 256])
    else:
        assert alternative == "mtSMSRecord"
        assert other["deliveryTime"] == SEIZURE
        assert other["cAMELSMSInformation"]["callingPartyNumber"] == UK_NUMBER
    assert ts32298.decode_call_event_record(ber) == (alternative, other)


def test_pgw_record_agrees_with_asn1tools(subset: asn1tools.compiler.Specification) -> None:
    ber = encode(cdr("data", record_sequence_number=3, release_cause="timeLimit"))
    alternative, other = subset.decode("CallEventRecord", ber)
    assert alternative == "pGWRecord"
    gateway = ("iPBinaryAddress", ("iPBinV4Address", bytes([10, 1, 2, 3])))
    assert other == {
        "recordType": 85,
        "servedIMSI": IMSI_OCTETS,
        "p-GWAddress": gateway,
        "chargingID": 777,
        "servingNodeAddress": [gateway],
        "accessPointNameNI": "internet",
        "listOfTrafficVolumes": [
            {
                "dataVolumeGPRSUplink": 1000,
                "dataVolumeGPRSDownlink": 20000,
                "changeCondition": "recordClosure",
                "changeTime": RELEASE,
            }
        ],
        "recordOpeningTime": SEIZURE,
        "duration": 125,
        "causeForRecClosing": 17,
        "recordSequenceNumber": 3,
        "servedMSISDN": MSISDN_OCTETS,
        "chargingCharacteristics": b"\x08\x00",
        "servedIMEI": IMEI_OCTETS,
        "rATType": 6,
        "userLocationInformation": bytes.fromhex("0113006204d2162e"),
        "servingNodeType": ["gTPSGW"],
    }
    assert ts32298.decode_call_event_record(ber) == (alternative, other)


def test_encoder_refuses_what_it_cannot_write() -> None:
    with pytest.raises(ValueError):
        encode(cdr("voice_mo", release_cause="notACause"))
    with pytest.raises(ValueError):
        encode(cdr("data", charging_id=None))
    with pytest.raises(ValueError):
        encode(cdr("voice_mo", cell_id="1234-5678"))


def test_decoder_refuses_non_records() -> None:
    good = encode(cdr("voice_mo"))
    for bad in (b"", b"\x30\x00", good + b"\x00", good[:-1], b"\xbf\x83\x7f\x00"):
        with pytest.raises(ts32298.UndecodableRecordError):
            ts32298.decode_call_event_record(bad)


def _write(path: Path, items: list[MobileCdr | bytes]) -> bytes:
    ts32298.write_cdr_file(
        path,
        items,
        node_address=PGW,
        file_sequence_number=7,
        opened_at=T0,
        closed_at=T0 + timedelta(hours=1),
        utc_offset_minutes=CHICAGO_WINTER,
        recording_entity=MSC,
        service_centre=SMSC,
    )
    return path.read_bytes()


def test_write_cdr_file_is_deterministic_and_writes_bytes_verbatim(tmp_path: Path) -> None:
    items: list[MobileCdr | bytes] = [cdr("voice_mo"), b"\xde\xad\xbe\xef", cdr("data")]
    first = _write(tmp_path / "a.ber", items)
    second = _write(tmp_path / "b.ber", list(items))
    assert first == second
    # The corrupt payload sits behind its own 5-octet CDR header, untouched.
    voice_length = len(encode(cdr("voice_mo")))
    start = 54 + 5 + voice_length
    assert first[start : start + 9] == bytes.fromhex("0004e02605") + b"\xde\xad\xbe\xef"
