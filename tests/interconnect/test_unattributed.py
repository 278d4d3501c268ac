"""Unattributed calls: which of our calls count as having left the network without a
carrier's leg, and under which carrier destination code each falls."""

from __future__ import annotations

from datetime import date

import polars as pl
import pyarrow as pa
from tiny_settlement import RATED_USAGE_SCHEMA, leg, usage_call

from pipelines.interconnect.unattributed import UnattributedCalls, unattributed_calls
from pipelines.schema import INTERCONNECT_LEG_SCHEMA

PORTED = pl.DataFrame(
    {
        "number": ["13125550777"],
        "lrn": ["14155550000"],
        "spid": ["0456"],
        "effective_from": [date(2026, 10, 10)],
        "effective_to": [None],
    },
    schema={"number": pl.String, "lrn": pl.String, "spid": pl.String,
            "effective_from": pl.Date, "effective_to": pl.Date},
)  # fmt: skip


BLOCKS = pl.DataFrame({"prefix": ["1312555"], "spid": ["0123"]})


def test_only_answered_outbound_off_net_calls_without_a_carrier_leg_count():
    routed = leg("CR-A", "49", "2026-10-08 10:00", 60, 10_000, 10_000)
    usage = [
        usage_call("u1", "2026-10-08 09:00", "49301234567"),  # counts
        usage_call("u2", "2026-10-08 09:05", "13125550199"),  # on-net: our subscriber
        usage_call(routed["usage_id"], "2026-10-08 10:00", "49301234568"),  # has a leg
        usage_call("u4", "2026-10-08 09:10", "49301234569", answered=False),
        usage_call("u5", "2026-10-08 09:15", "49301234570", direction="inbound"),
        usage_call("u6", "2026-10-08 09:20", "49301234571", feed="tap3"),
        usage_call("u7", "2026-10-08 09:25", "49301234572", service="sms"),
        usage_call("u8", "2026-10-09 09:00", "13125550777"),  # ported from 10-10: not yet
        usage_call("u9", "2026-10-10 09:00", "13125550777"),  # rated on its LRN
    ]
    calls = unattributed_calls(
        pa.Table.from_pylist(usage, schema=RATED_USAGE_SCHEMA),
        pa.Table.from_pylist([routed], schema=INTERCONNECT_LEG_SCHEMA),
        {"13125550199"},
        PORTED,
        BLOCKS,
    )
    # A domestic call's terminating network: the porting record's, else the block holder's.
    assert calls.rows() == [
        (date(2026, 10, 8), "49301234567", None),
        (date(2026, 10, 9), "13125550777", "0123"),
        (date(2026, 10, 10), "14155550000", "0456"),
    ]


def test_a_call_falls_under_the_longest_deck_prefix_in_force_that_day():
    # CR-A's deck: 1 and 1312 (1312 only from 10-10); CR-B's: 1.
    deck = pl.DataFrame(
        [
            ("CR-A", "termination", "1", date(2019, 1, 1), None),
            ("CR-A", "termination", "1312", date(2026, 10, 10), None),
            ("CR-A", "origination", "13125", date(2019, 1, 1), None),
            ("CR-B", "termination", "1", date(2019, 1, 1), None),
        ],
        schema={"carrier_id": pl.String, "direction": pl.String, "prefix": pl.String,
                "effective_from": pl.Date, "effective_to": pl.Date},
        orient="row",
    )  # fmt: skip
    calls = pl.DataFrame(
        [(date(2026, 10, 9), "13125550101", None), (date(2026, 10, 10), "13125550101", None)],
        schema={"event_date": pl.Date, "rated_number": pl.String, "terminating_spid": pl.String},
        orient="row",
    )
    placed = UnattributedCalls(calls, deck, {})
    assert placed.count("CR-A", "1", date(2026, 10, 9)) == 1
    assert placed.count("CR-A", "1312", date(2026, 10, 9)) == 0
    assert placed.count("CR-A", "1312", date(2026, 10, 10)) == 1
    assert placed.count("CR-A", "1", date(2026, 10, 10)) == 0
    assert placed.count("CR-A", "13125", date(2026, 10, 10)) == 0  # an origination prefix
    assert placed.count("CR-B", "1", date(2026, 10, 10)) == 1
    assert placed.count("CR-A", "1", date(2026, 10, 11)) == 0


def test_a_call_to_a_network_we_reach_directly_falls_under_its_carrier_only():
    # CR-A and CR-B both price every NANP number; CR-B is the network 0456 itself. A call
    # ending on 0456 went to CR-B; one ending on 0123 (no carrier of ours) to either.
    deck = pl.DataFrame(
        [
            ("CR-A", "termination", "1", date(2019, 1, 1), None),
            ("CR-B", "termination", "1", date(2019, 1, 1), None),
        ],
        schema={"carrier_id": pl.String, "direction": pl.String, "prefix": pl.String,
                "effective_from": pl.Date, "effective_to": pl.Date},
        orient="row",
    )  # fmt: skip
    day = date(2026, 10, 9)
    calls = pl.DataFrame(
        [(day, "14155550000", "0456"), (day, "13125550101", "0123")],
        schema={"event_date": pl.Date, "rated_number": pl.String, "terminating_spid": pl.String},
        orient="row",
    )
    placed = UnattributedCalls(calls, deck, {"CR-A": "", "CR-B": "0456"})
    assert placed.count("CR-A", "1", day) == 1
    assert placed.count("CR-B", "1", day) == 2
