"""Benchmark (not a test): tax lines/s of the tax engine against the reference (issue #5).

Builds a realistic rule set in code (``build_ruleset``: federal USF and a compliance-only
regulatory fee; three states each with a sales tax (California's in two versions), a
per-line 911 charge, a graduated video tax or a tiered VoIP line fee; three counties per
state with a sales tax; a city utility users tax per county taxing the state's sales tax
too; a 911 district per state; 33 rules, 282 tax areas) and N charges
(``generate_charges``: every category, 2% credits, 5% tax-inclusive, 10% of them with a
traffic-study share, exempt customer classes, dates over 2025Q2-Q3). Then it times, in one
process:

- ``compile``: ``compile_ruleset``, once;
- ``engine``: ``pipelines.taxes.engine.tax_charges`` on all N charges (Arrow table in,
  Arrow tables out), after a warm-up call that keeps Numba's compile or cache load out;
- ``kernel``: ``kernels.tax_api.tax_charges`` alone on the already encoded arrays;
- ``reference``: ``reference_taxes.tax_charge`` charge by charge on the first
  ``--reference-charges`` (default 2,000).

and checks on the reference's sample that the engine's results equal the reference's
(mismatches must be 0). Prints a Markdown table; ``--json PATH`` writes the figures. The
figures depend on the machine's load: state it with them.

    .venv/bin/python scripts/bench_taxes.py [--charges N] [--seed S]
        [--reference-charges M] [--json PATH]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from datetime import date
from pathlib import Path

import numpy as np
import pyarrow as pa

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "taxes"))

from reference_taxes import Charge, ChargeTaxes, TaxLine, tax_charge  # noqa: E402

from kernels import tax_api  # noqa: E402
from pipelines.taxes.compile import compile_ruleset  # noqa: E402
from pipelines.taxes.engine import encode_charges, tax_charges  # noqa: E402
from pipelines.taxes.model import (  # noqa: E402
    CATEGORIES,
    BaseShare,
    Jurisdiction,
    JurisdictionLevel,
    Method,
    Rounding,
    RuleSet,
    TaxArea,
    TaxKind,
    TaxOnTaxMode,
    TaxRule,
    Tier,
    TierBasis,
)

DOLLAR = 1_000_000
START = date(2020, 1, 1)
VOICE = frozenset(
    {"local_voice", "interstate_voice", "international_voice", "wireless_access"}
    | {"wireless_usage", "voip_access", "voip_line", "voip_usage"}
)
#: Charge categories and their weights in a bill run: mostly recurring access charges.
CATEGORY_WEIGHTS = {
    "local_voice": 8,
    "interstate_voice": 4,
    "international_voice": 2,
    "wireless_access": 25,
    "wireless_usage": 10,
    "voip_access": 8,
    "voip_line": 5,
    "voip_usage": 5,
    "internet_access": 15,
    "video_service": 8,
    "equipment_sale": 2,
    "equipment_rental": 4,
    "activation": 2,
    "late_fee": 2,
}
CLASSES = ("standard", "business", "lifeline", "government", "resale", "non_profit")
CLASS_WEIGHTS = (80, 12, 3, 2, 2, 1)


def _rule(tax_id: str, jurisdiction_id: str, **fields: object) -> TaxRule:
    values: dict[str, object] = {
        "tax_id": tax_id,
        "effective_from": START,
        "effective_to": None,
        "jurisdiction_id": jurisdiction_id,
        "tax_type": "sales",
        "tax_name": tax_id.replace("_", " ").title(),
        "kind": TaxKind.TAX,
        "categories": frozenset(),
        "method": Method.PERCENT,
        "rate_ppm": 0,
        "amount_micros": 0,
        "base_share": BaseShare.FULL,
        "tax_on": (),
        "calc_order": 10,
        "exempt_classes": frozenset(),
        "is_billable": True,
        "rounding": Rounding.HALF_UP,
        "decimals": 2,
        "max_base_micros": 0,
        "max_tax_micros": 0,
        "tier_basis": TierBasis.AMOUNT,
        "is_usf": False,
        "tiers": (),
    }
    values.update(fields)
    return TaxRule(**values)  # type: ignore[arg-type]


def build_ruleset() -> RuleSet:
    """33 rules over 3 states, 9 counties, 9 cities, 3 911 districts; 282 tax areas."""
    jurisdictions = {
        "US": Jurisdiction("US", JurisdictionLevel.FEDERAL, "US", "United States", None)
    }
    taxable = frozenset(CATEGORIES) - {"internet_access"}  # ITFA
    government = frozenset({"government", "resale"})
    rules = [
        _rule(
            "US_FUSF",
            "US",
            tax_type="usf",
            kind=TaxKind.SURCHARGE,
            categories=VOICE,
            base_share=BaseShare.INTERSTATE,
            is_usf=True,
            calc_order=1,
            exempt_classes=frozenset({"lifeline", "resale"}),
        ),
        _rule(
            "US_REG_FEE",
            "US",
            tax_type="regulatory",
            kind=TaxKind.FEE,
            categories=VOICE,
            rate_ppm=3_000,
            base_share=BaseShare.INTERSTATE,
            is_billable=False,
            decimals=6,
            calc_order=1,
        ),
    ]
    areas = []
    states = {"CA": ("California", 72_500), "NY": ("New York", 40_000), "TX": ("Texas", 62_500)}
    for s, (state, (name, rate)) in enumerate(states.items()):
        jurisdictions[state] = Jurisdiction(state, JurisdictionLevel.STATE, state, name, "US")
        district = f"{state}_911D"
        jurisdictions[district] = Jurisdiction(
            district, JurisdictionLevel.DISTRICT, district, f"{name} 911 district", state
        )
        sales = f"{state}_SALES"
        if state == "CA":
            rules += [
                _rule(
                    sales,
                    state,
                    categories=taxable,
                    rate_ppm=rate,
                    calc_order=2,
                    effective_to=date(2025, 7, 1),
                    exempt_classes=government,
                ),
                _rule(
                    sales,
                    state,
                    categories=taxable,
                    rate_ppm=rate + 2_500,
                    calc_order=2,
                    effective_from=date(2025, 7, 1),
                    exempt_classes=government,
                ),
            ]
        else:
            rules.append(
                _rule(
                    sales,
                    state,
                    categories=taxable,
                    rate_ppm=rate,
                    calc_order=2,
                    exempt_classes=government,
                )
            )
        rules += [
            _rule(
                f"{state}_911",
                state,
                tax_type="911",
                kind=TaxKind.FEE,
                method=Method.PER_LINE,
                categories=frozenset({"wireless_access", "voip_access", "voip_line"}),
                amount_micros=750_000 + 250_000 * s,
                calc_order=3,
            ),
            _rule(
                f"{district}_FEE",
                district,
                tax_type="911",
                kind=TaxKind.FEE,
                method=Method.PER_LINE,
                categories=frozenset({"local_voice", "wireless_access"}),
                amount_micros=400_000,
                calc_order=3,
            ),
        ]
        if state == "CA":
            rules.append(
                _rule(
                    "CA_VIDEO",
                    state,
                    tax_type="franchise",
                    method=Method.BRACKET,
                    categories=frozenset({"video_service"}),
                    calc_order=3,
                    tiers=(
                        Tier(0, 20_000, 0),
                        Tier(50 * DOLLAR, 35_000, 0),
                        Tier(150 * DOLLAR, 50_000, 0),
                    ),
                )
            )
        else:
            rules.append(
                _rule(
                    f"{state}_VOIP_LINES",
                    state,
                    tax_type="access_line",
                    kind=TaxKind.FEE,
                    method=Method.FIXED_ON_TIER,
                    tier_basis=TierBasis.LINES,
                    categories=frozenset({"voip_line"}),
                    calc_order=3,
                    tiers=(Tier(1, 0, 500_000), Tier(5, 0, 2 * DOLLAR), Tier(25, 0, 8 * DOLLAR)),
                )
            )
        for c in range(3):
            county = f"{state}_CO{c}"
            jurisdictions[county] = Jurisdiction(
                county, JurisdictionLevel.COUNTY, county, f"{name} county {c}", state
            )
            rules.append(
                _rule(
                    f"{county}_SALES",
                    county,
                    categories=taxable,
                    rate_ppm=5_000 + 2_500 * c,
                    calc_order=4,
                    exempt_classes=government,
                )
            )
            city = f"{state}_CI{c}"
            jurisdictions[city] = Jurisdiction(
                city, JurisdictionLevel.CITY, city, f"{name} city {c}", county
            )
            rules.append(
                _rule(
                    f"{city}_UUT",
                    city,
                    tax_type="utility_users",
                    categories=VOICE,
                    rate_ppm=25_000 + 10_000 * c,
                    tax_on=(sales,),
                    calc_order=5,
                    max_tax_micros=25 * DOLLAR,
                    base_share=BaseShare.INTRASTATE,
                )
            )
            areas.append(TaxArea(county, state, county, "", "", ("US", state, county)))
            for p in range(30):
                postal = f"{s}{c}{p:03d}"
                ids = ("US", state, county, city) + ((district,) if p % 2 == 0 else ())
                areas.append(TaxArea(f"{city}_{postal}", state, county, city, postal, ids))
        areas.append(TaxArea(state, state, "", "", "", ("US", state, district)))
    return RuleSet(
        name="bench",
        version="bench+000000000000",
        currency="USD",
        tax_on_tax=TaxOnTaxMode.ORDERED,
        max_iterations=10,
        jurisdictions=jurisdictions,
        tax_areas=tuple(areas),
        rules=tuple(rules),
        usf_factors={date(2025, 4, 1): 366_000, date(2025, 7, 1): 360_000},
        interstate_shares={
            "interstate_voice": 1_000_000,
            "international_voice": 1_000_000,
            "wireless_access": 371_000,
            "wireless_usage": 371_000,
            "voip_access": 649_000,
            "voip_line": 649_000,
            "voip_usage": 649_000,
        },
    )


def generate_charges(n: int, seed: int, ruleset: RuleSet) -> pa.Table:
    """n charges as ``pipelines.taxes.engine.tax_charges`` takes them (plain string columns)."""
    rng = np.random.default_rng(seed)
    categories = pa.array(list(CATEGORY_WEIGHTS), pa.string())
    weights = np.array(list(CATEGORY_WEIGHTS.values()), dtype=np.float64)
    category = rng.choice(len(weights), size=n, p=weights / weights.sum())
    amount = np.round(np.exp(rng.normal(3.3, 1.0, n)) * 100) * 10_000  # cents, median ~27
    amount = amount.astype(np.int64)
    amount[rng.random(n) < 0.02] *= -1
    inclusive = (rng.random(n) < 0.05) & (amount >= 0)
    usage = np.isin(category, [list(CATEGORY_WEIGHTS).index(c) for c in VOICE if "usage" in c])
    minutes = np.where(usage, rng.integers(0, 600_000_000, n), 0).astype(np.int64)
    share = np.where(rng.random(n) < 0.1, rng.integers(0, 1_000_001, n), -1)
    areas = pa.array([area.tax_area_id for area in ruleset.tax_areas], pa.string())
    classes = pa.array(CLASSES, pa.string())
    class_p = np.array(CLASS_WEIGHTS, dtype=np.float64) / sum(CLASS_WEIGHTS)
    day = (date(2025, 4, 1) - date(1970, 1, 1)).days + rng.integers(0, 183, n)
    return pa.table(
        {
            "charge_id": pa.array([f"ch{i:09d}" for i in range(n)], pa.string()),
            "amount_micros": pa.array(amount),
            "category": categories.take(pa.array(category)),
            "charge_date": pa.array(day.astype(np.int32)).cast(pa.date32()),
            "customer_class": classes.take(pa.array(rng.choice(len(CLASSES), n, p=class_p))),
            "tax_area_id": areas.take(pa.array(rng.integers(0, len(areas), n))),
            "lines": pa.array(rng.integers(1, 6, n).astype(np.int64)),
            "minutes_micros": pa.array(minutes),
            "interstate_share_ppm": pa.array(share, mask=share < 0),
            "is_tax_inclusive": pa.array(inclusive),
        }
    )


def as_charges(table: pa.Table) -> list[Charge]:
    rows = table.to_pylist()
    return [Charge(**row) for row in rows]


def engine_results(table: pa.Table, lines: pa.Table, charges: pa.Table) -> list[ChargeTaxes]:
    """The engine's tables as the reference's ChargeTaxes, per charge of ``table``."""
    names = list(TaxLine.__dataclass_fields__)
    by_charge: dict[str, list[TaxLine]] = {}
    for row in lines.to_pylist():
        by_charge.setdefault(row["charge_id"], []).append(TaxLine(**{n: row[n] for n in names}))
    return [
        ChargeTaxes(
            row["charge_id"],
            row["status"],
            row["net_micros"],
            tuple(by_charge.get(row["charge_id"], ())),
        )
        for row in charges.to_pylist()
    ]


def measure(n: int, seed: int, reference_n: int) -> dict[str, object]:
    ruleset = build_ruleset()
    table = generate_charges(n, seed, ruleset)
    started = time.perf_counter()
    compiled = compile_ruleset(ruleset)
    compile_seconds = time.perf_counter() - started
    tax_charges(ruleset, table.slice(0, 100), compiled)  # warm-up: Numba compile or cache

    started = time.perf_counter()
    result = tax_charges(ruleset, table, compiled)
    engine_seconds = time.perf_counter() - started
    columns = encode_charges(compiled, table)
    started = time.perf_counter()
    tax_api.tax_charges(compiled, **columns)
    kernel_seconds = time.perf_counter() - started

    sample = table.slice(0, min(reference_n, n))
    charges = as_charges(sample)
    started = time.perf_counter()
    expected = [tax_charge(ruleset, charge) for charge in charges]
    reference_seconds = time.perf_counter() - started
    reference_lines = sum(len(found.lines) for found in expected)
    small = tax_charges(ruleset, sample, compiled)
    got = engine_results(sample, small.lines, small.charges)
    mismatches = sum(1 for a, b in zip(got, expected, strict=True) if a != b)

    n_lines = result.lines.num_rows
    ok = sum(1 for s in result.charges["status"].to_pylist() if s == "ok")
    engine_lines_per_s = n_lines / engine_seconds
    reference_lines_per_s = reference_lines / reference_seconds if reference_seconds else 0.0
    return {
        "charges": n,
        "seed": seed,
        "cpus": os.cpu_count(),
        "load_average_at_start": round(os.getloadavg()[0], 2),
        "rules": len(ruleset.rules),
        "tax_areas": len(ruleset.tax_areas),
        "tax_lines": n_lines,
        "charges_ok": ok,
        "compile_seconds": round(compile_seconds, 4),
        "engine_seconds": round(engine_seconds, 4),
        "engine_charges_per_second": round(n / engine_seconds),
        "engine_lines_per_second": round(engine_lines_per_s),
        "kernel_seconds": round(kernel_seconds, 4),
        "kernel_lines_per_second": round(n_lines / kernel_seconds),
        "reference_charges": len(charges),
        "reference_seconds": round(reference_seconds, 4),
        "reference_charges_per_second": round(len(charges) / reference_seconds),
        "reference_lines_per_second": round(reference_lines_per_s),
        "engine_over_reference": round(engine_lines_per_s / reference_lines_per_s, 1)
        if reference_lines_per_s
        else None,
        "mismatches": mismatches,
    }


def markdown(found: dict[str, object]) -> str:
    def row(name: str, charges: object, seconds: object, per_s: object, lines: object) -> str:
        return f"| {name} | {charges:,} | {seconds} | {per_s:,} | {lines:,} |"

    return (
        "\n".join(
            [
                f"Tax benchmark: {found['charges']:,} charges, {found['rules']} rules, "
                f"{found['tax_areas']} tax areas, {found['tax_lines']:,} tax lines; "
                f"{found['cpus']} CPUs, load average {found['load_average_at_start']}",
                "",
                "| measure | charges | seconds | charges/s | tax lines/s |",
                "| --- | ---: | ---: | ---: | ---: |",
                f"| compile | | {found['compile_seconds']} | | |",
                row(
                    "engine",
                    found["charges"],
                    found["engine_seconds"],
                    found["engine_charges_per_second"],
                    found["engine_lines_per_second"],
                ),
                f"| kernel only | {found['charges']:,} | {found['kernel_seconds']} | | "
                f"{found['kernel_lines_per_second']:,} |",
                row(
                    "reference",
                    found["reference_charges"],
                    found["reference_seconds"],
                    found["reference_charges_per_second"],
                    found["reference_lines_per_second"],
                ),
                "",
                f"engine / reference (tax lines/s): {found['engine_over_reference']}x; "
                f"mismatches on the reference's sample: {found['mismatches']}",
            ]
        )
        + "\n"
    )


def main(argv: list[str] | None = None) -> dict[str, object]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--charges", type=int, default=1_000_000, help="charges to tax")
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument(
        "--reference-charges", type=int, default=2_000, help="charges the reference taxes"
    )
    parser.add_argument("--json", type=Path, help="write the figures to this JSON file")
    args = parser.parse_args(argv)
    found = measure(args.charges, args.seed, args.reference_charges)
    print(markdown(found), end="")
    if args.json:
        args.json.write_text(json.dumps(found, indent=2) + "\n")
    if found["mismatches"]:
        raise SystemExit(f"{found['mismatches']} charges differ from the reference")
    return found


if __name__ == "__main__":
    main()
