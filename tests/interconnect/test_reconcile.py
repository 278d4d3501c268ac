"""Reconciliation of hand-made rated legs against hand-written carrier invoices: one cell
per case, every class and cause, a mid-month rate change, the tolerance boundary, a
missing invoice and a rerun.

Amounts in comments are USD; the code holds micro-units (0.0205 = 20_500). Batches are
the local (America/Chicago) 6-hour windows: 1 = 00-05h, 2 = 06-11h, 3 = 12-17h, 4 = 18-23h.
"""

from __future__ import annotations

from datetime import date

import pytest
from tiny_settlement import (
    CARRIERS,
    CR_A_INVOICE,
    DECK,
    LEGS,
    PERIOD,
    A,
    S,
    leg,
    read_rows,
    usage_call,
    write_agreements,
    write_invoice,
    write_legs,
    write_rated_usage,
    write_subscribers,
)

from pipelines.interconnect.reconcile import ReconciliationResult, reconcile_period
from pipelines.lake import partition_dir


@pytest.fixture
def settled(tmp_path):
    layout = write_agreements(tmp_path, CARRIERS, DECK)
    write_legs(layout, LEGS)
    write_invoice(layout, "CR-A", CR_A_INVOICE)
    return layout, reconcile_period(layout, PERIOD)


def cell_table(layout):
    return {
        (row["carrier_id"], row["destination_code"], row["traffic_date"]): row
        for row in read_rows(layout, "interconnect_reconciliation")
    }


def oct(day: int) -> date:
    return date(2026, 10, day)


# (carrier, destination, date): (class, cause, our/their calls, our/their amount, difference)
EXPECTED_CELLS = {
    # Not billed: we rated 1 call, 120 s, 0.008.
    ("CR-A", "1312", oct(9)): ("volume", "missing_traffic", 1, 0, 8_000, 0, -8_000),
    # 4 calls billed, 1 recorded: 0.016 - 0.004.
    ("CR-A", "1312", oct(12)): ("volume", "unmatched_carrier_traffic", 1, 4, 4_000, 16_000, 12_000),
    # Same call, 90 s billed against our 60 s: 0.006 - 0.004.
    ("CR-A", "1312", oct(14)): ("volume", "duration_mismatch", 1, 1, 4_000, 6_000, 2_000),
    # 1 min at 0.004 is 0.0040; billed 0.0050, beyond one 4-decimal unit (0.0001).
    ("CR-A", "1312", oct(15)): ("rate", "amount_mismatch", 1, 1, 4_000, 5_000, 1_000),
    ("CR-A", "33", oct(10)): ("match", None, 1, 1, 36_000, 36_000, 0),
    # 2 min at the old 0.036 = 0.072 against 2 min at 0.030 = 0.060.
    ("CR-A", "33", oct(20)): ("rate", "rate_mismatch", 2, 2, 60_000, 72_000, 12_000),
    ("CR-A", "44", date(2026, 9, 30)): ("volume", "extra_traffic", 0, 1, 0, 20_500, 20_500),
    ("CR-A", "44", oct(5)): ("match", None, 2, 2, 61_500, 61_500, 0),
    # 0.0226 - 0.02255: the agreement's half-up rounding to the invoice's 4 decimals.
    ("CR-A", "44", oct(6)): ("match", None, 1, 1, 22_550, 22_600, 50),
    # 0.0225 - 0.02255 = -0.00005, within one unit of the 4th decimal.
    ("CR-A", "44", oct(7)): ("rounding", "invoice_rounding", 1, 1, 22_550, 22_500, -50),
    # Batch 3 billed twice: 2 * 0.041 - 0.041.
    ("CR-A", "44", oct(13)): ("volume", "duplicate_batch", 2, 4, 41_000, 82_000, 41_000),
    ("CR-A", "49", oct(8)): ("volume", "extra_traffic", 0, 3, 0, 60_000, 60_000),
    # One call moved from 10-16 to 10-17: -0.01 and +0.01 net to 0.
    ("CR-A", "49", oct(16)): ("timing", "traffic_date_shift", 2, 1, 20_000, 10_000, -10_000),
    ("CR-A", "49", oct(17)): ("timing", "traffic_date_shift", 1, 2, 20_000, 30_000, 10_000),
    # No invoice from CR-B: its call is unbilled.
    ("CR-B", "44", oct(5)): ("volume", "missing_traffic", 1, 0, 25_000, 0, -25_000),
}


