"""Fixed VoIP calls as FreeSWITCH, a Cisco CUCM cluster and an OpenSIPS SBC record them.

Most fixed lines stay on the Asterisk switch; ``line_switches`` puts some on each of the
other three. Calls are modelled once, as ``AsteriskCall`` (traffic.py), and a line's calls
are then written in its switch's format, each a clean record its mediation parser accepts
(docs/formats/). Injected anomalies stay on Asterisk, so these feeds carry none.

The OpenSIPS layout the parser reads (``CGRATES_LAYOUT``) has no column naming the peer a
call came from, so every call in it reads as outbound: the SBC accounts only the calls its
lines make, and calls to its lines arrive over the Asterisk switch's carrier trunks.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from pipelines.generate.asterisk_writer import local_time
from pipelines.generate.catalog import (
    ASTERISK_SWITCH,
    CUCM_CLUSTER,
    CUCM_TRUNK_DEVICES,
    FREESWITCH_SWITCH,
    OPENSIPS_SWITCH,
)
from pipelines.generate.customers import Subscriber
from pipelines.generate.traffic import FIXED_CONTEXT_OUT, AsteriskCall
from pipelines.schema import Feed

#: Feed of each fixed VoIP switch.
FIXED_SWITCH_FEEDS = {
    ASTERISK_SWITCH: Feed.ASTERISK_CDR_CSV,
    FREESWITCH_SWITCH: Feed.FREESWITCH_CDR_CSV,
    CUCM_CLUSTER: Feed.CISCO_CUCM_CDR,
    OPENSIPS_SWITCH: Feed.OPENSIPS_FLATSTORE,
}
#: Fixed lines in subscriber id order, by position modulo ``LINE_CYCLE``: positions listed
#: here are served by that switch, the rest (five in eight) by Asterisk. The first four
#: positions cover every switch, so even a tiny operator exercises each format.
LINE_CYCLE = 8
SWITCH_BY_POSITION = {1: FREESWITCH_SWITCH, 2: CUCM_CLUSTER, 3: OPENSIPS_SWITCH}


def line_switches(subscribers: Iterable[Subscriber]) -> dict[str, str]:
    """Each fixed line's switch, keyed by its 10-digit national number (as switches write it)."""
    fixed = sorted(
        (s for s in subscribers if s.service_type == "fixed_voip"), key=lambda s: s.subscriber_id
    )
    return {
        line.msisdn[1:]: SWITCH_BY_POSITION.get(n % LINE_CYCLE, ASTERISK_SWITCH)
        for n, line in enumerate(fixed)
    }


def is_outbound(call: AsteriskCall) -> bool:
    """Made by our line (rather than arriving on a trunk for it)."""
    return call.dcontext == FIXED_CONTEXT_OUT


def route_calls(
    calls: list[AsteriskCall], switches: dict[str, str]
) -> dict[str, list[AsteriskCall]]:
    """Split normal fixed calls by the switch that records them: the served line's switch."""
    routed: dict[str, list[AsteriskCall]] = {switch: [] for switch in FIXED_SWITCH_FEEDS}
    for call in calls:
        if is_outbound(call):
            switch = switches.get(call.src, ASTERISK_SWITCH)
        else:
            switch = switches.get(call.dst, ASTERISK_SWITCH)
            if switch == OPENSIPS_SWITCH:
                switch = ASTERISK_SWITCH
        routed[switch].append(call)
    return routed


@dataclass(frozen=True)
class RenderedCall:
    """One call in a switch's format: its text (lines ending in a newline) and its key."""

    end: int  # epoch seconds the switch recorded the call's end (picks the hourly file)
    text: str
    record_key: str


def render_calls(calls: list[AsteriskCall], switch_id: str, tz: ZoneInfo) -> list[RenderedCall]:
    """Number one switch's calls in start order, as it would, and write each in its format."""
    ordered = sorted(calls, key=lambda call: call.start)  # stable: same-second calls keep order
    feed = FIXED_SWITCH_FEEDS[switch_id]
    if feed is Feed.FREESWITCH_CDR_CSV:
        return [freeswitch_call(call, switch_id, n, tz) for n, call in enumerate(ordered)]
    if feed is Feed.CISCO_CUCM_CDR:
        return [cucm_call(call, n) for n, call in enumerate(ordered)]
    if feed is Feed.OPENSIPS_FLATSTORE:
        return [opensips_call(call, switch_id, n) for n, call in enumerate(ordered)]
    raise ValueError(f"switch {switch_id} is not written by this module")


