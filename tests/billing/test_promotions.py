"""Promotions (pipelines/billing/promotions.py) and the promotional credits of adjustments.csv
(pipelines/billing/adjustments.py) on a hand-made reference folder: each eligibility rule,
credit_months counting, window boundaries, approval holds and file validation.

March 2026 is the period unless a test says otherwise (last day 2026-03-31)."""

from __future__ import annotations

import re
from pathlib import Path

import polars as pl
import pytest

from pipelines.billing.adjustments import ADJUSTMENTS_FILE, HOLD_REASONS, SCHEMA, period_adjustments
from pipelines.billing.promotions import (
    PROMOTIONS_FILE,
    PromotionError,
    eligible_lines,
    promotional_credits,
    read_promotions,
)
from pipelines.config import Layout
from pipelines.generate.promotions import FIRST_MONTH_PROMOTION, promotion_rows

PERIOD = "2026-03"

ACCOUNTS = """\
account_id,account_name,account_class,bill_cycle_day,currency,service_address_id,created_date
A1,Ada Consumer,consumer,1,USD,AD1,2020-01-01
A2,Bell Business,business,1,USD,AD2,2020-01-01
A3,Cy Lifeline,lifeline,1,USD,AD3,2020-01-01
"""

# Each line differs from S01 (a consumer's MOB-TALK2 line activated in January, in service)
# by what its comment says.
SUBSCRIBERS = """\
subscriber_id,account_id,service_type,msisdn,imsi,plan_id,service_address_id,activated_date,cancelled_date,status
S01,A1,mobile,1312555001,1,MOB-TALK2,AD1,2026-01-15,,active
S02,A1,mobile,1312555002,2,MOB-TALK2,AD1,2026-03-31,,active
S03,A1,mobile,1312555003,3,MOB-TALK2,AD1,2026-04-01,,active
S04,A1,mobile,1312555004,4,MOB-TALK2,AD1,2026-02-01,2026-03-31,cancelled
S05,A1,mobile,1312555005,5,MOB-TALK2,AD1,2026-02-01,2026-04-01,cancelled
S06,A1,mobile,1312555006,6,MOB-TALK2,AD1,2026-02-01,,suspended
S07,A1,mobile,1312555007,7,MOB-MAX30,AD1,2026-02-01,,active
S08,A1,fixed_voip,1312555008,,VOIP-HOME,AD1,2026-02-01,,active
S09,A2,mobile,1312555009,9,MOB-TALK2,AD2,2026-02-01,,active
S10,A1,mobile,1312555010,10,MOB-TALK2,AD1,2025-12-31,,active
S11,A1,mobile,1312555011,11,MOB-TALK2,AD1,2026-01-01,,active
S12,A9,mobile,1312555012,12,MOB-TALK2,AD1,2026-02-01,,active
S13,A2,fixed_voip,1312555013,,VOIP-BIZ,AD2,2024-05-01,,active
S14,A3,mobile,1312555014,14,MOB-LIFELINE,AD3,2023-06-01,,active
"""
# S02: activated on the period's last day; S03: the day after it. S04: cancelled on the
# last day; S05: the day after it (cancelled at the export, in service on 2026-03-31).
# S06: suspended. S07: another plan. S08: a VoIP line. S09: a business account's.
# S10: activated the day before NEW10's window; S11: on its first day. S12: its account is
# not in accounts.csv. S13: a business VoIP line since 2024. S14: a Lifeline line.

HEADER = (
    "promotion_id,promotion_name,credit_micros,category,plan_ids,service_type,account_classes,"
    "activated_from,activated_to,credit_months,first_period,last_period,approved_by,"
    "approval_limit_micros\n"
)
NEW10 = (
    "NEW10,New line $10 off for 3 months,10000000,wireless_access,MOB-TALK2 MOB-PLUS10,mobile,"
    "consumer,2026-01-01,2026-03-31,3,2026-01,,marketing.director,10000000\n"
)
# Any plan, service type and activation date: business lines, from February, 2 runs each.
LOYAL5 = (
    "LOYAL5,Business loyalty $5,5000000,voip_access,,,business,,,2,2026-02,,retention-desk,"
    "5000000\n"
)
# No credit of its own: care grants the amount (adjustments.csv) to lines new in the run.
HALF = "HALF,First month half price,,wireless_access,,mobile,,2026-01-01,,1,2026-01,,,\n"
PROMOTIONS = HEADER + NEW10 + LOYAL5 + HALF


