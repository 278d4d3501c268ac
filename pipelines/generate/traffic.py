"""Usage events: what the Asterisk switch and the MSC/PGW record for each subscriber-day.

Events are built first without switch counters (Asterisk channel numbers, MSC call
references, PGW charging ids); ``number_asterisk_calls`` and ``number_mobile_sessions``
assign those in time order once every event, injected anomalies included, is known, as a
switch would. Times are integer epoch seconds (switches truncate to the second).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import phonenumbers

from pipelines.formats.cdr_events import MobileCdr, MobileRecordType
from pipelines.generate.catalog import (
    DESTINATIONS,
    TOLL_FREE_CODES,
    TRUNK_INTERNATIONAL,
    TRUNK_LEC_IN,
    TRUNK_LEC_OUT,
    TRUNK_MOBILE,
    TRUNK_SATELLITE,
    Destination,
)
from pipelines.generate.customers import CustomerBase, Subscriber
from pipelines.generate.numbering import (
    example_national_number,
    random_nanp_number,
    random_number_like,
)

# Relative call attempts per local hour 00..23: quiet nights, a late-morning and an
# early-evening peak.
VOICE_BY_HOUR = np.array([0.3, 0.2, 0.1, 0.1, 0.1, 0.3, 0.8, 1.8, 3.0, 4.2, 4.8, 5.0,
                          4.8, 4.6, 4.6, 4.7, 5.0, 5.3, 5.5, 5.0, 4.2, 3.2, 2.0, 0.9])  # fmt: skip
# Data sessions: flatter, heaviest in the evening.
DATA_BY_HOUR = np.array([1.0, 0.6, 0.4, 0.3, 0.3, 0.5, 1.2, 2.2, 2.8, 3.0, 3.0, 3.2,
                         3.5, 3.2, 3.0, 3.0, 3.2, 3.6, 4.2, 4.8, 5.2, 5.0, 4.0, 2.2])  # fmt: skip

# Mean events per line and day (before the activity multiplier).
MOBILE_CALLS_PER_DAY = 3.0
MOBILE_SMS_PER_DAY = 2.0
MOBILE_DATA_SESSIONS_PER_DAY = 3.0
FIXED_CALLS_PER_DAY = 3.0

# How an answered call's talk time and a data session's length are spread (lognormal).
TALK_MEDIAN_SECONDS = 100.0
SESSION_MEDIAN_SECONDS = 1200.0
SESSION_MEDIAN_BYTES = 25e6
# A PGW closes a partial record after an hour of session (causeForRecClosing timeLimit).
PARTIAL_RECORD_SECONDS = 3600

# Outbound destination mixes: shares of on-net, domestic, toll-free, international, 911.
MOBILE_CALL_MIX = {
    "onnet": 0.25,
    "domestic": 0.61,
    "toll_free": 0.03,
    "international": 0.105,
    "emergency": 0.005,
}
FIXED_CALL_MIX = {
    "onnet": 0.15,
    "domestic": 0.68,
    "toll_free": 0.05,
    "international": 0.11,
    "emergency": 0.01,
}
SMS_MIX = {"onnet": 0.30, "domestic": 0.62, "international": 0.08}
#: Shares of call outcomes; Asterisk dispositions (the MSC records the same outcomes).
OUTCOMES = {"ANSWERED": 0.85, "NO ANSWER": 0.10, "BUSY": 0.03, "FAILED": 0.02}

DOMESTIC_AREA_CODES = (
    "312",
    "773",
    "872",
    "630",
    "847",
    "708",
    "815",
    "217",
    "309",
    "219",
    "317",
    "414",
    "262",
    "608",
    "212",
    "415",
    "305",
    "713",
    "202",
)
FIXED_CONTEXT_OUT = "from-internal"
FIXED_CONTEXT_IN = "from-trunk"


@dataclass(frozen=True)
class AsteriskCall:
    """One Asterisk ``cdr_csv`` row before the switch numbers its channels.

    ``channel_endpoint``/``dstchannel_endpoint`` are PJSIP endpoint names (a subscriber's
    10-digit number or a trunk group); the writer adds the channel suffixes.
    """

    accountcode: str
    src: str
    dst: str
    dcontext: str
    clid: str
    channel_endpoint: str
    dstchannel_endpoint: str
    lastdata: str
    start: int
    answer: int | None
    end: int
    disposition: str
    peeraccount: str
    anomaly: str | None = None  # the injected anomaly (or call leg tag) of this row
    #: A later leg of a call (a failover retry): the start of the call's first leg, when
    #: the caller's channel, which every leg of the call reuses, was created.
    first_leg_start: int | None = None
    channel_number: int = 0  # Asterisk's channel counter of the caller's channel
    dstchannel_number: int = 0  # ... and of the channel this leg dialled
    sequence: int = 0  # Asterisk's CDR sequence number

    @property
    def channel_created(self) -> int:
        """Epoch second the caller's channel was created: its first leg's start."""
        return self.start if self.first_leg_start is None else self.first_leg_start

    @property
    def uniqueid(self) -> str:
        """Asterisk's uniqueid of the caller's channel: creation epoch and channel counter."""
        return f"{self.channel_created}.{self.channel_number}"

    @property
    def record_key(self) -> str:
        """The CDR's key, as mediation builds it: the legs of a call share the uniqueid and
        differ in sequence."""
        return f"{self.uniqueid}#{self.sequence}"


@dataclass(frozen=True)
class MobileSession:
    """One call, SMS or data session as the MSC/PGW records it: one or more partial CDRs
    sharing a call reference (and, for data, a charging id)."""

    cdrs: tuple[MobileCdr, ...]
    anomaly: str | None = None


@dataclass(frozen=True)
class MobileIdentity:
    """What a mobile record says about its served line."""

    msisdn: str
    imsi: str
    imei: str
    cells: tuple[str, ...]


@dataclass(frozen=True)
class Party:
    """The far end of a call or message."""

    kind: str  # onnet, domestic, toll_free, international, emergency, premium, unrateable
    e164: str  # normalised number (E.164 digits, or the short code)
    trunk_out: str | None  # trunk group towards it (None on-net)
    trunk_in: str | None  # trunk group its calls arrive on (None on-net)
    callee: Subscriber | None = None  # on-net party

    @property
    def dialled(self) -> str:
        """The number as our subscriber dials it on the Asterisk switch."""
        if self.kind in ("onnet", "domestic"):
            return self.e164[1:]  # 10-digit national
        if self.kind in ("toll_free", "emergency") or self.e164.startswith("1"):
            return self.e164  # 1-800..., 911, Caribbean NANP 1-876...
        return "011" + self.e164

    @property
    def presented(self) -> str:
        """The number as it arrives on an inbound trunk (calling party)."""
        if self.kind in ("onnet", "domestic"):
            return self.e164[1:]
        return "+" + self.e164


@dataclass(frozen=True)
class NumberPools:
    """External numbers our subscribers talk to, drawn once per operator."""

    domestic: tuple[Party, ...]
    toll_free: tuple[Party, ...]
    international: tuple[tuple[Destination, tuple[Party, ...]], ...]
    international_weights: np.ndarray


def draw_party(
    rng: np.random.Generator, region: str | int, number_type: int, keep_digits: int, kind: str
) -> Party:
    """A valid number in a region (``"GB"``) or non-geographic code (``881``) and the
    trunk groups that reach it: premium ranges over the satellite carrier, the rest over the
    international wholesale carrier."""
    if isinstance(region, int):
        country_code = region
    else:
        country_code = phonenumbers.country_code_for_region(region)
    example = example_national_number(region, number_type)
    e164 = random_number_like(rng, country_code, example, keep_digits)
    trunk = TRUNK_SATELLITE if kind == "premium" else TRUNK_INTERNATIONAL
    return Party(kind, e164, trunk, TRUNK_INTERNATIONAL)


def destination_party(rng: np.random.Generator, destination: Destination) -> Party:
    """A number in a rate-deck destination."""
    return draw_party(
        rng, destination.region, destination.number_type, destination.keep_digits, destination.group
    )


def build_number_pools(rng: np.random.Generator, subscribers: int) -> NumberPools:
    """Domestic, toll-free and international numbers, scaled with the operator."""
    domestic = []
    for _ in range(3 * subscribers + 50):
        area = DOMESTIC_AREA_CODES[rng.integers(len(DOMESTIC_AREA_CODES))]
        # Which network a number belongs to decides its trunk group both ways.
        on_lec = rng.random() < 0.5
        domestic.append(
            Party(
                "domestic",
                random_nanp_number(rng, area),
                TRUNK_LEC_OUT if on_lec else TRUNK_MOBILE,
                TRUNK_LEC_IN if on_lec else TRUNK_MOBILE,
            )
        )
    toll_free = tuple(
        Party(
            "toll_free",
            random_nanp_number(rng, TOLL_FREE_CODES[i % len(TOLL_FREE_CODES)]),
            TRUNK_LEC_OUT,
            TRUNK_LEC_IN,
        )
        for i in range(10)
    )
    international = []
    weights = []
    for destination in DESTINATIONS:
        if destination.weight == 0:
            continue
        count = max(3, subscribers // 20)
        parties = tuple(destination_party(rng, destination) for _ in range(count))
        international.append((destination, parties))
        weights.append(destination.weight)
    w = np.array(weights)
    return NumberPools(tuple(domestic), toll_free, tuple(international), w / w.sum())


def mobile_identity(line: Subscriber) -> MobileIdentity:
    """The identities a mobile subscriber's records carry."""
    return MobileIdentity(line.msisdn, line.imsi, line.imei, line.cells)


