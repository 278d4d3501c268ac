"""The TS 32.298 code tables the BER feed's parsers read, written out as literals.

pycrate's compiled TS 32.298 modules (``pycrate_asn1dir.CDR``) hold these tables too, but
importing them takes 4-6 CPU-seconds and about 55 MiB in every process that mediates; the
Numba fast path (``kernels.ber_api``, ``kernels.ber_columns``, ``ts32298_ber_fast``) reads
records without them, so it takes its tables from here and loads pycrate only when a record
needs the library decoder. tests/mediation/test_ts32298_codes.py checks every table against
pycrate's modules (GenericChargingDataTypes, GPRSChargingDataTypes) and against
``pipelines.formats.ts32298``, which derives the same names from them.
"""

from __future__ import annotations

#: CallEventRecord alternative -> (record_type, service, direction).
RECORD_TYPES = {
    "moCallRecord": ("voice_mo", "voice", "outbound"),
    "mtCallRecord": ("voice_mt", "voice", "inbound"),
    "moSMSRecord": ("sms_mo", "sms", "outbound"),
    "mtSMSRecord": ("sms_mt", "sms", "inbound"),
    "pGWRecord": ("data", "data", "none"),
}

#: Largest (record)sequenceNumber a partial PGW or call record may carry (partial_sequence
#: is int32).
PARTIAL_SEQUENCE_MAX = 2**31 - 1

#: CauseForTerm (GenericChargingDataTypes) code -> name.
CAUSE_FOR_TERM_NAMES = {
    0: "normalRelease",
    1: "partialRecord",
    2: "partialRecordCallReestablishment",
    3: "unsuccessfulCallAttempt",
    4: "abnormalRelease",
    5: "cAMELInitCallRelease",
    52: "unauthorizedRequestingNetwork",
    53: "unauthorizedLCSClient",
    54: "positionMethodFailure",
    58: "unknownOrUnreachableLCSClient",
}

#: CauseForRecClosing (GenericChargingDataTypes) code -> name.
CAUSE_FOR_REC_CLOSING_NAMES = {
    0: "normalRelease",
    1: "partialRecord",
    4: "abnormalRelease",
    5: "cAMELInitCallRelease",
    16: "volumeLimit",
    17: "timeLimit",
    18: "servingNodeChange",
    19: "maxChangeCond",
    20: "managementIntervention",
    21: "intraSGSNIntersystemChange",
    22: "rATChange",
    23: "mSTimeZoneChange",
    24: "sGSNPLMNIDChange",
    25: "sGWChange",
    26: "aPNAMBRChange",
    27: "mOExceptionDataCounterReceipt",
    52: "unauthorizedRequestingNetwork",
    53: "unauthorizedLCSClient",
    54: "positionMethodFailure",
    58: "unknownOrUnreachableLCSClient",
    59: "listofDownstreamNodeChange",
}

#: CauseForRecClosing codes that close a partial record while the session goes on, and
#: CauseForTerm codes that close a partial call record while the call goes on: the sets
#: ``pipelines.formats.ts32298`` documents (PARTIAL_CLOSING_CAUSES, CALL_PARTIAL_CAUSES).
PARTIAL_CLOSING_CAUSES = frozenset({1, 16, 17, 18, 19, 21, 22, 23, 24, 25, 26, 27, 59})
CALL_PARTIAL_CAUSES = frozenset({1, 2})

#: The ENUMERATED codes of a pGWRecord's listOfTrafficVolumes changeCondition
#: (ChangeCondition) and of its servingNodeType (ServingNodeType): the values the library
#: decoder accepts; the kernel hands any other to it.
CHANGE_CONDITION_CODES = frozenset({0, 1, 2, *range(6, 22)})
SERVING_NODE_TYPE_CODES = frozenset(range(7))