def _layout(tmp_path: Path, promotions: str | None = PROMOTIONS, adjustments: str = "") -> Layout:
    layout = Layout(tmp_path)
    layout.reference.mkdir(parents=True, exist_ok=True)
    (layout.reference / "accounts.csv").write_text(ACCOUNTS)
    (layout.reference / "subscribers.csv").write_text(SUBSCRIBERS)
    if promotions is not None:
        (layout.reference / PROMOTIONS_FILE).write_text(promotions)
    if adjustments:
        (layout.reference / ADJUSTMENTS_FILE).write_text(adjustments)
    return layout


def _eligible(layout: Layout, period: str = PERIOD) -> dict[str, list[str]]:
    frame = eligible_lines(layout, period)
    return {
        promotion: frame.filter(pl.col("promotion_id") == promotion)["subscriber_id"].to_list()
        for promotion in ("NEW10", "LOYAL5", "HALF")
    }


def test_each_rule_decides_eligibility(tmp_path: Path) -> None:
    # NEW10: S01, S11 (activated 2026-01-01, NEW10's first day: run 3 of 3), S02 (activated
    # 2026-03-31, NEW10's last day, on the period's last day), S05 (cancelled after it).
    # Not: S03 (not yet active), S04 (cancelled on the last day), S06 (suspended), S07
    # (plan), S08 (service type), S09 (account class), S10 (before the window), S12 (no
    # account), S13, S14. LOYAL5: the business lines. HALF: mobile lines whose first run
    # is March.
    assert _eligible(_layout(tmp_path)) == {
        "NEW10": ["S01", "S02", "S05", "S11"],
        "LOYAL5": ["S09", "S13"],
        "HALF": ["S02"],
    }


def test_credit_months_count_from_the_activation_run_or_the_first_period(tmp_path: Path) -> None:
    layout = _layout(tmp_path)
    # January: NEW10's first run; S01 and S11 start in it. LOYAL5 has not begun. HALF:
    # lines activated in January (S01, S11).
    assert _eligible(layout, "2026-01") == {
        "NEW10": ["S01", "S11"],
        "LOYAL5": [],
        "HALF": ["S01", "S11"],
    }
    # April: S01 and S11 had January, February and March; S02 started in March (2 of 3);
    # S05 was cancelled on 2026-04-01. LOYAL5: S09 (activated February) and S13 (activated
    # in 2024, so counted from LOYAL5's first period, February) had February and March.
    # HALF: S03, activated 2026-04-01, in its first run.
    assert _eligible(layout, "2026-04") == {"NEW10": ["S02"], "LOYAL5": [], "HALF": ["S03"]}
    # 2025-12: before every promotion's first period.
    assert _eligible(layout, "2025-12") == {"NEW10": [], "LOYAL5": [], "HALF": []}


def test_last_period_ends_the_promotion(tmp_path: Path) -> None:
    ended = HEADER + NEW10.replace(",3,2026-01,,", ",3,2026-01,2026-02,")
    layout = _layout(tmp_path, ended)
    # February: S04 and S05 were in service on 2026-02-28 too.
    assert eligible_lines(layout, "2026-02")["subscriber_id"].to_list() == [
        "S01",
        "S04",
        "S05",
        "S11",
    ]
    assert eligible_lines(layout, PERIOD).is_empty()


def test_automatic_credits_one_per_eligible_line(tmp_path: Path) -> None:
    credits = promotional_credits(_layout(tmp_path), PERIOD)
    assert credits.schema == SCHEMA
    # HALF has no credit of its own.
    assert credits.select("adjustment_id", "amount_micros", "adjustment_status").rows() == [
        ("PROMO-LOYAL5-S09", 5_000_000, "applied"),
        ("PROMO-LOYAL5-S13", 5_000_000, "applied"),
        ("PROMO-NEW10-S01", 10_000_000, "applied"),
        ("PROMO-NEW10-S02", 10_000_000, "applied"),
        ("PROMO-NEW10-S05", 10_000_000, "applied"),
        ("PROMO-NEW10-S11", 10_000_000, "applied"),
    ]
    assert credits.row(2, named=True) == {
        "adjustment_id": "PROMO-NEW10-S01",
        "billing_period": PERIOD,
        "account_id": "A1",
        "subscriber_id": "S01",
        "adjustment_type": "promotional",
        "category": "wireless_access",
        "amount_micros": 10_000_000,
        "description": "New line $10 off for 3 months",
        "approved_by": "marketing.director",
        "approval_limit_micros": 10_000_000,
        "adjustment_status": "applied",
        "hold_reason": None,
    }