@dataclass(frozen=True)
class Outcome:
    disposition: str
    ring_seconds: int
    talk_seconds: int  # 0 unless answered


class TrafficBuilder:
    """Draws usage events from one random stream over the operator's number pools."""

    def __init__(self, rng: np.random.Generator, tz: ZoneInfo, pools: NumberPools) -> None:
        self.rng = rng
        self.tz = tz
        self.pools = pools

    # --- shared draws -------------------------------------------------------------------

    def local_time(self, day: date, by_hour: np.ndarray) -> int:
        """An epoch second on local ``day``, its hour drawn from the diurnal weights."""
        hour = int(self.rng.choice(24, p=by_hour / by_hour.sum()))
        return self.at(day, hour, int(self.rng.integers(0, 3600)))

    def at(self, day: date, hour: int, second_of_hour: int) -> int:
        """Epoch seconds of a local wall-clock time (the earlier one in a DST fold)."""
        local = datetime(day.year, day.month, day.day, hour, tzinfo=self.tz)
        return int(local.timestamp()) + second_of_hour

    def outcome(self, always_answered: bool = False) -> Outcome:
        """How a call attempt ends: ~15% unanswered, talk time lognormal."""
        disposition = (
            "ANSWERED"
            if always_answered
            else str(self.rng.choice(list(OUTCOMES), p=list(OUTCOMES.values())))
        )
        if disposition == "ANSWERED":
            talk = int(np.clip(self.rng.lognormal(np.log(TALK_MEDIAN_SECONDS), 1.0), 3, 5400))
            return Outcome(disposition, int(self.rng.integers(3, 21)), talk)
        ring = {"NO ANSWER": (15, 46), "BUSY": (1, 7), "FAILED": (0, 4)}[disposition]
        return Outcome(disposition, int(self.rng.integers(*ring)), 0)

    def talk_outcome(self, low: int, high: int) -> Outcome:
        """An answered call with talk time uniform in [low, high] seconds."""
        return Outcome(
            "ANSWERED", int(self.rng.integers(3, 12)), int(self.rng.integers(low, high + 1))
        )

    def external_party(self, kind: str) -> Party:
        """A domestic, toll-free or international number from the pools, or 911."""
        if kind == "domestic":
            return self.pools.domestic[self.rng.integers(len(self.pools.domestic))]
        if kind == "toll_free":
            return self.pools.toll_free[self.rng.integers(len(self.pools.toll_free))]
        if kind == "emergency":
            return Party("emergency", "911", TRUNK_LEC_OUT, None)
        which = int(
            self.rng.choice(len(self.pools.international), p=self.pools.international_weights)
        )
        parties = self.pools.international[which][1]
        return parties[self.rng.integers(len(parties))]

    def party(self, mix: dict[str, float], onnet: list[Subscriber], caller: str) -> Party:
        """The far end of an outbound call or SMS, drawn from ``mix``."""
        kind = str(self.rng.choice(list(mix), p=list(mix.values())))
        if kind == "onnet":
            candidates = [s for s in onnet if s.msisdn != caller]
            if not candidates:
                return self.external_party("domestic")
            callee = candidates[self.rng.integers(len(candidates))]
            return Party("onnet", callee.msisdn, None, None, callee)
        return self.external_party(kind)

    def inbound_party(self, international_share: float) -> Party:
        """A caller from outside the network."""
        if self.rng.random() < international_share:
            return self.external_party("international")
        return self.external_party("domestic")

    # --- Asterisk (fixed VoIP) ----------------------------------------------------------

    def fixed_outbound(
        self,
        line: Subscriber,
        start: int,
        party: Party,
        outcome: Outcome,
        anomaly: str | None = None,
    ) -> AsteriskCall:
        """The row an outbound call from a fixed line writes (dcontext from-internal)."""
        src = line.msisdn[1:]
        if party.callee is not None:
            dst_endpoint, lastdata = party.dialled, f"PJSIP/{party.dialled},30"
            peer = party.callee.account.account_id
        else:
            trunk = str(party.trunk_out)
            dst_endpoint, lastdata, peer = trunk, trunk_dial(party.dialled, trunk), ""
        answer, end = _answer_and_end(start, outcome)
        return AsteriskCall(
            line.account.account_id,
            src,
            party.dialled,
            FIXED_CONTEXT_OUT,
            f'"{line.account.account_name}" <{src}>',
            src,
            dst_endpoint,
            lastdata,
            start,
            answer,
            end,
            outcome.disposition,
            peer,
            anomaly,
        )

    def fixed_inbound(
        self, line: Subscriber, start: int, party: Party, outcome: Outcome
    ) -> AsteriskCall:
        """The row a call arriving on a trunk for a fixed line writes (from-trunk)."""
        dst = line.msisdn[1:]
        answer, end = _answer_and_end(start, outcome)
        return AsteriskCall(
            "",
            party.presented,
            dst,
            FIXED_CONTEXT_IN,
            f'"{party.presented}" <{party.presented}>',
            str(party.trunk_in),
            dst,
            f"PJSIP/{dst},30",
            start,
            answer,
            end,
            outcome.disposition,
            line.account.account_id,
        )

    def fixed_day(self, line: Subscriber, day: date, onnet: list[Subscriber]) -> list[AsteriskCall]:
        """A fixed VoIP line's calls on one local day."""
        calls = []
        for _ in range(self.rng.poisson(FIXED_CALLS_PER_DAY * activity(line, day))):
            start = self.local_time(day, VOICE_BY_HOUR)
            if self.rng.random() < 0.55:
                party = self.party(FIXED_CALL_MIX, onnet, line.msisdn)
                outcome = self.outcome(party.kind in ("emergency", "toll_free"))
                calls.append(self.fixed_outbound(line, start, party, outcome))
            else:
                party = self.inbound_party(0.10)
                calls.append(self.fixed_inbound(line, start, party, self.outcome()))
        return calls

    # --- MSC / PGW (mobile) -------------------------------------------------------------

    def _cdr(
        self,
        record_type: MobileRecordType,
        who: MobileIdentity,
        other: str | None,
        started: int,
        answered: int | None,
        ended: int,
        cause: str,
        **extra: object,
    ) -> MobileCdr:
        return MobileCdr(
            record_type=record_type,
            served_imsi=who.imsi,
            served_msisdn=who.msisdn,
            served_imei=who.imei,
            other_party_number=other,
            started_at=_utc(started),
            answered_at=_utc(answered) if answered is not None else None,
            ended_at=_utc(ended),
            release_cause=cause,
            cell_id=who.cells[self.rng.integers(len(who.cells))],
            call_reference=0,
            **extra,  # type: ignore[arg-type]
        )

    def mobile_call(
        self,
        who: MobileIdentity,
        start: int,
        party: Party,
        outcome: Outcome,
        mobile_terminated: bool = False,
    ) -> list[MobileSession]:
        """An MO (or MT) call record, plus the callee's MT record when the call is on-net."""
        answer, end = _answer_and_end(start, outcome)
        cause = "normalRelease" if answer is not None else "unsuccessfulCallAttempt"
        if mobile_terminated:
            cdr = self._cdr(
                "voice_mt",
                who,
                party.e164,
                start,
                answer,
                end,
                cause,
                incoming_trunk_group=party.trunk_in,
            )
            return [MobileSession((cdr,))]
        caller = self._cdr(
            "voice_mo",
            who,
            party.e164,
            start,
            answer,
            end,
            cause,
            outgoing_trunk_group=party.trunk_out,
        )
        sessions = [MobileSession((caller,))]
        if party.callee is not None:
            callee = mobile_identity(party.callee)
            sessions.append(
                MobileSession(
                    (self._cdr("voice_mt", callee, who.msisdn, start, answer, end, cause),)
                )
            )
        return sessions

    def mobile_sms(
        self, who: MobileIdentity, sent: int, party: Party, mobile_terminated: bool = False
    ) -> list[MobileSession]:
        """An MO (or MT) SMS record, plus the recipient's MT record when on-net."""
        if mobile_terminated:
            return [
                MobileSession(
                    (self._cdr("sms_mt", who, party.e164, sent, None, sent, "normalRelease"),)
                )
            ]
        sessions = [
            MobileSession(
                (self._cdr("sms_mo", who, party.e164, sent, None, sent, "normalRelease"),)
            )
        ]
        if party.callee is not None:
            delivered = sent + int(self.rng.integers(1, 6))
            sessions.append(
                MobileSession(
                    (
                        self._cdr(
                            "sms_mt",
                            mobile_identity(party.callee),
                            who.msisdn,
                            delivered,
                            None,
                            delivered,
                            "normalRelease",
                        ),
                    )
                )
            )
        return sessions

    def mobile_data(self, who: MobileIdentity, start: int) -> MobileSession:
        """A PGW data session, cut into hourly partial records when it runs longer."""
        length = int(np.clip(self.rng.lognormal(np.log(SESSION_MEDIAN_SECONDS), 1.2), 30, 8 * 3600))
        downlink = int(np.clip(self.rng.lognormal(np.log(SESSION_MEDIAN_BYTES), 1.3), 2048, 4e9))
        uplink = int(downlink * self.rng.uniform(0.05, 0.2))
        cuts = [*range(start, start + length, PARTIAL_RECORD_SECONDS), start + length]
        pieces = len(cuts) - 1
        cdrs: list[MobileCdr] = []
        for n in range(pieces):
            begin, end = cuts[n], cuts[n + 1]
            last = n == pieces - 1
            # Volume follows time; the last partial takes the rounding remainder.
            share = (end - begin) / length
            down = downlink - sum(c.downlink_bytes for c in cdrs) if last else int(downlink * share)
            up = uplink - sum(c.uplink_bytes for c in cdrs) if last else int(uplink * share)
            cdrs.append(
                self._cdr(
                    "data",
                    who,
                    None,
                    begin,
                    None,
                    end,
                    "normalRelease" if last else "timeLimit",
                    uplink_bytes=up,
                    downlink_bytes=down,
                    apn="internet",
                    record_sequence_number=n + 1 if pieces > 1 else None,
                )
            )
        return MobileSession(tuple(cdrs))

    def mobile_day(
        self, line: Subscriber, day: date, onnet: list[Subscriber]
    ) -> list[MobileSession]:
        """A mobile line's calls, SMS and data sessions on one local day."""
        who = mobile_identity(line)
        rate = activity(line, day)
        sessions: list[MobileSession] = []
        for _ in range(self.rng.poisson(MOBILE_CALLS_PER_DAY * rate)):
            start = self.local_time(day, VOICE_BY_HOUR)
            if self.rng.random() < 0.55:
                party = self.party(MOBILE_CALL_MIX, onnet, line.msisdn)
                outcome = self.outcome(party.kind in ("emergency", "toll_free"))
                sessions.extend(self.mobile_call(who, start, party, outcome))
            else:
                party = self.inbound_party(0.08)
                sessions.extend(self.mobile_call(who, start, party, self.outcome(), True))
        for _ in range(self.rng.poisson(MOBILE_SMS_PER_DAY * rate)):
            sent = self.local_time(day, VOICE_BY_HOUR)
            if self.rng.random() < 0.5:
                sessions.extend(self.mobile_sms(who, sent, self.party(SMS_MIX, onnet, line.msisdn)))
            else:
                sessions.extend(self.mobile_sms(who, sent, self.inbound_party(0.05), True))
        for _ in range(self.rng.poisson(MOBILE_DATA_SESSIONS_PER_DAY * rate)):
            sessions.append(self.mobile_data(who, self.local_time(day, DATA_BY_HOUR)))
        return sessions