def test_every_cell_gets_its_class_cause_and_difference(settled):
    layout, _ = settled
    cells = cell_table(layout)
    assert {
        key: (
            row["difference_class"],
            row["cause"],
            row["our_calls"],
            row["their_calls"],
            row["our_amount_micros"],
            row["their_amount_micros"],
            row["difference_micros"],
        )
        for key, row in cells.items()
    } == EXPECTED_CELLS


def test_cells_carry_what_the_analyst_needs(settled):
    layout, _ = settled
    cells = cell_table(layout)
    duplicate = cells[("CR-A", "44", oct(13))]
    assert duplicate["duplicate_batches"] == ["CR-A-20261013-3"]
    assert duplicate["duplicate_amount_micros"] == 41_000
    assert duplicate["their_lines"] == 2
    assert duplicate["detail"].startswith("batch(es) CR-A-20261013-3 billed more than once")
    assert cells[("CR-A", "49", oct(16))]["paired_traffic_date"] == oct(17)
    assert cells[("CR-A", "49", oct(17))]["paired_traffic_date"] == oct(16)
    rate = cells[("CR-A", "33", oct(20))]
    assert (rate["our_prices_micros"], rate["their_rates_micros"]) == ([30_000], [36_000])
    # 22_550 rounded half up to 4 decimals = 22_600; one row, one unit of 0.0001 allowed.
    matched = cells[("CR-A", "44", oct(6))]
    assert (matched["expected_amount_micros"], matched["rounding_allowance_micros"]) == (
        22_600,
        100,
    )
    assert matched["their_billable_seconds"] == matched["our_billable_seconds"] == 66
    assert {row["invoice_number"] for key, row in cells.items() if key[0] == "CR-A"} == {"INV-A-1"}
    outside = cells[("CR-A", "44", date(2026, 9, 30))]
    assert outside["detail"].endswith("the traffic date is outside the billing period 2026-10")
    missing = cells[("CR-B", "44", oct(5))]
    assert missing["invoice_number"] is None
    assert missing["detail"].endswith("the carrier sent no invoice (CR-B/CR-B_2026-10.csv)")


def test_disputes_are_raised_only_above_tolerance(settled):
    # CR-A's tolerance: max(0.01, 0 bp) = 0.01. Disputed: the rate (+0.012), the extra days
    # (+0.0205 on 44, +0.06 on 49), the repeated batch (+0.041) and the unmatched calls
    # (+0.012). Not: the duration (+0.002) and the amount (+0.001) below tolerance, the
    # rounding (-0.00005), the missing traffic (they under-bill), timing and matches.
    layout, result = settled
    disputes = {row["dispute_id"]: row for row in read_rows(layout, "interconnect_disputes")}
    assert {
        key: (
            row["difference_class"],
            row["traffic_dates"],
            row["our_amount_micros"],
            row["their_amount_micros"],
            row["disputed_amount_micros"],
            row["tolerance_micros"],
            row["invoice_number"],
            row["status"],
        )
        for key, row in disputes.items()
    } == {
        "CR-A-2026-10-1312-unmatched_carrier_traffic": (
            "volume", [oct(12)], 4_000, 16_000, 12_000, 10_000, "INV-A-1", "open"
        ),
        "CR-A-2026-10-33-rate_mismatch": (
            "rate", [oct(20)], 60_000, 72_000, 12_000, 10_000, "INV-A-1", "open"
        ),
        "CR-A-2026-10-44-duplicate_batch": (
            "volume", [oct(13)], 41_000, 82_000, 41_000, 10_000, "INV-A-1", "open"
        ),
        "CR-A-2026-10-44-extra_traffic": (
            "volume", [date(2026, 9, 30)], 0, 20_500, 20_500, 10_000, "INV-A-1", "open"
        ),
        "CR-A-2026-10-49-extra_traffic": (
            "volume", [oct(8)], 0, 60_000, 60_000, 10_000, "INV-A-1", "open"
        ),
    }  # fmt: skip
    assert result.disputes == 5
    assert result.disputed_micros == 12_000 + 12_000 + 41_000 + 20_500 + 60_000