@pytest.mark.parametrize(
    ("approver", "limit", "reason"),
    [
        ("retention-desk", "4990000", "above_approval_limit"),  # one cent under the credit
        ("retention-desk", "", "above_approval_limit"),  # nothing approved
        ("", "5000000", "missing_approver"),
        ("", "100", "missing_approver"),  # checked first, as in adjustments.csv
    ],
)
def test_an_unapproved_promotion_holds_every_credit(
    tmp_path: Path, approver: str, limit: str, reason: str
) -> None:
    promotions = HEADER + LOYAL5.replace("retention-desk,5000000", f"{approver},{limit}")
    credits = promotional_credits(_layout(tmp_path, promotions), PERIOD)
    assert credits.select("adjustment_id", "adjustment_status", "hold_reason").rows() == [
        ("PROMO-LOYAL5-S09", "held", reason),
        ("PROMO-LOYAL5-S13", "held", reason),
    ]


def test_without_promotions_there_are_no_credits(tmp_path: Path) -> None:
    layout = _layout(tmp_path, promotions=None)
    assert promotional_credits(layout, PERIOD).is_empty()
    assert period_adjustments(layout, PERIOD).is_empty()


ADJ_HEADER = (
    "adjustment_id,account_id,subscriber_id,billing_period,adjustment_type,category,"
    "amount_micros,description,approved_by,approval_limit_micros"
)
MANUAL = (
    ADJ_HEADER
    + ",promotion_id\n"
    + "M01,A1,S02,2026-03,promotional,wireless_access,1000000,half,care-7,5000000,HALF\n"
    + "M02,A1,S01,2026-03,promotional,wireless_access,1000000,half,care-7,5000000,HALF\n"
    + "M03,A1,S01,2026-03,promotional,wireless_access,1000000,promo,care-7,5000000,\n"
    + "M04,A1,S01,2026-03,promotional,wireless_access,1000000,promo,care-7,5000000,NOPE\n"
    + "M05,A1,S01,2026-03,promotional,wireless_access,1000000,again,care-7,5000000,NEW10\n"
    + "M06,A1,,2026-03,promotional,wireless_access,1000000,half,care-7,5000000,HALF\n"
    + "M07,A2,,2026-03,promotional,wireless_access,1000000,half,care-7,5000000,HALF\n"
    + "M08,A1,,2026-03,promotional,wireless_access,1000000,again,care-7,5000000,NEW10\n"
    + "M09,A1,S01,2026-03,goodwill,wireless_access,1000000,outage,care-7,5000000,NOPE\n"
    + "M10,A1,S01,2026-03,promotional,wireless_access,9000000,big,care-7,5000000,NOPE\n"
    + "M11,A1,S07,2026-03,promotional,wireless_access,1000000,plan,care-7,5000000,NEW10\n"
    + "M12,A2,S09,2026-03,promotional,voip_access,1000000,again,care-7,5000000,LOYAL5\n"
    + "M13,A1,S02,2026-04,promotional,wireless_access,1000000,april,care-7,5000000,HALF\n"
)