def _digest(*parts: object) -> bytes:
    return hashlib.sha256(":".join(str(part) for part in parts).encode()).digest()


def _uuid(*parts: object) -> str:
    """A version 4 style UUID fixed by ``parts`` (a seed-stable stand-in for a random one)."""
    return str(uuid.UUID(bytes=_digest(*parts)[:16], version=4))


def _trunk(call: AsteriskCall) -> str | None:
    """The trunk group the call used: outgoing when it left the network, else incoming."""
    if is_outbound(call):
        return call.dstchannel_endpoint if "@" in call.lastdata else None
    return call.channel_endpoint


def plus_e164(number: str) -> str:
    """A number as Asterisk writes it (national, ``011``..., ``+``...) in +E.164; short
    codes (911) as they are."""
    if number.startswith("+"):
        return number
    if number.startswith("011"):
        return "+" + number[3:]
    if len(number) == 10:
        return "+1" + number
    if len(number) == 11 and number.startswith("1"):
        return "+" + number
    return number


# --- FreeSWITCH mod_cdr_csv, `example` template -------------------------------------------

#: Q.850 cause names FreeSWITCH writes in hangup_cause, by outcome.
FREESWITCH_CAUSES = {
    "ANSWERED": "NORMAL_CLEARING",
    "NO ANSWER": "NO_ANSWER",
    "BUSY": "USER_BUSY",
    "FAILED": "NORMAL_TEMPORARY_FAILURE",
}
FREESWITCH_OUTBOUND_CONTEXT = "default"  # registered users' user_context
FREESWITCH_INBOUND_CONTEXT = "public"
FREESWITCH_CODEC = "PCMU"


def freeswitch_call(call: AsteriskCall, switch_id: str, n: int, tz: ZoneInfo) -> RenderedCall:
    """The A leg's Master.csv line (``legs=a``), every field quoted, nothing escaped.

    Numbers are written as dialled and presented, like on Asterisk; no value holds a quote,
    comma or newline (caller_id_name is the number, as with no directory name set).
    """
    a_leg = _uuid(switch_id, n, "a")
    # A call that failed before a B leg was originated has no bleg_uuid.
    b_leg = "" if call.disposition == "FAILED" else _uuid(switch_id, n, "b")
    outbound = is_outbound(call)
    fields = [
        call.src,
        call.src,
        call.dst,
        FREESWITCH_OUTBOUND_CONTEXT if outbound else FREESWITCH_INBOUND_CONTEXT,
        local_time(call.start, tz),
        local_time(call.answer, tz) if call.answer is not None else "",
        local_time(call.end, tz),
        str(call.end - call.start),
        str(call.end - call.answer if call.answer is not None else 0),
        FREESWITCH_CAUSES[call.disposition],
        a_leg,
        b_leg,
        call.accountcode,
        FREESWITCH_CODEC,
        FREESWITCH_CODEC,
    ]
    return RenderedCall(call.end, ",".join(f'"{field}"' for field in fields) + "\n", a_leg)


# --- Cisco Unified CM CDR flat file (release 12.5+, 133 columns) ---------------------------

