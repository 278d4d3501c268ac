"""Failover retries: the Asterisk dialplan dials a congested trunk, then another one.

The dialplan's route for 10-digit national numbers dials the number's carrier and, when
that trunk answers CONGESTION, dials the same number over the other carrier that
terminates it (``catalog.FAILOVER_TRUNKS``). Asterisk 12+ writes a CDR per Dial of the
caller's channel: both legs carry the caller channel's uniqueid, and so the same linkedid,
consecutive sequence numbers and each its own dialled channel. The congested leg is not
answered; the retry starts as it ends and has the call's outcome. Billing either leg alone
is wrong, which is what consolidation's leg collapsing is for (pipelines/mediation/calls.py).
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from pipelines.generate.catalog import FAILOVER_TRUNKS
from pipelines.generate.traffic import FIXED_CONTEXT_OUT, AsteriskCall, trunk_dial

#: Share of the calls that can fail over (fixed, outbound, to a 10-digit national number
#: over a trunk group) whose first trunk is congested: about 2.4% of all off-net outbound
#: fixed calls, as 10-digit numbers are four in five of them.
RETRY_SHARE = 0.03
#: Seconds the congested trunk takes to answer CONGESTION: 0 to 3.
CONGESTION_SECONDS = (0, 4)
#: The tag of a call's legs (``AsteriskCall.anomaly``): anomalies never pick them, and the
#: manifest lists their calls (``multi_leg_calls``).
MULTI_LEG_CALL = "multi_leg_call"


def can_fail_over(call: AsteriskCall) -> bool:
    """A normal outbound call that the national route sends over a trunk with an alternate."""
    return (
        call.anomaly is None
        and call.dcontext == FIXED_CONTEXT_OUT
        and call.dstchannel_endpoint in FAILOVER_TRUNKS
        and len(call.dst) == 10
    )


def add_failover_retries(rng: np.random.Generator, calls: list[AsteriskCall]) -> list[AsteriskCall]:
    """``calls`` with a share of those that can fail over replaced by their two legs.

    Every call draws its chance and congestion time, whether it can fail over or not, so
    one call's draws never depend on the others'. The legs of a call stay together, in leg
    order, as ``number_asterisk_calls`` wants them.
    """
    chances = rng.random(len(calls))
    congestion = rng.integers(*CONGESTION_SECONDS, size=len(calls))
    retried: list[AsteriskCall] = []
    for call, chance, seconds in zip(calls, chances, congestion, strict=True):
        if can_fail_over(call) and chance < RETRY_SHARE:
            retried.extend(failover_legs(call, int(seconds)))
        else:
            retried.append(call)
    return retried


def failover_legs(call: AsteriskCall, congested_seconds: int) -> list[AsteriskCall]:
    """The congested first leg and the retry that replace ``call``: the retry is ``call``
    over the other trunk group, ``congested_seconds`` later."""
    trunk = FAILOVER_TRUNKS[call.dstchannel_endpoint]
    congested = replace(
        call,
        answer=None,
        end=call.start + congested_seconds,
        disposition="CONGESTION",
        anomaly=MULTI_LEG_CALL,
    )
    retry = replace(
        call,
        dstchannel_endpoint=trunk,
        lastdata=trunk_dial(call.dst, trunk),
        start=call.start + congested_seconds,
        answer=None if call.answer is None else call.answer + congested_seconds,
        end=call.end + congested_seconds,
        anomaly=MULTI_LEG_CALL,
        first_leg_start=call.start,
    )
    return [congested, retry]