def test_manual_promotional_credits_must_name_an_eligible_promotion(tmp_path: Path) -> None:
    adjustments = period_adjustments(_layout(tmp_path, adjustments=MANUAL), PERIOD)
    outcome = {
        row["adjustment_id"]: (row["adjustment_status"], row["hold_reason"])
        for row in adjustments.iter_rows(named=True)
    }
    assert outcome == {
        # S02 is in its first run: HALF applies; so it does on A1 as a whole (S02 is A1's).
        "M01": ("applied", None),
        "M06": ("applied", None),
        # S01's first run was January; A2 has no mobile line new in March; S07's plan is
        # not NEW10's.
        "M02": ("held", "not_eligible"),
        "M07": ("held", "not_eligible"),
        "M11": ("held", "not_eligible"),
        "M03": ("held", "unknown_promotion"),
        "M04": ("held", "unknown_promotion"),
        # NEW10 and LOYAL5 credit these lines already (PROMO-NEW10-S01, PROMO-LOYAL5-S09),
        # and a line of A1 for M08.
        "M05": ("held", "duplicate_promotion"),
        "M08": ("held", "duplicate_promotion"),
        "M12": ("held", "duplicate_promotion"),
        # Not promotional: promotion_id is not read.
        "M09": ("applied", None),
        # The earlier reasons come first.
        "M10": ("held", "above_approval_limit"),
        # M13 is April's. The automatic credits come with the manual ones.
        "PROMO-LOYAL5-S09": ("applied", None),
        "PROMO-LOYAL5-S13": ("applied", None),
        "PROMO-NEW10-S01": ("applied", None),
        "PROMO-NEW10-S02": ("applied", None),
        "PROMO-NEW10-S05": ("applied", None),
        "PROMO-NEW10-S11": ("applied", None),
    }
    assert adjustments.schema == SCHEMA
    assert adjustments["adjustment_id"].to_list() == sorted(outcome)


def test_a_held_automatic_credit_still_makes_the_manual_one_a_duplicate(tmp_path: Path) -> None:
    unapproved = PROMOTIONS.replace("retention-desk,5000000", ",5000000")
    adjustments = period_adjustments(_layout(tmp_path, unapproved, MANUAL), PERIOD)
    held = dict(
        adjustments.filter(pl.col("adjustment_status") == "held")
        .select("adjustment_id", "hold_reason")
        .rows()
    )
    assert held["PROMO-LOYAL5-S09"] == "missing_approver"
    assert held["M12"] == "duplicate_promotion"


def test_without_promotions_every_promotional_credit_is_held(tmp_path: Path) -> None:
    adjustments = period_adjustments(_layout(tmp_path, None, MANUAL), PERIOD)
    reasons = dict(adjustments.select("adjustment_id", "hold_reason").rows())
    assert reasons == {
        **{f"M{n:02d}": "unknown_promotion" for n in (1, 2, 3, 4, 5, 6, 7, 8, 11, 12)},
        "M09": None,
        "M10": "above_approval_limit",
    }


def test_a_file_without_promotion_id_still_loads(tmp_path: Path) -> None:
    # Also: a row missing its account, type or category is held, not applied.
    adjustments = (
        ADJ_HEADER
        + "\nG1,A1,S01,2026-03,goodwill,wireless_access,1000000,outage,care-7,5000000\n"
        + "G2,A1,S01,2026-03,promotional,wireless_access,1000000,promo,care-7,5000000\n"
        + "G3,,,2026-03,goodwill,wireless_access,1000000,no account,care-7,5000000\n"
        + "G4,A1,S01,2026-03,,wireless_access,1000000,no type,care-7,5000000\n"
        + "G5,A1,S01,2026-03,goodwill,,1000000,no category,care-7,5000000\n"
    )
    result = period_adjustments(_layout(tmp_path, None, adjustments), PERIOD)
    assert result.select("adjustment_id", "adjustment_status", "hold_reason").rows() == [
        ("G1", "applied", None),
        ("G2", "held", "unknown_promotion"),
        ("G3", "held", "unknown_account"),
        ("G4", "held", "unknown_type"),
        ("G5", "held", "unknown_category"),
    ]


def test_a_manual_credit_may_not_take_an_automatic_credits_id(tmp_path: Path) -> None:
    adjustments = (
        ADJ_HEADER + "\nPROMO-NEW10-S01,A1,S01,2026-03,goodwill,wireless_access,1000000,"
        "outage,care-7,5000000\n"
    )
    with pytest.raises(ValueError, match="PROMO-NEW10-S01 in 2026-03 is the id of a promotion"):
        period_adjustments(_layout(tmp_path, adjustments=adjustments), PERIOD)