def test_evidence_states_the_agreement_rate_against_the_rate_billed(settled):
    layout, _ = settled
    disputes = {row["dispute_id"]: row for row in read_rows(layout, "interconnect_disputes")}
    assert disputes["CR-A-2026-10-33-rate_mismatch"]["evidence"].splitlines() == [
        "Alpha Carrier (CR-A), invoice INV-A-1 for 2026-10, destination 33 (France): a rate "
        "billed other than the agreement's rate in force.",
        "Billed 0.072 USD; our rated amount 0.06 USD; disputed 0.012 USD (the agreement's "
        "tolerance is 0.01 USD).",
        "2026-10-20: billed 2 calls, 2 min, 0.072 in 1 row(s) (invoice lines 9); our records: "
        "2 calls, 2 min, 0.06.",
        "  The agreement's rate in force on 2026-10-20 is 0.03/min (deck version "
        "CR-A/termination/33/2026-10-15, effective 2026-10-15 to open).",
        "  Billed 2 calls at 0.036/min (the rate of deck version effective 2026-09-01 to "
        "2026-10-14).",
    ]
    duplicate = disputes["CR-A-2026-10-44-duplicate_batch"]["evidence"].splitlines()
    assert duplicate[-1] == (
        "  Batch CR-A-20261013-3 is billed again on line 6 (first on line 5): 2 calls, 2.0 min "
        "at 0.0205/min, 0.0410."
    )
    unmatched = disputes["CR-A-2026-10-1312-unmatched_carrier_traffic"]["evidence"]
    assert unmatched.splitlines()[-1] == (
        "  Batch CR-A-20261012-2: billed 4 calls, 240 s; our records 1 call, 60 s."
    )


def test_the_result_summarises_the_period(settled):
    _, result = settled
    assert result == ReconciliationResult(
        billing_period=PERIOD,
        invoices_read=1,
        carriers_without_invoice=("CR-B",),
        lines=19,
        rejects=0,
        rejects_by_reason={},
        arithmetic_findings=0,
        cells=15,
        cells_by_class={"match": 3, "rate": 2, "rounding": 1, "timing": 2, "volume": 7},
        disputes=5,
        disputed_micros=145_500,
    )


def test_a_rerun_writes_the_same_bytes_and_replaces_the_period(tmp_path):
    layout = write_agreements(tmp_path, CARRIERS, DECK)
    write_legs(layout, LEGS)
    write_invoice(layout, "CR-A", [*CR_A_INVOICE, f"{A},2026-10-05,44,UK,B,x,1.0,0.0205,0.0205"])
    tables = (
        "carrier_invoice_lines",
        "carrier_invoice_rejects",
        "interconnect_reconciliation",
        "interconnect_disputes",
    )
    parts = [
        partition_dir(layout, table, {"billing_period": PERIOD}) / "part-0.parquet"
        for table in tables
    ]
    first = reconcile_period(layout, PERIOD)
    written = [part.read_bytes() for part in parts]
    assert reconcile_period(layout, PERIOD) == first
    assert [part.read_bytes() for part in parts] == written
    assert first.rejects_by_reason == {"invalid_number": 1}
    # The carrier re-sends a corrected invoice: the rerun replaces the period's rows.
    write_invoice(layout, "CR-A", CR_A_INVOICE)
    assert reconcile_period(layout, PERIOD).rejects == 0
    assert read_rows(layout, "carrier_invoice_rejects") == []


