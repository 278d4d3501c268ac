"""resolve_plan_chains: each event's plans from its profile, whatever form its keys take."""

from __future__ import annotations

from datetime import datetime

import numpy as np
import polars as pl
import pyarrow as pa
import pytest

from pipelines.tariffs.compile import compile_catalog, resolve_plan_chains
from pipelines.tariffs.model import (
    ALWAYS,
    ANY,
    Catalog,
    Destination,
    DestinationRate,
    PlanEntry,
    Rate,
    RateSlot,
    RatingPlan,
    RatingProfile,
)

JANUARY = datetime(2024, 1, 1)
MARCH = datetime(2024, 3, 1)


def seconds(moment: datetime) -> int:
    return int((moment - datetime(1970, 1, 1)).total_seconds())


def catalog() -> Catalog:
    """alice moves from plan A to plan B on 1 March and falls back to "intl" (plan W);
    everyone else has *any's plan A; the "sms" category has no profile at all."""
    plans = {p: RatingPlan(p, (PlanEntry("D", ANY, 10),)) for p in ("A", "B", "W")}
    return Catalog(
        version="chains",
        currency="EUR",
        destinations={"FR": Destination("FR", ("33",))},
        timings={ANY: ALWAYS},
        rates={"R": Rate("R", (RateSlot(0, 1, 1, 1),))},
        destination_rates={"D": (DestinationRate("FR", "R"),)},
        rating_plans=plans,
        profiles=(
            RatingProfile("t", "call", "alice", JANUARY, "A", fallback_subjects=("intl",)),
            RatingProfile("t", "call", "alice", MARCH, "B", fallback_subjects=("intl",)),
            RatingProfile("t", "call", "intl", JANUARY, "W"),
            RatingProfile("t", "call", ANY, JANUARY, "A"),
        ),
    )


EVENTS = [
    # (tenant, category, subject, start): the plans tried, in order (hand-derived).
    ("t", "call", "alice", datetime(2024, 2, 10), ["A", "W"]),  # alice then intl; *any's A again
    ("t", "call", "alice", datetime(2024, 3, 2), ["B", "W", "A"]),  # after the change
    ("t", "call", "bob", datetime(2024, 2, 10), ["A"]),  # no profile: *any
    ("t", "sms", "alice", datetime(2024, 2, 10), []),  # no profile for the category
    ("t", "call", "alice", datetime(2023, 12, 31), []),  # before every profile, *any too
    ("other", "call", "alice", datetime(2024, 2, 10), []),  # unknown tenant
]


def plans_of(compiled, chains) -> list[list[str]]:
    out = []
    for c in chains.chain.tolist():
        steps = range(chains.offsets[c], chains.offsets[c + 1]) if c >= 0 else range(0)
        out.append([compiled.plan_ids[chains.plans[k]] for k in steps])
    return out


@pytest.mark.parametrize("form", ["list", "polars", "arrow", "dictionary", "chunked"])
def test_chains_follow_profiles_activations_and_fallbacks(form):
    compiled = compile_catalog(catalog())
    columns = [[event[k] for event in EVENTS] for k in range(3)]
    if form == "polars":
        columns = [pl.Series(c) for c in columns]
    elif form == "arrow":
        columns = [pa.array(c) for c in columns]
    elif form == "dictionary":
        # Dictionaries with unused and repeated entries, as Parquet readers may give.
        columns = [
            pa.DictionaryArray.from_arrays(
                pa.array([2 + sorted(set(c)).index(v) for v in c], pa.int32()),
                ["unused", sorted(set(c))[0], *sorted(set(c))],
            )
            for c in columns
        ]
    elif form == "chunked":
        columns = [pa.chunked_array([c[:2], c[2:]]) for c in columns]
    start = np.array([seconds(event[3]) for event in EVENTS], dtype=np.int64)
    chains = resolve_plan_chains(compiled, *columns, start)
    assert plans_of(compiled, chains) == [event[4] for event in EVENTS]


def test_chain_ids_do_not_depend_on_event_order():
    compiled = compile_catalog(catalog())
    start = np.array([seconds(event[3]) for event in EVENTS], dtype=np.int64)
    columns = [[event[k] for event in EVENTS] for k in range(3)]
    forward = resolve_plan_chains(compiled, *columns, start)
    backward = resolve_plan_chains(compiled, *(c[::-1] for c in columns), start[::-1].copy())
    np.testing.assert_array_equal(forward.chain, backward.chain[::-1])
    np.testing.assert_array_equal(forward.plans, backward.plans)


def test_null_keys_are_refused():
    compiled = compile_catalog(catalog())
    with pytest.raises(ValueError, match="must not be null"):
        resolve_plan_chains(
            compiled, ["t"], ["call"], pa.array([None], pa.string()), np.zeros(1, np.int64)
        )
    # A null a dictionary holds counts once an event refers to it, not before.
    names = pa.array(["alice", None])
    referred = pa.DictionaryArray.from_arrays(pa.array([0, 1], pa.int32()), names)
    with pytest.raises(ValueError, match="must not be null"):
        resolve_plan_chains(compiled, ["t"] * 2, ["call"] * 2, referred, np.zeros(2, np.int64))
    unreferred = pa.DictionaryArray.from_arrays(pa.array([0, 0], pa.int32()), names)
    chains = resolve_plan_chains(
        compiled, ["t"] * 2, ["call"] * 2, unreferred, np.zeros(2, np.int64)
    )
    assert chains.chain.tolist() == [-1, -1]  # 1970: before every profile