def test_hold_reasons_keep_their_order() -> None:
    assert HOLD_REASONS[-3:] == ("unknown_promotion", "not_eligible", "duplicate_promotion")
    assert HOLD_REASONS[:7] == (
        "unknown_account",
        "unknown_subscriber",
        "unknown_type",
        "unknown_category",
        "bad_amount",
        "missing_approver",
        "above_approval_limit",
    )


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("NEW10,New", "NEW 10,New", "promotion_id 'NEW 10' must be"),
        ("New line $10 off for 3 months", "", "promotion_name is empty"),
        ("10000000,wireless", "0,wireless", "credit_micros 0 must be above 0 and whole cents"),
        ("10000000,wireless", "10000001,wireless", "credit_micros 10000001 must be above 0"),
        ("10000000,wireless", "-10000000,wireless", "credit_micros '-10000000' is not a whole"),
        ("10000000,wireless", "10.5,wireless", "credit_micros '10.5' is not a whole"),
        ("wireless_access", "wireless", "unknown category 'wireless'"),
        (",mobile,", ",mobil,", "unknown service_type 'mobil'"),
        ("consumer", "consumer retail", "unknown account_classes retail"),
        ("2026-01-01,2026-03-31", "2026-02-30,2026-03-31", "activated_from '2026-02-30' is not"),
        ("2026-01-01,2026-03-31", "2026-04-01,2026-03-31", "activated_to 2026-03-31 is before"),
        (",3,2026-01", ",0,2026-01", "credit_months '0' must be a whole number >= 1"),
        (",3,2026-01", ",,2026-01", "credit_months '' must be"),
        (",3,2026-01,", ",3,,", "first_period is empty"),
        (",3,2026-01,", ",3,2026-1,", "first_period '2026-1' is not a YYYY-MM period"),
        (",3,2026-01,,", ",3,2026-01,2025-12,", "last_period 2025-12 is before first_period"),
        ("director,10000000", "director,1e7", "approval_limit_micros '1e7' is not a whole"),
    ],
)
def test_a_bad_promotion_refuses_the_file_naming_its_line(
    tmp_path: Path, old: str, new: str, message: str
) -> None:
    assert old in NEW10
    promotions = HEADER + LOYAL5 + NEW10.replace(old, new, 1)
    with pytest.raises(PromotionError, match=rf"^promotions\.csv:3: {re.escape(message)}"):
        eligible_lines(_layout(tmp_path, promotions), PERIOD)


def test_a_repeated_promotion_id_refuses_the_file(tmp_path: Path) -> None:
    promotions = HEADER + NEW10 + LOYAL5 + NEW10
    with pytest.raises(
        PromotionError, match=r"promotions\.csv:4: promotion_id NEW10 repeats line 2"
    ):
        period_adjustments(_layout(tmp_path, promotions), PERIOD)


def test_a_missing_column_refuses_the_file(tmp_path: Path) -> None:
    promotions = HEADER.replace(",credit_months", "") + "X,x,1,wireless_access,,,,,,2026-01,,,\n"
    with pytest.raises(ValueError, match=r"promotions\.csv: missing column\(s\) credit_months"):
        promotional_credits(_layout(tmp_path, promotions), PERIOD)


def test_the_generators_promotions_read_back(tmp_path: Path) -> None:
    # pipelines/generate/promotions.py: the rows are a valid promotions.csv, and the
    # generator's promotional adjustment (a paid mobile line new in the month) is eligible
    # for FIRSTMONTH50 while NEWLINE10 credits it automatically.
    rows = promotion_rows("2026-03")
    assert [tuple(row) for row in rows] == [tuple(HEADER.strip().split(","))] * 2
    text = HEADER + "".join(
        ",".join("" if value is None else str(value) for value in row.values()) + "\n"
        for row in rows
    )
    layout = _layout(tmp_path, text)
    assert [p.promotion_id for p in read_promotions(layout)] == [
        "NEWLINE10",
        FIRST_MONTH_PROMOTION,
    ]
    eligible = eligible_lines(layout, PERIOD).filter(pl.col("subscriber_id") == "S02")
    assert eligible.rows() == [
        (FIRST_MONTH_PROMOTION, "A1", "S02", False),
        ("NEWLINE10", "A1", "S02", True),
    ]