#: The header of a release 12.5+ CDR file: field names in file order, and their types.
CUCM_COLUMNS = (
    ("cdrRecordType", "INTEGER"), ("globalCallID_callManagerId", "INTEGER"),
    ("globalCallID_callId", "INTEGER"), ("origLegCallIdentifier", "INTEGER"),
    ("dateTimeOrigination", "INTEGER"), ("origNodeId", "INTEGER"), ("origSpan", "INTEGER"),
    ("origIpAddr", "INTEGER"), ("callingPartyNumber", "VARCHAR(50)"),
    ("callingPartyUnicodeLoginUserID", "VARCHAR(128)"), ("origCause_location", "INTEGER"),
    ("origCause_value", "INTEGER"), ("origPrecedenceLevel", "INTEGER"),
    ("origMediaTransportAddress_IP", "INTEGER"), ("origMediaTransportAddress_Port", "INTEGER"),
    ("origMediaCap_payloadCapability", "INTEGER"), ("origMediaCap_maxFramesPerPacket", "INTEGER"),
    ("origMediaCap_g723BitRate", "INTEGER"), ("origVideoCap_Codec", "INTEGER"),
    ("origVideoCap_Bandwidth", "INTEGER"), ("origVideoCap_Resolution", "INTEGER"),
    ("origVideoTransportAddress_IP", "INTEGER"), ("origVideoTransportAddress_Port", "INTEGER"),
    ("origRSVPAudioStat", "VARCHAR(64)"), ("origRSVPVideoStat", "VARCHAR(64)"),
    ("destLegIdentifier", "INTEGER"), ("destNodeId", "INTEGER"), ("destSpan", "INTEGER"),
    ("destIpAddr", "INTEGER"), ("originalCalledPartyNumber", "VARCHAR(50)"),
    ("finalCalledPartyNumber", "VARCHAR(50)"),
    ("finalCalledPartyUnicodeLoginUserID", "VARCHAR(128)"), ("destCause_location", "INTEGER"),
    ("destCause_value", "INTEGER"), ("destPrecedenceLevel", "INTEGER"),
    ("destMediaTransportAddress_IP", "INTEGER"), ("destMediaTransportAddress_Port", "INTEGER"),
    ("destMediaCap_payloadCapability", "INTEGER"), ("destMediaCap_maxFramesPerPacket", "INTEGER"),
    ("destMediaCap_g723BitRate", "INTEGER"), ("destVideoCap_Codec", "INTEGER"),
    ("destVideoCap_Bandwidth", "INTEGER"), ("destVideoCap_Resolution", "INTEGER"),
    ("destVideoTransportAddress_IP", "INTEGER"), ("destVideoTransportAddress_Port", "INTEGER"),
    ("destRSVPAudioStat", "VARCHAR(64)"), ("destRSVPVideoStat", "VARCHAR(64)"),
    ("dateTimeConnect", "INTEGER"), ("dateTimeDisconnect", "INTEGER"),
    ("lastRedirectDn", "VARCHAR(50)"), ("pkid", "UNIQUEIDENTIFIER"),
    ("originalCalledPartyNumberPartition", "VARCHAR(50)"),
    ("callingPartyNumberPartition", "VARCHAR(50)"),
    ("finalCalledPartyNumberPartition", "VARCHAR(50)"),
    ("lastRedirectDnPartition", "VARCHAR(50)"), ("duration", "INTEGER"),
    ("origDeviceName", "VARCHAR(129)"), ("destDeviceName", "VARCHAR(129)"),
    ("origCallTerminationOnBehalfOf", "INTEGER"), ("destCallTerminationOnBehalfOf", "INTEGER"),
    ("origCalledPartyRedirectOnBehalfOf", "INTEGER"),
    ("lastRedirectRedirectOnBehalfOf", "INTEGER"), ("origCalledPartyRedirectReason", "INTEGER"),
    ("lastRedirectRedirectReason", "INTEGER"), ("destConversationId", "INTEGER"),
    ("globalCallId_ClusterID", "VARCHAR(50)"), ("joinOnBehalfOf", "INTEGER"),
    ("comment", "VARCHAR(2048)"), ("authCodeDescription", "VARCHAR(50)"),
    ("authorizationLevel", "INTEGER"), ("clientMatterCode", "VARCHAR(32)"),
    ("origDTMFMethod", "INTEGER"), ("destDTMFMethod", "INTEGER"),
    ("callSecuredStatus", "INTEGER"), ("origConversationId", "INTEGER"),
    ("origMediaCap_Bandwidth", "INTEGER"), ("destMediaCap_Bandwidth", "INTEGER"),
    ("authorizationCodeValue", "VARCHAR(32)"), ("outpulsedCallingPartyNumber", "VARCHAR(50)"),
    ("outpulsedCalledPartyNumber", "VARCHAR(50)"), ("origIpv4v6Addr", "VARCHAR(64)"),
    ("destIpv4v6Addr", "VARCHAR(64)"), ("origVideoCap_Codec_Channel2", "INTEGER"),
    ("origVideoCap_Bandwidth_Channel2", "INTEGER"),
    ("origVideoCap_Resolution_Channel2", "INTEGER"),
    ("origVideoTransportAddress_IP_Channel2", "INTEGER"),
    ("origVideoTransportAddress_Port_Channel2", "INTEGER"),
    ("origVideoChannel_Role_Channel2", "INTEGER"), ("destVideoCap_Codec_Channel2", "INTEGER"),
    ("destVideoCap_Bandwidth_Channel2", "INTEGER"),
    ("destVideoCap_Resolution_Channel2", "INTEGER"),
    ("destVideoTransportAddress_IP_Channel2", "INTEGER"),
    ("destVideoTransportAddress_Port_Channel2", "INTEGER"),
    ("destVideoChannel_Role_Channel2", "INTEGER"), ("IncomingProtocolID", "INTEGER"),
    ("IncomingProtocolCallRef", "VARCHAR(32)"), ("OutgoingProtocolID", "INTEGER"),
    ("OutgoingProtocolCallRef", "VARCHAR(32)"), ("currentRoutingReason", "INTEGER"),
    ("origRoutingReason", "INTEGER"), ("lastRedirectingRoutingReason", "INTEGER"),
    ("huntPilotPartition", "VARCHAR(50)"), ("huntPilotDN", "VARCHAR(50)"),
    ("calledPartyPatternUsage", "INTEGER"), ("IncomingICID", "VARCHAR(50)"),
    ("IncomingOrigIOI", "VARCHAR(50)"), ("IncomingTermIOI", "VARCHAR(50)"),
    ("OutgoingICID", "VARCHAR(50)"), ("OutgoingOrigIOI", "VARCHAR(50)"),
    ("OutgoingTermIOI", "VARCHAR(50)"), ("outpulsedOriginalCalledPartyNumber", "VARCHAR(50)"),
    ("outpulsedLastRedirectingNumber", "VARCHAR(50)"), ("wasCallQueued", "INTEGER"),
    ("totalWaitTimeInQueue", "INTEGER"), ("callingPartyNumber_uri", "VARCHAR(255)"),
    ("originalCalledPartyNumber_uri", "VARCHAR(255)"),
    ("finalCalledPartyNumber_uri", "VARCHAR(255)"), ("lastRedirectDn_uri", "VARCHAR(255)"),
    ("mobileCallingPartyNumber", "VARCHAR(50)"), ("finalMobileCalledPartyNumber", "VARCHAR(50)"),
    ("origMobileDeviceName", "VARCHAR(129)"), ("destMobileDeviceName", "VARCHAR(129)"),
    ("origMobileCallDuration", "INTEGER"), ("destMobileCallDuration", "INTEGER"),
    ("mobileCallType", "INTEGER"), ("originalCalledPartyPattern", "VARCHAR(50)"),
    ("finalCalledPartyPattern", "VARCHAR(50)"), ("lastRedirectingPartyPattern", "VARCHAR(50)"),
    ("huntPilotPattern", "VARCHAR(50)"), ("origDeviceType", "VARCHAR(100)"),
    ("destDeviceType", "VARCHAR(100)"), ("origDeviceSessionID", "VARCHAR(128)"),
    ("destDeviceSessionID", "VARCHAR(128)"),
)  # fmt: skip
#: Line 1 (quoted names) and line 2 (types) of every CDR file.
CUCM_HEADER = (
    ",".join(f'"{name}"' for name, _ in CUCM_COLUMNS)
    + "\n"
    + ",".join(kind for _, kind in CUCM_COLUMNS)
    + "\n"
)
#: The cluster's call manager node (its id in the call ids, its number in file names).
CUCM_NODE_ID = 1
CUCM_NODE = "01"
FIRST_CUCM_CALL_ID = 1_000_001
FIRST_CUCM_LEG_ID = 30_000_001
#: The side that cleared the call and its cause (Q.850), by outcome: the caller hangs up an
#: answered call; the destination ends the others.
CUCM_CAUSES = {
    "ANSWERED": ("origCause_value", 16),
    "NO ANSWER": ("destCause_value", 19),
    "BUSY": ("destCause_value", 17),
    "FAILED": ("destCause_value", 41),
}
CUCM_PHONE_TYPE = "Cisco 8845"
CUCM_TRUNK_TYPE = "SIP Trunk"