def trunk_dial(dialled: str, trunk: str) -> str:
    """The Dial data of a call out over a trunk group (60 s to answer)."""
    return f"PJSIP/{dialled}@{trunk},60"


def activity(line: Subscriber, day: date) -> float:
    """Usage multiplier: business lines are busy on weekdays and quiet at weekends."""
    weekend = day.weekday() >= 5
    if line.account.account_class in ("business", "government"):
        return 0.4 if weekend else 1.5
    return 1.1 if weekend else 1.0


def _answer_and_end(start: int, outcome: Outcome) -> tuple[int | None, int]:
    if outcome.disposition == "ANSWERED":
        answer = start + outcome.ring_seconds
        return answer, answer + outcome.talk_seconds
    return None, start + outcome.ring_seconds


def _utc(epoch: int) -> datetime:
    return datetime.fromtimestamp(epoch, tz=UTC)


@dataclass(frozen=True)
class Traffic:
    asterisk_calls: list[AsteriskCall]
    mobile_sessions: list[MobileSession]


def traffic_days(month_start: date, days: int) -> list[date]:
    """The local days traffic is generated for."""
    return [month_start + timedelta(days=n) for n in range(days)]


def build_traffic(builder: TrafficBuilder, base: CustomerBase, days: list[date]) -> Traffic:
    """Normal usage of every subscriber line on ``days``, subscriber by subscriber."""
    calls: list[AsteriskCall] = []
    sessions: list[MobileSession] = []
    for day in days:
        active = [s for s in base.subscribers if s.is_active_on(day)]
        mobile = [s for s in active if s.service_type == "mobile"]
        fixed = [s for s in active if s.service_type == "fixed_voip"]
        for line in active:
            if line.service_type == "mobile":
                sessions.extend(builder.mobile_day(line, day, mobile))
            elif line.service_type == "fixed_voip":
                calls.extend(builder.fixed_day(line, day, fixed))
    return Traffic(calls, sessions)