def tolerance_case(tmp_path, billed_amount: str, tolerance_micros: int, bp: int):
    """One call of 60 s at 0.200099/min (ours 0.200099); the carrier bills it at the rate
    ``billed_amount``, 6 decimals, so the cell is a rate mismatch."""
    carriers = [f"CR-T,Tee Carrier,US,,USD,monthly,half_up,6,{tolerance_micros},{bp}"]
    deck = ["CR-T,termination,44,United Kingdom,international,200099,60,60,2019-01-01,"]
    layout = write_agreements(tmp_path, carriers, deck)
    write_legs(layout, [leg("CR-T", "44", "2026-10-05 13:00", 60, 200_099, 200_099)])
    t = "detail,INV-T,CR-T,2026-10,2026-11-03,USD"
    write_invoice(
        layout,
        "CR-T",
        [
            f"{t},2026-10-05,44,United Kingdom,CR-T-20261005-3,1,1,{billed_amount},{billed_amount}",
            f"summary,INV-T,CR-T,2026-10,2026-11-03,USD,,44,United Kingdom,,1,1,,{billed_amount}",
            f"total,INV-T,CR-T,2026-10,2026-11-03,USD,,,,,1,1,,{billed_amount}",
        ],
    )
    reconcile_period(layout, PERIOD)
    return read_rows(layout, "interconnect_disputes")


