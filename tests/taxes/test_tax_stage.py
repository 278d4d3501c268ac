"""The tax stage on the tiny operator (tests/dbt_tiny_operator.py): what it writes to the
lake, that nothing is lost or doubled, reruns, addresses without a tax area and traffic
studies. The figures are worked out in tests/dbt_project/test_dbt_build.py's header."""

from __future__ import annotations

from pathlib import Path

import pyarrow.compute as pc
import pytest
from dbt_tiny_operator import PERIOD, write_fixture

from pipelines.billing.adjustments import ADJUSTMENTS_FILE
from pipelines.config import Layout
from pipelines.lake import partition_dir, read_partition
from pipelines.reference import TAX_RULES_DIR
from pipelines.taxes.stage import tax_period
from pipelines.taxes.traffic_studies import TRAFFIC_STUDIES_FILE, TrafficStudyError

PARTITION = {"billing_period": PERIOD}


@pytest.fixture
def layout(tmp_path: Path) -> Layout:
    return write_fixture(tmp_path / "data")


def _taxes_by_account(layout: Layout, billable: bool) -> dict[str, int]:
    lines = read_partition(layout, "tax_lines", PARTITION).to_pylist()
    totals: dict[str, int] = {}
    for line in lines:
        if line["is_billable"] == billable:
            totals[line["account_id"]] = totals.get(line["account_id"], 0) + line["tax_micros"]
    return totals


def test_every_charge_is_taxed_once(layout: Layout) -> None:
    charges = read_partition(layout, "billed_charges", PARTITION)
    # 6 recurring rows (April in advance for five lines, S004's ten March days; S006 was
    # cancelled before March) + usage per subscriber and category: S001 wireless and data,
    # S003 wireless and data, S004 local and international calls, S005 wireless and data.
    assert charges.num_rows == 6 + 8
    assert pc.all(pc.equal(charges["tax_status"], "ok")).as_py()
    assert len(set(charges["charge_id"].to_pylist())) == charges.num_rows
    assert _taxes_by_account(layout, True) == {
        "A001": 7_443_646,
        "A002": 15_252_344,
        "A003": 500_000,
    }
    assert _taxes_by_account(layout, False) == {"A001": 660_300, "A002": 2_454_000}


def test_per_line_fees_count_each_line_once(layout: Layout) -> None:
    charges = read_partition(layout, "billed_charges", PARTITION).to_pylist()
    lines = {c["charge_id"]: c["lines"] for c in charges if c["lines"]}
    assert sorted(lines) == [
        f"{PERIOD}/recurring/{line}/{plan}/advance/2025-04-01"
        for line, plan in [
            ("S001", "P-MOB-S"),
            ("S002", "P-BB"),
            ("S003", "P-MOB-L"),
            ("S004", "P-VOIP"),
            ("S005", "P-MOB-S"),
        ]
    ]
    assert set(lines.values()) == {1}


def test_rerun_writes_the_same_bytes(layout: Layout) -> None:
    files = [
        partition_dir(layout, table, PARTITION) / "part-0.parquet"
        for table in ("billed_charges", "tax_lines")
    ]
    before = [path.read_bytes() for path in files]
    result = tax_period(layout, PERIOD)
    assert [path.read_bytes() for path in files] == before
    assert (result.charges, result.taxed, result.untaxed_by_status) == (14, 14, {})
    assert result.billable_tax_micros == 7_443_646 + 15_252_344 + 500_000


def test_an_address_without_a_tax_area_is_kept_untaxed_with_its_reason(
    layout: Layout,
) -> None:
    areas = layout.reference / TAX_RULES_DIR / "tax_areas.csv"
    areas.write_text(
        "\n".join(line for line in areas.read_text().splitlines() if "TX-ALL" not in line) + "\n"
    )
    result = tax_period(layout, PERIOD)
    # A003 (Austin, Texas): its plan and its wireless and data usage.
    assert result.untaxed_by_status == {"NO_TAX_AREA": 3}
    assert result.charges == result.taxed + 3
    charges = read_partition(layout, "billed_charges", PARTITION).to_pylist()
    untaxed = {c["charge_id"] for c in charges if c["tax_status"] != "ok"}
    assert {c["account_id"] for c in charges if c["charge_id"] in untaxed} == {"A003"}
    assert "A003" not in _taxes_by_account(layout, True)


