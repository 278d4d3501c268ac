"""``telcolake tax-charges`` on a small rule set written with write_ruleset, by hand.

Rules: FUSF on the interstate share at the 2025Q2 factor 36.6%, California 7.5% sales tax
on the charge plus the FUSF line, San Francisco 911 at 0.75 a line.
"""

from __future__ import annotations

import csv
from pathlib import Path

from tax_engines import rule, ruleset

from pipelines.cli import main
from pipelines.taxes.model import BaseShare, Method, TaxKind
from pipelines.taxes.rules_files import write_ruleset

RULES = ruleset(
    rule(
        tax_id="US_FUSF",
        jurisdiction_id="US",
        tax_type="usf",
        tax_name="Federal USF",
        kind=TaxKind.SURCHARGE,
        is_usf=True,
        base_share=BaseShare.INTERSTATE,
        calc_order=1,
    ),
    rule(tax_id="CA_SALES", rate_ppm=75_000, tax_on=("US_FUSF",), calc_order=2),
    rule(
        tax_id="SF_911",
        jurisdiction_id="SF",
        tax_type="911",
        kind=TaxKind.FEE,
        method=Method.PER_LINE,
        amount_micros=750_000,
        calc_order=3,
    ),
)
CHARGES = """\
charge_id,amount,category,charge_date,tax_area_id,state,city,lines,interstate_share,tax_inclusive
c1,45.00,wireless_access,2025-05-15,SF,,,2,,
c2,-10,local_voice,2025-05-15,, ca , San Francisco ,,0.25,
c3,10.00,local_voice,2025-05-15,,TX,Austin,,,
c4,12.3456789,local_voice,2025-05-15,SF,,,,,
c5,10.00,local_voice,2025-13-01,SF,,,,,
c6,10.00,local_voice,2025-05-15,SF,,,,,true
c7,ten,local_voice,2025-05-15,SF,,,,,
"""


def run(tmp_path: Path) -> tuple[int, list[dict[str, str]], list[dict[str, str]]]:
    write_ruleset(RULES, tmp_path / "rules")
    (tmp_path / "charges.csv").write_text(CHARGES)
    out = tmp_path / "tax_lines.csv"
    code = main(
        [
            "tax-charges",
            "--rules",
            str(tmp_path / "rules"),
            "--charges",
            str(tmp_path / "charges.csv"),
            "--out",
            str(out),
        ]
    )
    with out.open() as lines, (tmp_path / "tax_lines.charges.csv").open() as charges:
        return code, list(csv.DictReader(lines)), list(csv.DictReader(charges))


def test_tax_charges_writes_lines_and_statuses(tmp_path):
    code, lines, charges = run(tmp_path)
    assert code == 0
    assert [(c["charge_id"], c["net_amount"], c["status"]) for c in charges] == [
        ("c1", "45.000000", "ok"),
        ("c2", "-10.000000", "ok"),
        ("c3", "", "NO_TAX_AREA"),
        ("c4", "", "BAD_INPUT: amount '12.3456789' has more than 6 decimals"),
        ("c5", "", "BAD_INPUT: charge_date '2025-13-01' is not an ISO date"),
        # B + round(7.5% B) + 0.75 <= 10.00: B = 8.60 (tax 0.645 -> 0.65); 8.600001 is over.
        ("c6", "8.600000", "ok"),
        ("c7", "", "BAD_INPUT: amount 'ten' is not a decimal number"),
    ]
    got = [
        (
            line["charge_id"],
            line["tax_id"],
            line["taxable_base"],
            line["rate"],
            line["amount_per_unit"],
            line["tax_amount"],
        )
        for line in lines
    ]
    assert got == [
        # 45.00 x 37.1% = 16.695 interstate; x 36.6% = 6.11037 -> 6.11 (cap 6.11).
        ("c1", "US_FUSF", "16.695000", "0.366000", "0.000000", "6.110000"),
        # (45.00 + 6.11) x 7.5% = 3.83325 -> 3.83.
        ("c1", "CA_SALES", "51.110000", "0.075000", "0.000000", "3.830000"),
        ("c1", "SF_911", "45.000000", "0.000000", "0.750000", "1.500000"),
        # A credit of 10.00 with a 25% traffic study: 2.50 x 36.6% = 0.915 -> 0.92, capped
        # at 0.91 (the factor x base rounded down); (10.00 + 0.91) x 7.5% = 0.81825 -> 0.82.
        ("c2", "US_FUSF", "-2.500000", "0.366000", "0.000000", "-0.910000"),
        ("c2", "CA_SALES", "-10.910000", "0.075000", "0.000000", "-0.820000"),
        ("c2", "SF_911", "-10.000000", "0.000000", "0.750000", "-0.750000"),
        ("c6", "US_FUSF", "0.000000", "0.366000", "0.000000", "0.000000"),
        ("c6", "CA_SALES", "8.600000", "0.075000", "0.000000", "0.650000"),
        ("c6", "SF_911", "8.600000", "0.000000", "0.750000", "0.750000"),
    ]
    first = lines[0]
    assert (first["rule_effective_from"], first["jurisdiction_level"], first["kind"]) == (
        "2020-01-01",
        "federal",
        "surcharge",
    )
    assert (first["billable"], first["calc_order"], first["method"]) == ("true", "1", "percent")


def test_tax_charges_refuses_a_file_without_required_columns(tmp_path):
    write_ruleset(RULES, tmp_path / "rules")
    (tmp_path / "charges.csv").write_text("charge_id,amount\nc1,1.00\n")
    code = main(
        [
            "tax-charges",
            "--rules",
            str(tmp_path / "rules"),
            "--charges",
            str(tmp_path / "charges.csv"),
            "--out",
            str(tmp_path / "out.csv"),
        ]
    )
    assert code == 2
    assert not (tmp_path / "out.csv").exists()
