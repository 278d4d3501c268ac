"""The acceptance scenario of the bill run: four accounts billed for July 2024, every
invoice worked out by hand to the micro-unit (issue #6).

The operator is the tiny rating operator (tests/rating/tiny_rating_lake.py: America/Chicago,
five calls) with these lines, all on cycle day 1 (bill date 2024-08-01, due 2024-08-22;
August, 31 days, billed in advance; July has 31 days):

- A1 (consumer, two lines). S1 on P1 (10.00) since January. S2 activated on 07-11 on P1,
  with a $35.00 activation fee, an iPhone financed over 24 months ($829.00, $100.00 down:
  729.00 / 24 = 30.375 -> 30.37 a month) and the promotion NEW10 ($10.00 off a new line).
  An old-system invoice of $50.00 was paid on 07-15.
- A2 (consumer). S3 on P2 (3.10) changed to PBIG (40.00) on 07-21.
- A3 (consumer). S4 on P1 suspended on 07-16. Its old-system invoice of $40.00, due 07-22,
  is unpaid: a late fee.
- A4 (lifeline). S5 on P1: exempt from the FUSF.

Usage: S1's calls u1 (60 s of its allowance, 60 s at 1 000/s = 60 000), u3 (France, in
bundle, 120 s at 2 000/s = 240 000: the allowance is spent) and u4 (UK, 820 000): 1 120 000.
S3's u5 (UK, 700 000). u2 (S2's number, 07-03) predates S2's activation: suspense.

Taxes (SCENARIO_RULES): FUSF 34.4% (2024Q3) of the 37.1% wireless safe harbor, each line
rounded down to the micro (its cap), Lifeline exempt; 911 $1.50 per line; excise 7% of
usage; sales tax 6.25% of equipment. Activation and late fees bear none.

Recurring fees, to the cent:
- S1: August 10.00.          S2: 07-11..07-31 10 x 21/31 = 6.7742 -> 6.77; August 10.00.
- S3: July's P2 reversed -3.10; P2 07-01..07-20 3.10 x 20/31 = 2.00; PBIG 07-21..07-31
  40 x 11/31 = 14.1935 -> 14.19; August PBIG 40.00.
- S4: July reversed -10.00; 07-01..07-15 10 x 15/31 = 4.8387 -> 4.84; no August (suspended).
- S5: August 10.00.

Tax lines (FUSF = amount x 0.371 x 0.344, rounded down):
- A1: S1 Aug 1 276 240 + 911 1 500 000; S2 days 6 770 000 -> 2 511 670 -> 864 014.48 ->
  864 014; S2 Aug 1 276 240 + 911 1 500 000; promotion -10 000 000 -> -1 276 240; usage
  1 120 000 -> 415 520 -> 142 938.88 -> 142 938, excise 78 400; installment 30 370 000 ->
  sales 1 898 125. FUSF 2 283 192 -> 2.28 (the USF line rounds toward zero); 911 3.00;
  sales 1.90; excise 0.08: 7 260 000.
- A2: reversal -1 150 100 x 0.344 = -395 634.4 -> -395 634 (the mirror of the fee's line);
  2 000 000 -> 742 000 -> 255 248; 14 190 000 -> 5 264 490 -> 1 810 984.56 -> 1 810 984;
  Aug 40 000 000 -> 14 840 000 -> 5 104 960, 911 1 500 000; usage 700 000 -> 259 700 ->
  89 336.8 -> 89 336, excise 49 000. FUSF 6 864 894 -> 6.86; 911 1.50; excise 0.05:
  8 410 000.
- A3: -1 276 240 + 4 840 000 -> 1 795 640 -> 617 700.16 -> 617 700: FUSF -658 540 -> -0.65.
- A4: 911 1.50; no FUSF (Lifeline).
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import polars as pl
import pytest
from rating.tiny_rating_lake import REFERENCE, build_operator

from pipelines.config import Layout
from pipelines.rating.buckets import read_period_table
from pipelines.rating.rerate import PeriodStateError
from pipelines.rating.stage import rate_period
from pipelines.taxes.stage import tax_period

PERIOD = "2024-07"

SCENARIO_RULES = {
    "ruleset.yaml": (
        "format: telcolake-tax-rules/1\nname: scenario\nlabel: scenario-1\ncurrency: USD\n"
        "tax_on_tax: ordered\nmax_iterations: 1\n"
    ),
    "jurisdictions.csv": (
        "jurisdiction_id,level,code,name,parent_id\nUS,federal,US,United States,\n"
        "IL,state,IL,Illinois,US\n"
    ),
    "tax_areas.csv": "tax_area_id,state,county,city,postal_code,jurisdiction_ids\nIL,IL,,,,US|IL\n",
    "taxes.csv": (
        "tax_id,effective_from,effective_to,jurisdiction_id,tax_type,tax_name,kind,categories,"
        "method,rate_ppm,amount_micros,base_share,tax_on,calc_order,exempt_classes,billable,"
        "rounding,decimals,max_base_micros,max_tax_micros,tier_basis,usf\n"
        "US-FUSF,2024-01-01,,US,usf,FUSF,surcharge,wireless_access|wireless_usage,percent,0,0,"
        "interstate,,10,lifeline,true,half_up,6,0,0,amount,true\n"
        "IL-911,2024-01-01,,IL,e911,Illinois 911,fee,wireless_access,per_line,0,1500000,"
        "full,,20,,true,half_up,6,0,0,amount,false\n"
        "IL-EXCISE,2024-01-01,,IL,excise,Illinois excise,tax,wireless_usage,percent,70000,0,"
        "full,,20,,true,half_up,6,0,0,amount,false\n"
        "IL-SALES,2024-01-01,,IL,sales,Illinois sales tax,tax,equipment_sale,percent,62500,0,"
        "full,,20,,true,half_up,6,0,0,amount,false\n"
    ),
    "usf_factors.csv": "quarter,contribution_factor\n2024Q3,0.344\n",
    "interstate_shares.csv": (
        "category,interstate_share,source\nwireless_access,0.371,FCC 06-94\n"
        "wireless_usage,0.371,FCC 06-94\n"
    ),
}

SCENARIO = {
    **REFERENCE,
    "accounts.csv": (
        "account_id,account_name,account_class,bill_cycle_day,currency,service_address_id,"
        "created_date\n"
        "A1,Ada,consumer,1,USD,SA1,2023-01-01\n"
        "A2,Bo,consumer,1,USD,SA1,2023-01-01\n"
        "A3,Cy,consumer,1,USD,SA1,2023-01-01\n"
        "A4,Di,lifeline,1,USD,SA1,2023-01-01\n"
    ),
    "subscribers.csv": (
        "subscriber_id,account_id,service_type,msisdn,imsi,plan_id,service_address_id,"
        "activated_date,cancelled_date,status\n"
        "S1,A1,mobile,13125550001,310150000000001,P1,SA1,2024-01-01,,active\n"
        "S2,A1,mobile,13125550002,310150000000002,P1,SA1,2024-07-11,,active\n"
        "S3,A2,mobile,13125550003,310150000000003,PBIG,SA1,2024-01-01,,active\n"
        "S4,A3,mobile,13125550004,310150000000004,P1,SA1,2024-01-01,,suspended\n"
        "S5,A4,mobile,13125550005,310150000000005,P1,SA1,2024-01-01,,active\n"
    ),
    "plans.csv": (
        "plan_id,plan_name,service_type,monthly_fee_micros,included_voice_seconds,included_sms,"
        "included_data_bytes,rate_deck_id,effective_from,effective_to\n"
        "P1,Mobile 60,mobile,10000000,60,0,0,D1,2024-01-01,\n"
        "P2,Mobile Basic,mobile,3100000,0,0,0,D1,2024-01-01,\n"
        "PBIG,Mobile Max,mobile,40000000,0,0,0,D1,2024-01-01,\n"
    ),
    "crm_orders.csv": (
        "order_id,account_id,subscriber_id,order_type,plan_id,ordered_date,completed_date,"
        "order_status\n"
        "O0,A2,S3,activation,P2,2024-01-01,2024-01-01,completed\n"
        "O1,A1,S2,activation,P1,2024-07-10,2024-07-11,completed\n"
        "O2,A2,S3,plan_change,PBIG,2024-07-20,2024-07-21,completed\n"
        "O3,A3,S4,suspension,P1,2024-07-16,2024-07-16,completed\n"
    ),
    "one_time_fees.csv": (
        "fee_id,fee_name,order_type,service_type,category,amount_micros,effective_from,"
        "effective_to\nACTIVATION,Activation fee,activation,mobile,activation,35000000,"
        "2024-01-01,\n"
    ),
    "device_installments.csv": (
        "agreement_id,account_id,subscriber_id,device_name,device_price_micros,"
        "down_payment_micros,installment_count,first_billing_period\n"
        "DPA-S2,A1,S2,Apple iPhone 16 128GB,829000000,100000000,24,2024-07\n"
    ),
    "promotions.csv": (
        "promotion_id,promotion_name,credit_micros,category,plan_ids,service_type,"
        "account_classes,activated_from,activated_to,credit_months,first_period,last_period,"
        "approved_by,approval_limit_micros\n"
        "NEW10,New line $10 off,10000000,wireless_access,P1,mobile,consumer,2024-07-01,,3,"
        "2024-07,,marketing.director,10000000\n"
    ),
    "opening_balances.csv": (
        "account_id,invoice_id,invoice_date,due_date,amount_micros\n"
        "A1,OLD-A1,2024-07-01,2024-07-22,50000000\n"
        "A3,OLD-A3,2024-07-01,2024-07-22,40000000\n"
    ),
    "payments.csv": (
        "payment_id,account_id,received_date,amount_micros,method,invoice_id\n"
        "PAY-1,A1,2024-07-15,50000000,card,OLD-A1\n"
    ),
    **{f"tax_rules/{name}": text for name, text in SCENARIO_RULES.items()},
}

#: invoice_id: recurring, usage, one-time, equipment, late fee, credit, tax, total,
#: previous balance, payments, amount due.
EXPECTED_INVOICES = {
    "INV-202407-A1": (
        26_770_000, 1_120_000, 35_000_000, 30_370_000, 0, -10_000_000,
        7_260_000, 90_520_000, 0, 50_000_000, 90_520_000,
    ),
    "INV-202407-A2": (53_090_000, 700_000, 0, 0, 0, 0, 8_410_000, 62_200_000, 0, 0, 62_200_000),
    # A3's invoice is a credit (-0.81): it pays down the unpaid $40.00 it brings forward.
    "INV-202407-A3": (
        -5_160_000, 0, 0, 0, 5_000_000, 0, -650_000, -810_000, 40_000_000, 0, 39_190_000,
    ),
    "INV-202407-A4": (10_000_000, 0, 0, 0, 0, 0, 1_500_000, 11_500_000, 0, 0, 11_500_000),
}  # fmt: skip


@pytest.fixture(scope="module")
def billed(tmp_path_factory: pytest.TempPathFactory) -> Layout:
    layout = build_operator(tmp_path_factory.mktemp("scenario") / "data", SCENARIO)
    rate_period(layout, PERIOD)
    tax_period(layout, PERIOD)
    return layout


def _frame(layout: Layout, table: str) -> pl.DataFrame:
    frame = pl.from_arrow(read_period_table(layout, table, PERIOD))
    assert isinstance(frame, pl.DataFrame)
    return frame


def test_usage_rates_as_worked_out(billed: Layout) -> None:
    rated = {
        row["usage_id"]: (row["subscriber_id"], row["rating_status"], row["charge_micros"])
        for row in _frame(billed, "rated_usage").iter_rows(named=True)
    }
    assert rated == {
        "u1": ("S1", "rated", 60_000),
        "u2": (None, "suspense", 0),
        "u3": ("S1", "rated", 240_000),
        "u4": ("S1", "rated", 820_000),
        "u5": ("S3", "rated", 700_000),
    }


def test_charges_by_source_match_the_hand_computed_bill(billed: Layout) -> None:
    charges = _frame(billed, "billed_charges")
    got = {
        (row["account_id"], row["charge_source"], row["description"]): row["amount_micros"]
        for row in charges.iter_rows(named=True)
    }
    assert got == {
        ("A1", "recurring", "Mobile 60 monthly fee, 2024-08-01 to 2024-08-31"): 10_000_000,
        (
            "A1",
            "recurring",
            "Mobile 60 monthly fee, 2024-07-11 to 2024-07-31 (21 of 31 days)",
        ): 6_770_000,
        ("A1", "usage", "Mobile calls and messages"): 1_120_000,
        ("A1", "one_time", "Activation fee"): 35_000_000,
        ("A1", "installment", "Device payment 1 of 24: Apple iPhone 16 128GB"): 30_370_000,
        ("A1", "adjustment", "Promotional credit: New line $10 off"): -10_000_000,
        (
            "A2",
            "recurring",
            "Reversal of Mobile Basic monthly fee, 2024-07-01 to 2024-07-31",
        ): -3_100_000,
        (
            "A2",
            "recurring",
            "Mobile Basic monthly fee, 2024-07-01 to 2024-07-20 (20 of 31 days)",
        ): 2_000_000,
        (
            "A2",
            "recurring",
            "Mobile Max monthly fee, 2024-07-21 to 2024-07-31 (11 of 31 days)",
        ): 14_190_000,
        ("A2", "recurring", "Mobile Max monthly fee, 2024-08-01 to 2024-08-31"): 40_000_000,
        ("A2", "usage", "Mobile calls and messages"): 700_000,
        (
            "A3",
            "recurring",
            "Reversal of Mobile 60 monthly fee, 2024-07-01 to 2024-07-31",
        ): -10_000_000,
        (
            "A3",
            "recurring",
            "Mobile 60 monthly fee, 2024-07-01 to 2024-07-15 (15 of 31 days)",
        ): 4_840_000,
        ("A3", "late_fee", "Late payment fee ($40.00 past due on 2024-08-01)"): 5_000_000,
        ("A4", "recurring", "Mobile 60 monthly fee, 2024-08-01 to 2024-08-31"): 10_000_000,
    }
    # S1's and S2's August fees are two rows with one description: both counted above.
    assert charges.filter(pl.col("account_id") == "A1").height == 7
    assert charges["tax_status"].unique().to_list() == ["ok"]


def test_tax_lines_match_the_hand_computed_taxes(billed: Layout) -> None:
    lines = _frame(billed, "tax_lines")
    per_account_tax = {
        (account, tax): total
        for account, tax, total in lines.group_by("account_id", "tax_id")
        .agg(pl.col("tax_micros").sum())
        .iter_rows()
        if total
    }
    assert per_account_tax == {
        ("A1", "US-FUSF"): 1_276_240 + 864_014 + 1_276_240 - 1_276_240 + 142_938,
        ("A1", "IL-911"): 3_000_000,
        ("A1", "IL-SALES"): 1_898_125,
        ("A1", "IL-EXCISE"): 78_400,
        ("A2", "US-FUSF"): -395_634 + 255_248 + 1_810_984 + 5_104_960 + 89_336,
        ("A2", "IL-911"): 1_500_000,
        ("A2", "IL-EXCISE"): 49_000,
        ("A3", "US-FUSF"): -1_276_240 + 617_700,
        ("A4", "IL-911"): 1_500_000,
    }


def test_invoices_match_to_the_micro_unit(billed: Layout) -> None:
    invoices = _frame(billed, "invoices")
    charges = _frame(billed, "billed_charges")
    by_source = {
        (account, source): amount
        for account, source, amount in charges.group_by("account_id", "charge_source")
        .agg(pl.col("amount_micros").sum())
        .iter_rows()
    }
    got = {}
    for row in invoices.iter_rows(named=True):
        account = row["account_id"]
        got[row["invoice_id"]] = (
            *(
                by_source.get((account, source), 0)
                for source in (
                    "recurring", "usage", "one_time", "installment", "late_fee", "adjustment",
                )
            ),
            row["tax_micros"], row["total_micros"], row["previous_balance_micros"],
            row["payments_micros"], row["amount_due_micros"],
        )  # fmt: skip
        assert (row["invoice_date"], row["due_date"]) == (date(2024, 8, 1), date(2024, 8, 22))
        assert (row["advance_from"], row["advance_to"]) == (date(2024, 8, 1), date(2024, 8, 31))
    assert got == EXPECTED_INVOICES


def test_receivables_after_the_run(billed: Layout) -> None:
    aging = {
        row["account_id"]: (row["past_due_1_30_micros"], row["current_micros"])
        for row in _frame(billed, "ar_aging").iter_rows(named=True)
    }
    # A3 on 08-01: OLD-A3 10 days past due, 40.00 less the 0.81 credit of its new invoice.
    assert aging["A3"] == (39_190_000, 0)
    assert aging["A1"] == (0, 90_520_000)
    dunning = {
        (row["invoice_id"], row["stage"]): (row["trigger_date"], row["dunning_status"])
        for row in _frame(billed, "dunning_events").iter_rows(named=True)
    }
    assert dunning == {
        ("OLD-A3", "reminder"): (date(2024, 7, 27), "triggered"),
        ("OLD-A3", "suspension"): (date(2024, 8, 21), "scheduled"),
        ("OLD-A3", "disconnection"): (date(2024, 9, 20), "scheduled"),
    }
    [device] = _frame(billed, "device_receivables").iter_rows(named=True)
    assert (
        device["financed_micros"],
        device["billed_micros"],
        device["remaining_balance_micros"],
        device["agreement_status"],
    ) == (729_000_000, 30_370_000, 698_630_000, "active")


def test_rerun_reproduces_the_same_invoices(billed: Layout, tmp_path: Path) -> None:
    before = _frame(billed, "invoices")
    rate_period(billed, PERIOD)
    tax_period(billed, PERIOD)
    assert _frame(billed, "invoices").equals(before)


def test_a_period_not_rated_is_not_billed(tmp_path: Path) -> None:
    layout = build_operator(tmp_path / "data", SCENARIO)
    with pytest.raises(PeriodStateError, match="2024-07 has not been rated"):
        tax_period(layout, PERIOD)


def test_a_bad_opening_balance_is_kept_with_its_reason(tmp_path: Path) -> None:
    reference = {
        **SCENARIO,
        "opening_balances.csv": SCENARIO["opening_balances.csv"]
        + "A9,OLD-A9,2024-07-01,2024-07-22,40000000\n"
        + "A2,OLD-A2,2024-07-01,2024-07-22,12.5\n",
    }
    layout = build_operator(tmp_path / "data", reference)
    rate_period(layout, PERIOD)
    tax_period(layout, PERIOD)
    rejects = _frame(layout, "opening_balance_rejects")
    assert sorted(rejects.select("invoice_id", "reject_reason").rows()) == [
        ("OLD-A2", "bad_amount"),
        ("OLD-A9", "unknown_account"),
    ]
    # The good rows still bring A1's and A3's balances forward.
    assert _frame(layout, "invoices").filter(pl.col("account_id") == "A3")[
        "previous_balance_micros"
    ].to_list() == [40_000_000]