@pytest.mark.parametrize(
    ("billed", "tolerance_micros", "bp", "disputed"),
    [
        # 100 bp of our 200_099 is 2_000.99, floored: 2_000 > the fixed 1_000.
        ("0.202099", 1_000, 100, None),  # +2_000: at the tolerance
        ("0.202100", 1_000, 100, 2_001),  # one micro above
        # 10 bp is 200 (200.099 floored) < the fixed 1_000, which applies.
        ("0.201099", 1_000, 10, None),  # +1_000: at the tolerance
        ("0.201100", 1_000, 10, 1_001),
    ],
)
def test_tolerance_boundary(tmp_path, billed, tolerance_micros, bp, disputed):
    disputes = tolerance_case(tmp_path, billed, tolerance_micros, bp)
    if disputed is None:
        assert disputes == []
    else:
        (dispute,) = disputes
        assert (dispute["cause"], dispute["disputed_amount_micros"]) == ("rate_mismatch", disputed)
        assert dispute["tolerance_micros"] == max(tolerance_micros, 200_099 * bp // 10_000)


def test_invoice_arithmetic_is_reported_and_the_detail_rows_still_reconcile(tmp_path):
    # The summary of 44 says 0.0700 where its one detail row bills 0.0615.
    layout = write_agreements(tmp_path, CARRIERS, DECK)
    write_legs(layout, LEGS[:2])
    write_invoice(
        layout,
        "CR-A",
        [CR_A_INVOICE[0], f"{S},,44,United Kingdom,,2,3.0,,0.0700", CR_A_INVOICE[-1]],
    )
    result = reconcile_period(layout, PERIOD)
    # The summary and the total (0.4441 against the summaries' 0.07) are both wrong.
    assert result.arithmetic_findings == 2
    findings = [row for row in read_rows(layout, "carrier_invoice_lines") if row["finding"]]
    assert [(row["line_number"], row["finding"]) for row in findings] == [
        (3, "invoice_arithmetic"),
        (4, "invoice_arithmetic"),
    ]
    (cell,) = read_rows(layout, "interconnect_reconciliation")
    assert (cell["difference_class"], cell["difference_micros"]) == ("match", 0)


def test_a_carrier_without_an_invoice_is_a_finding_not_a_failure(tmp_path):
    layout = write_agreements(tmp_path, CARRIERS, DECK)
    write_legs(layout, [LEGS[-1]])
    result = reconcile_period(layout, PERIOD)
    assert (result.invoices_read, result.carriers_without_invoice) == (0, ("CR-B",))
    assert result.cells_by_class == {"volume": 1}
    assert result.disputes == 0
    assert read_rows(layout, "carrier_invoice_lines") == []


@pytest.mark.parametrize(
    ("rows", "expected"),
    [
        # Each rate's calls as we rated them: 1 call 60 s at 0.036, 2 calls 120 s at 0.030.
        (["1,1.0,0.0360,0.0360", "2,2.0,0.0300,0.0600"], ("match", None, 0)),
        # Same 3 calls and 180 s, but 2 at the old rate: 0.072 + 0.030 = 0.102 vs 0.096.
        (["2,2.0,0.0360,0.0720", "1,1.0,0.0300,0.0300"], ("rate", "rate_mismatch", 6_000)),
    ],
)
def test_a_day_at_two_prices_is_compared_per_rate(tmp_path, rows, expected):
    # Our legs of 10-15 at two deck prices (hand-made: rating never gives one day two
    # versions, but a carrier's day may carry one row per rate): 0.036 + 2 * 0.030 = 0.096.
    layout = write_agreements(tmp_path, CARRIERS, DECK)
    write_legs(
        layout,
        [
            leg("CR-A", "33", "2026-10-15 07:00", 60, 36_000, 36_000, effective_from="2026-09-01"),
            leg("CR-A", "33", "2026-10-15 08:00", 60, 30_000, 30_000, effective_from="2026-10-15"),
            leg("CR-A", "33", "2026-10-15 09:00", 60, 30_000, 30_000, effective_from="2026-10-15"),
        ],
    )
    write_invoice(
        layout, "CR-A", [f"{A},2026-10-15,33,France,CR-A-20261015-2,{row}" for row in rows]
    )
    reconcile_period(layout, PERIOD)
    (cell,) = read_rows(layout, "interconnect_reconciliation")
    assert (cell["difference_class"], cell["cause"], cell["difference_micros"]) == expected
    assert cell["our_prices_micros"] == [30_000, 36_000]


def test_the_bp_tolerance_is_on_our_amount_of_the_disputed_days(tmp_path):
    # CR-T: no fixed tolerance, 100 bp. 10-05: we have 1 call (0.200099), it bills 2 for
    # 0.2021: +0.002001. Tolerance on that day's 0.200099: 2_000 (2_000.99 floored), so
    # disputed; on the month's 0.200099 + 4 * 0.200099 (10-06, matched) it would be 10_004.
    carriers = ["CR-T,Tee Carrier,US,,USD,monthly,half_up,6,0,100"]
    deck = ["CR-T,termination,44,United Kingdom,international,200099,60,60,2019-01-01,"]
    layout = write_agreements(tmp_path, carriers, deck)
    write_legs(
        layout,
        [leg("CR-T", "44", "2026-10-05 13:00", 60, 200_099, 200_099)]
        + [leg("CR-T", "44", f"2026-10-06 13:0{n}", 60, 200_099, 200_099) for n in range(4)],
    )
    t = "detail,INV-T,CR-T,2026-10,2026-11-03,USD"
    write_invoice(
        layout,
        "CR-T",
        [
            f"{t},2026-10-05,44,United Kingdom,CR-T-20261005-3,2,2,0.101050,0.202100",
            f"{t},2026-10-06,44,United Kingdom,CR-T-20261006-3,4,4,0.200099,0.800396",
        ],
    )
    reconcile_period(layout, PERIOD)
    (dispute,) = read_rows(layout, "interconnect_disputes")
    assert (dispute["cause"], dispute["traffic_dates"]) == ("unmatched_carrier_traffic", [oct(5)])
    assert (dispute["disputed_amount_micros"], dispute["tolerance_micros"]) == (2_001, 2_000)


def test_rounding_is_never_disputed(tmp_path):
    # The agreement rounds down and allows nothing: 66 s at 0.0205 = 0.02255 is 0.0225 in
    # the invoice's 4 decimals; billed 0.0226, +0.00005 above ours, +0.0001 above expected.
    carriers = ["CR-T,Tee Carrier,US,,USD,monthly,down,6,0,0"]
    deck = ["CR-T,termination,44,United Kingdom,international,20500,6,6,2019-01-01,"]
    layout = write_agreements(tmp_path, carriers, deck)
    write_legs(layout, [leg("CR-T", "44", "2026-10-05 13:00", 66, 20_500, 22_550)])
    t = "detail,INV-T,CR-T,2026-10,2026-11-03,USD"
    write_invoice(layout, "CR-T", [f"{t},2026-10-05,44,UK,CR-T-20261005-3,1,1.1,0.0205,0.0226"])
    result = reconcile_period(layout, PERIOD)
    (cell,) = read_rows(layout, "interconnect_reconciliation")
    assert (cell["difference_class"], cell["cause"]) == ("rounding", "invoice_rounding")
    assert (cell["expected_amount_micros"], cell["difference_micros"]) == (22_500, 50)
    assert result.disputes == 0


def test_billed_traffic_we_have_unattributed_calls_for_is_unmatched_not_extra(tmp_path):
    # 49 on 10-08: no leg, but a FreeSWITCH call to a German number that day names no trunk
    # group. CR-A bills 3 calls there: unmatched_carrier_traffic, still disputed (+0.06). A
    # call of 10-09 is no evidence for 10-08, nor is anything for 44 on 09-30: still extra.
    layout = write_agreements(tmp_path, CARRIERS, DECK)
    write_legs(layout, LEGS)
    write_invoice(layout, "CR-A", CR_A_INVOICE)
    write_subscribers(layout, ["13125550199"])
    write_rated_usage(
        layout,
        [
            usage_call("voip-1", "2026-10-08 09:00", "49301234567"),
            usage_call("voip-2", "2026-10-09 09:00", "49301234567"),
        ],
    )
    reconcile_period(layout, PERIOD)
    cells = cell_table(layout)
    german = cells[("CR-A", "49", oct(8))]
    assert (german["difference_class"], german["cause"]) == ("volume", "unmatched_carrier_traffic")
    assert german["detail"] == (
        "billed 3 calls, 360 s, 0.06; we have legs of 0 calls, 0 s, 0.00, and 1 call to it "
        "that day without a carrier's trunk group"
    )
    assert cells[("CR-A", "44", date(2026, 9, 30))]["cause"] == "extra_traffic"
    disputes = {row["dispute_id"]: row for row in read_rows(layout, "interconnect_disputes")}
    evidence = disputes["CR-A-2026-10-49-unmatched_carrier_traffic"]["evidence"]
    assert evidence.splitlines()[-1] == (
        "  Our switches recorded 1 call to this destination on 2026-10-08 that name no "
        "carrier's trunk group: we cannot confirm which carrier carried them."
    )
    assert "CR-A-2026-10-49-extra_traffic" not in disputes


def test_billed_traffic_our_unattributed_calls_cover_is_not_disputed(tmp_path):
    # As above, but our switches recorded all 3 German calls of 10-08 without a trunk
    # group: the carrier bills calls we made, we only cannot tell it carried them.
    # unattributed_traffic, never disputed.
    layout = write_agreements(tmp_path, CARRIERS, DECK)
    write_legs(layout, LEGS)
    write_invoice(layout, "CR-A", CR_A_INVOICE)
    write_subscribers(layout, ["13125550199"])
    write_rated_usage(
        layout,
        [usage_call(f"voip-{k}", f"2026-10-08 0{k}:00", "49301234567") for k in (1, 2, 3)],
    )
    reconcile_period(layout, PERIOD)
    german = cell_table(layout)[("CR-A", "49", oct(8))]
    assert (german["difference_class"], german["cause"]) == ("volume", "unattributed_traffic")
    disputes = {row["dispute_id"] for row in read_rows(layout, "interconnect_disputes")}
    assert not any(dispute.startswith("CR-A-2026-10-49-") for dispute in disputes)