def cucm_phone(national_number: str) -> str:
    """The ``SEP<MAC>`` device of a line's phone (a MAC address fixed by the number)."""
    return "SEP" + _digest("phone", national_number)[:6].hex().upper()


def cucm_call(call: AsteriskCall, n: int) -> RenderedCall:
    """One CDR row: +E.164 numbers (a globalized dial plan), UTC epoch times, trunks as
    ``SIP_...`` devices; INTEGER fields bare, the rest quoted."""
    values: dict[str, object] = {
        name: 0 if kind == "INTEGER" else "" for name, kind in CUCM_COLUMNS
    }
    call_id = FIRST_CUCM_CALL_ID + n
    orig_leg = FIRST_CUCM_LEG_ID + 2 * n
    dest_leg = orig_leg + 1
    trunk = _trunk(call)
    trunk_device = CUCM_TRUNK_DEVICES[trunk] if trunk is not None else ""
    calling, called = plus_e164(call.src), plus_e164(call.dst)
    if is_outbound(call):
        orig_device = cucm_phone(call.src)
        dest_device = trunk_device or cucm_phone(call.dst)
        orig_partition, dest_partition = "PT_Internal", "PT_PSTN" if trunk else "PT_Internal"
    else:
        orig_device, dest_device = trunk_device, cucm_phone(call.dst)
        orig_partition, dest_partition = "PT_PSTN", "PT_Internal"
    cause_column, cause = CUCM_CAUSES[call.disposition]
    values.update(
        {
            "cdrRecordType": 1,
            "globalCallID_callManagerId": CUCM_NODE_ID,
            "globalCallID_callId": call_id,
            "origLegCallIdentifier": orig_leg,
            "dateTimeOrigination": call.start,
            "origNodeId": CUCM_NODE_ID,
            "callingPartyNumber": calling,
            "origPrecedenceLevel": 4,
            "destLegIdentifier": dest_leg,
            "destNodeId": CUCM_NODE_ID,
            "originalCalledPartyNumber": called,
            "finalCalledPartyNumber": called,
            "destPrecedenceLevel": 4,
            cause_column: cause,
            "dateTimeConnect": call.answer or 0,
            "dateTimeDisconnect": call.end,
            "pkid": _uuid(CUCM_CLUSTER, call_id),
            "originalCalledPartyNumberPartition": dest_partition,
            "callingPartyNumberPartition": orig_partition,
            "finalCalledPartyNumberPartition": dest_partition,
            "duration": call.end - call.answer if call.answer is not None else 0,
            "origDeviceName": orig_device,
            "destDeviceName": dest_device,
            "globalCallId_ClusterID": CUCM_CLUSTER,
            "origDTMFMethod": 3,
            "destDTMFMethod": 3,
            "origDeviceType": CUCM_TRUNK_TYPE if orig_device.startswith("SIP") else CUCM_PHONE_TYPE,
            "destDeviceType": CUCM_TRUNK_TYPE if dest_device.startswith("SIP") else CUCM_PHONE_TYPE,
        }
    )
    if call.answer is not None:
        # Media was negotiated: G.711 mu-law (payload 4) in 20 ms frames, 64 kbit/s.
        for side in ("orig", "dest"):
            values[f"{side}MediaCap_payloadCapability"] = 4
            values[f"{side}MediaCap_maxFramesPerPacket"] = 20
            values[f"{side}MediaCap_Bandwidth"] = 64
    text = ",".join(
        str(values[name]) if kind == "INTEGER" else f'"{values[name]}"'
        for name, kind in CUCM_COLUMNS
    )
    key = f"{CUCM_NODE_ID}:{call_id}:{orig_leg}:{dest_leg}"
    return RenderedCall(call.end, text + "\n", key)


