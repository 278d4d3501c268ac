"""Number portability of the domestic numbers our subscribers call.

In the NANP a number keeps its digits when its owner moves to another network. The porting
database (the NPAC) records number -> LRN of the new network's switch and its SPID, from an
effective date; switches route, and carriers rate, on the LRN. The block holder (the LERG)
still names the network the number was first assigned to. So the network a call to a
ported number terminates on is the LRN's, never the dialled prefix's holder.

Here the network each pool number is served by decides its trunk groups (``traffic.Party``).
The first number drawn in a block makes its network the block holder; a later number of
that block served by the other network is ported. On top of those, a share of numbers is
ported away from their holder, and a few were ported in the past and have since come back
(an expired porting record, which rating must ignore).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, timedelta

import numpy as np

from pipelines.generate.catalog import TRUNK_LEC_IN, TRUNK_LEC_OUT, TRUNK_MOBILE
from pipelines.generate.traffic import NumberPools, Party

#: Share of domestic numbers ported away from their block holder, beyond block collisions.
PORTED_SHARE = 0.08
#: Share ported once in the past and back to the holder before the month.
PORTED_BACK_SHARE = 0.02
#: "1" + NPA + NXX: the block a holder is assigned in the LERG.
BLOCK_DIGITS = 7
#: A number ported away was ported this many days before the month (low, high exclusive);
#: one ported and back was ported this many days before it, for this many days.
PORTED_DAYS_BEFORE = (30, 1_095)
PORTED_BACK_DAYS_BEFORE = (400, 1_095)
PORTED_BACK_FOR_DAYS = (30, 300)


@dataclass(frozen=True)
class Network:
    """A domestic network we interconnect with: its carrier, SPID, LRN and trunk groups."""

    carrier_id: str
    spid: str
    lrn: str
    trunk_out: str
    trunk_in: str

    @property
    def lrn_block(self) -> str:
        return self.lrn[:BLOCK_DIGITS]


LEC = Network("CR-LEC", "7101", "13122990000", TRUNK_LEC_OUT, TRUNK_LEC_IN)
MOBILE = Network("CR-MOB", "7202", "13129980000", TRUNK_MOBILE, TRUNK_MOBILE)
NETWORKS = (LEC, MOBILE)


def _network(party: Party) -> Network:
    return LEC if party.trunk_out == TRUNK_LEC_OUT else MOBILE


def _other(network: Network) -> Network:
    return MOBILE if network is LEC else LEC


@dataclass(frozen=True)
class Porting:
    """The pools with every party on the network now serving it, and the reference rows."""

    pools: NumberPools
    ported_numbers: list[dict[str, object]]
    number_blocks: list[dict[str, object]]

    def blocks_of(self, network: Network) -> list[str]:
        """Block prefixes ``network`` holds, its LRN's block among them."""
        return [str(row["prefix"]) for row in self.number_blocks if row["spid"] == network.spid]


def _days_before(rng: np.random.Generator, start: date, low: int, high: int) -> date:
    return start - timedelta(days=int(rng.integers(low, high)))


def port_numbers(rng: np.random.Generator, pools: NumberPools, month_start: date) -> Porting:
    """Block holders, ported numbers (all ported before ``month_start``) and their LRNs."""
    holders = {network.lrn_block: network for network in NETWORKS}
    for party in pools.domestic:
        holders.setdefault(party.e164[:BLOCK_DIGITS], _network(party))
    ported: list[dict[str, object]] = []
    domestic = []
    served: dict[str, Network] = {}
    for party in pools.domestic:
        if party.e164 in served:  # drawn twice: one number has one porting history
            serving = served[party.e164]
            domestic.append(replace(party, trunk_out=serving.trunk_out, trunk_in=serving.trunk_in))
            continue
        holder = holders[party.e164[:BLOCK_DIGITS]]
        serving = _network(party)
        draw = rng.random()
        if serving is holder and draw < PORTED_SHARE:
            serving = _other(holder)
        if serving is not holder:
            ported.append(
                {
                    "number": party.e164,
                    "lrn": serving.lrn,
                    "spid": serving.spid,
                    "effective_from": _days_before(
                        rng, month_start, *PORTED_DAYS_BEFORE
                    ).isoformat(),
                    "effective_to": "",
                }
            )
        elif draw < PORTED_SHARE + PORTED_BACK_SHARE:
            since = _days_before(rng, month_start, *PORTED_BACK_DAYS_BEFORE)
            ported.append(
                {
                    "number": party.e164,
                    "lrn": _other(holder).lrn,
                    "spid": _other(holder).spid,
                    "effective_from": since.isoformat(),
                    "effective_to": (
                        since + timedelta(days=int(rng.integers(*PORTED_BACK_FOR_DAYS)))
                    ).isoformat(),
                }
            )
        served[party.e164] = serving
        domestic.append(replace(party, trunk_out=serving.trunk_out, trunk_in=serving.trunk_in))
    blocks: list[dict[str, object]] = [
        {"prefix": prefix, "spid": network.spid} for prefix, network in sorted(holders.items())
    ]
    return Porting(
        replace(pools, domestic=tuple(domestic)),
        sorted(ported, key=lambda row: (str(row["number"]), str(row["effective_from"]))),
        blocks,
    )