def test_a_traffic_study_replaces_the_safe_harbor(layout: Layout) -> None:
    (layout.reference / TRAFFIC_STUDIES_FILE).write_text(
        "account_id,interstate_share,effective_from,effective_to\n"
        "A002,0.25,2025-01-01,\n"
        # Ended before March: ignored.
        "A001,0.9,2024-01-01,2025-03-01\n"
    )
    tax_period(layout, PERIOD)
    lines = read_partition(layout, "tax_lines", PARTITION).to_pylist()
    fusf = {
        line["charge_id"].split("/", 1)[1]: (line["taxable_base_micros"], line["tax_micros"])
        for line in lines
        if line["tax_id"] == "US-FUSF"
    }
    # A002's plan: 45 000 000 x 25% = 11 250 000, x 36.3% = 4 083 750; its VoIP line's
    # March days 8 060 000 x 25% = 2 015 000, x 36.3% = 731 445; its international call
    # keeps its class (100%). A001 keeps the 37.1% safe harbor.
    assert fusf["recurring/S003/P-MOB-L/advance/2025-04-01"] == (11_250_000, 4_083_750)
    assert fusf["recurring/S004/P-VOIP/adjusted/2025-03-22"] == (2_015_000, 731_445)
    assert fusf["usage/S004/international_voice"] == (3_000_000, 1_089_000)
    assert fusf["recurring/S001/P-MOB-S/advance/2025-04-01"] == (7_420_000, 2_693_460)


def test_two_studies_in_effect_at_once_are_refused(layout: Layout) -> None:
    (layout.reference / TRAFFIC_STUDIES_FILE).write_text(
        "account_id,interstate_share,effective_from,effective_to\n"
        "A002,0.25,2025-01-01,\n"
        "A002,0.30,2025-02-01,\n"
    )
    with pytest.raises(TrafficStudyError, match=r"traffic_studies\.csv:3: a second study"):
        tax_period(layout, PERIOD)


ADJUSTMENTS = (
    "adjustment_id,account_id,subscriber_id,billing_period,adjustment_type,category,"
    "amount_micros,description,approved_by,approval_limit_micros\n"
    "ADJ-1,A002,S004,2025-03,goodwill,voip_access,5000000,outage,agent-7,10000000\n"
    "ADJ-2,A001,,2025-03,retention,wireless_access,2000000,loyalty,agent-7,1000000\n"
    "ADJ-3,A003,S001,2025-03,goodwill,wireless_access,1000000,wrong line,agent-7,10000000\n"
    "ADJ-4,A001,S001,2025-03,goodwill,wireless_access,1000000,no approver,,10000000\n"
    "ADJ-5,A001,S001,2025-04,goodwill,wireless_access,1000000,next month,agent-7,10000000\n"
)


def test_credits_are_applied_as_negative_charges_or_held_with_a_reason(
    layout: Layout,
) -> None:
    (layout.reference / ADJUSTMENTS_FILE).write_text(ADJUSTMENTS)
    result = tax_period(layout, PERIOD)
    assert (result.adjustments_applied, result.adjustments_held) == (1, 3)
    adjustments = {
        row["adjustment_id"]: (row["adjustment_status"], row["hold_reason"])
        for row in read_partition(layout, "adjustments", PARTITION).to_pylist()
    }
    # ADJ-5 belongs to April: not this period's.
    assert adjustments == {
        "ADJ-1": ("applied", None),
        "ADJ-2": ("held", "above_approval_limit"),
        "ADJ-3": ("held", "unknown_subscriber"),
        "ADJ-4": ("held", "missing_approver"),
    }
    charges = {
        c["charge_id"]: c for c in read_partition(layout, "billed_charges", PARTITION).to_pylist()
    }
    credit = charges[f"{PERIOD}/adjustment/ADJ-1"]
    assert (credit["amount_micros"], credit["category"], credit["tax_status"]) == (
        -5_000_000,
        "voip_access",
        "ok",
    )
    # The credit reverses the taxes on 5.00 of VoIP access: FUSF 5 000 000 x 64.9% =
    # 3 245 000 x 36.3% = 1 177 935; the carrier-paid IL gross receipts 3% = 150 000.
    lines = {
        line["tax_id"]: (line["taxable_base_micros"], line["tax_micros"])
        for line in read_partition(layout, "tax_lines", PARTITION).to_pylist()
        if line["charge_id"] == credit["charge_id"]
    }
    assert lines == {"US-FUSF": (-3_245_000, -1_177_935), "IL-GRT": (-5_000_000, -150_000)}
    assert _taxes_by_account(layout, True)["A002"] == 15_252_344 - 1_177_935


def test_a_repeated_adjustment_id_refuses_the_file(layout: Layout) -> None:
    (layout.reference / ADJUSTMENTS_FILE).write_text(
        ADJUSTMENTS
        + "ADJ-1,A002,S004,2025-03,goodwill,voip_access,1000000,again,agent-7,10000000\n"
    )
    with pytest.raises(ValueError, match="adjustment_id ADJ-1 repeats in 2025-03"):
        tax_period(layout, PERIOD)