# --- OpenSIPS acc flatstore, CGRATES_LAYOUT ------------------------------------------------

#: The final reply to an unanswered INVITE, by outcome.
OPENSIPS_REPLIES = {
    "NO ANSWER": "487|Request Terminated",
    "BUSY": "486|Busy Here",
    "FAILED": "503|Service Unavailable",
}
OPENSIPS_ADDRESS = "10.20.0.31"  # the SBC's signalling address, in its Call-IDs
OPENSIPS_REQUEST_TYPE = "*postpaid"


def opensips_call(call: AsteriskCall, switch_id: str, n: int) -> RenderedCall:
    """The INVITE line (written at its final reply) and, when answered, the caller's BYE line.

    Extras: request type, caller (E.164 digits), destination as dialled, the unnamed extra
    (always empty) and the dialog id. Times are UTC epoch seconds.
    """
    digest = _digest(switch_id, n).hex()
    from_tag, to_tag = digest[:10], digest[10:20]
    callid = f"{digest[20:44]}@{OPENSIPS_ADDRESS}"
    dialog = f"{n % 4096}:{n + 1}"
    dialog_core = f"{from_tag}|{to_tag}|{callid}"
    extras = f"{OPENSIPS_REQUEST_TYPE}|1{call.src}|{call.dst}||{dialog}"
    if call.answer is None:
        text = f"INVITE|{dialog_core}|{OPENSIPS_REPLIES[call.disposition]}|{call.end}|{extras}\n"
    else:
        text = (
            f"INVITE|{dialog_core}|200|OK|{call.answer}|{extras}\n"
            f"BYE|{dialog_core}|200|OK|{call.end}|||||{dialog}\n"
        )
    return RenderedCall(call.end, text, f"{callid}:{from_tag}")