def number_asterisk_calls(calls: list[AsteriskCall]) -> list[AsteriskCall]:
    """Assign channel numbers and CDR sequence numbers in call start order.

    Asterisk counts channels globally: a call creates the caller's channel and one channel
    per number it dials, so the counter advances by two per one-leg call and by one more
    per retry. A later leg of a call follows its call's previous leg in ``calls``, sorts
    with it (by the call's start) and reuses its caller channel, so the legs' sequence
    numbers are consecutive. The sort is stable, so calls that start in the same second
    keep their generation order.
    """
    ordered = sorted(calls, key=lambda call: call.channel_created)
    numbered: list[AsteriskCall] = []
    channel = 0
    for sequence, call in enumerate(ordered):
        if call.first_leg_start is None:
            caller, channel = channel, channel + 1
        else:
            previous = numbered[-1] if numbered else None
            if previous is None or (previous.channel_created, previous.channel_endpoint) != (
                call.channel_created,
                call.channel_endpoint,
            ):
                raise ValueError(f"a later leg of a call does not follow its call: {call}")
            caller = previous.channel_number
        numbered.append(
            replace(call, channel_number=caller, dstchannel_number=channel, sequence=sequence)
        )
        channel += 1
    return numbered


#: First MSC call reference and PGW charging id of the generated period.
FIRST_CALL_REFERENCE = 1_000_001
FIRST_CHARGING_ID = 700_000_001


def number_mobile_sessions(sessions: list[MobileSession]) -> list[MobileSession]:
    """Assign call references (and charging ids to data) in session start order.

    Partial records of one session share both, as the MSC/PGW writes them.
    """
    ordered = sorted(sessions, key=lambda session: session.cdrs[0].started_at)
    numbered = []
    for n, session in enumerate(ordered):
        charging = FIRST_CHARGING_ID + n if session.cdrs[0].record_type == "data" else None
        cdrs = tuple(
            replace(cdr, call_reference=FIRST_CALL_REFERENCE + n, charging_id=charging)
            for cdr in session.cdrs
        )
        numbered.append(replace(session, cdrs=cdrs))
    return numbered
