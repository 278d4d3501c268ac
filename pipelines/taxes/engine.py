"""The tax engine: an Arrow table of charges in, an Arrow table of tax lines out.

``tax_charges`` encodes the charges' strings to the compiled rule set's integer codes with
Arrow's dictionary encoding (each distinct string is looked up once, not each row), runs the
Numba kernel (``kernels.tax_api``) and decodes its rule rows back to names with Arrow takes:
no Python loop runs per charge or per line. docs/taxes.md states what it computes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from kernels.tax_api import NO_AREA, STATUS_NAMES, UNKNOWN_AREA, ChargeTaxLines
from kernels.tax_api import tax_charges as tax_charges_kernel
from pipelines.taxes.compile import CompiledRuleSet, compile_ruleset
from pipelines.taxes.model import RuleSet

#: Columns of ``TaxResult.lines``, in order.
LINE_COLUMNS = (
    "charge_id",
    "tax_id",
    "rule_effective_from",
    "jurisdiction_id",
    "jurisdiction_level",
    "jurisdiction_code",
    "jurisdiction_name",
    "tax_type",
    "tax_name",
    "kind",
    "method",
    "taxable_base_micros",
    "rate_ppm",
    "amount_per_unit_micros",
    "tax_micros",
    "is_billable",
    "calc_order",
    "ruleset_version",
)
#: Charge columns with their default when absent or null; the others are required.
OPTIONAL_CHARGE_COLUMNS = {
    "customer_class": "standard",
    "lines": 1,
    "minutes_micros": 0,
    "interstate_share_ppm": None,
    "is_tax_inclusive": False,
}
REQUIRED_CHARGE_COLUMNS = ("charge_id", "amount_micros", "category", "charge_date", "tax_area_id")


@dataclass(frozen=True)
class TaxResult:
    """``lines``: one row per charge and applicable rule (``LINE_COLUMNS``), charges in input
    order and each charge's lines in (calc_order, tax_id) order; money in micro-units,
    ``rate_ppm`` the rate applied (the quarter's FUSF factor on USF lines).
    ``charges``: one row per input charge: charge_id, net_micros (the charge's net amount,
    0 on error), status (``ok`` or a docs/taxes.md error code)."""

    lines: pa.Table
    charges: pa.Table


def _array(table: pa.Table, name: str) -> pa.Array:
    column = table[name]
    return column.combine_chunks() if column.num_chunks != 1 else column.chunk(0)


def _codes(
    column: pa.Array, names: tuple[str, ...], null_code: int, unknown_code: int
) -> np.ndarray:
    """int32 index of each string in ``names``; null_code for nulls, unknown_code if absent."""
    encoded = column if pa.types.is_dictionary(column.type) else pc.dictionary_encode(column)
    dictionary = encoded.dictionary.cast(pa.string())
    found = pc.index_in(dictionary, value_set=pa.array(names, pa.string()))
    by_entry = found.fill_null(unknown_code).to_numpy().astype(np.int32)
    by_entry[dictionary.is_null().to_numpy(zero_copy_only=False)] = null_code
    # One extra entry for null indices, so that a single take decodes every row.
    by_entry = np.append(by_entry, np.int32(null_code))
    indices = encoded.indices.fill_null(len(dictionary)).to_numpy()
    return np.ascontiguousarray(by_entry[indices])


def _int64(table: pa.Table, name: str, default: int | None) -> np.ndarray:
    if name not in table.column_names:
        fill = -1 if default is None else default
        return np.full(table.num_rows, fill, dtype=np.int64)
    column = _array(table, name).cast(pa.int64())
    if column.null_count:
        column = column.fill_null(-1 if default is None else default)
    return np.ascontiguousarray(column.to_numpy(), dtype=np.int64)


def _required(table: pa.Table) -> None:
    missing = [name for name in REQUIRED_CHARGE_COLUMNS if name not in table.column_names]
    if missing:
        raise ValueError(f"charges lack columns {', '.join(missing)}")
    for name in ("charge_id", "amount_micros", "category", "charge_date"):
        if table[name].null_count:
            raise ValueError(f"charges have null {name} values")


def encode_charges(compiled: CompiledRuleSet, charges: pa.Table) -> dict[str, np.ndarray]:
    """The charges' columns as ``kernels.tax_api.tax_charges`` takes them, by argument name."""
    _required(charges)
    n = charges.num_rows
    if "customer_class" in charges.column_names:
        classes = _array(charges, "customer_class")
        if pa.types.is_dictionary(classes.type):
            classes = classes.cast(pa.string())
        classes = classes.fill_null("standard")
    else:
        classes = pa.DictionaryArray.from_arrays(
            pa.array(np.zeros(n, dtype=np.int32)), pa.array(["standard"], pa.string())
        )
    inclusive = (
        _array(charges, "is_tax_inclusive").fill_null(False).to_numpy(zero_copy_only=False)
        if "is_tax_inclusive" in charges.column_names
        else np.zeros(n, dtype=np.bool_)
    )
    return {
        "amount_micros": _int64(charges, "amount_micros", 0),
        "tax_area": _codes(
            _array(charges, "tax_area_id"), compiled.tax_area_ids, NO_AREA, UNKNOWN_AREA
        ),
        "category": _codes(_array(charges, "category"), compiled.categories, -1, -1),
        "customer_class": _codes(classes, compiled.customer_classes, -1, -1),
        "charge_day": np.ascontiguousarray(
            _array(charges, "charge_date").cast(pa.date32()).cast(pa.int32()).to_numpy(),
            dtype=np.int32,
        ),
        "lines": _int64(charges, "lines", 1),
        "minutes_micros": _int64(charges, "minutes_micros", 0),
        "interstate_share_ppm": _int64(charges, "interstate_share_ppm", None),
        "is_tax_inclusive": np.ascontiguousarray(inclusive, dtype=np.bool_),
    }


def _decoded(codes: np.ndarray, names: pa.Array) -> pa.Array:
    return names.take(pa.array(codes))


def result_tables(
    compiled: CompiledRuleSet, charge_ids: pa.Array, taxed: ChargeTaxLines
) -> TaxResult:
    """The kernel's arrays as ``TaxResult`` tables (names decoded from the rule rows)."""
    m = taxed.line_rule.size
    rules = compiled.rules.take(pa.array(taxed.line_rule))
    lines = {
        "charge_id": charge_ids.take(pa.array(taxed.line_charge)),
        **{name: rules[name] for name in LINE_COLUMNS[1:11]},
        "taxable_base_micros": pa.array(taxed.taxable_base_micros),
        "rate_ppm": pa.array(taxed.rate_ppm),
        "amount_per_unit_micros": pa.array(taxed.amount_per_unit_micros),
        "tax_micros": pa.array(taxed.tax_micros),
        "is_billable": rules["is_billable"],
        "calc_order": rules["calc_order"],
        "ruleset_version": pa.DictionaryArray.from_arrays(
            pa.array(np.zeros(m, dtype=np.int32)), pa.array([compiled.version], pa.string())
        ).cast(pa.string()),
    }
    status = _decoded(taxed.status.astype(np.int32), pa.array(STATUS_NAMES, pa.string()))
    return TaxResult(
        lines=pa.table(lines),
        charges=pa.table(
            {
                "charge_id": charge_ids,
                "net_micros": pa.array(taxed.net_micros),
                "status": status,
            }
        ),
    )


#: Every column ``tax_charges`` reads, with its type (see its docstring for which are
#: optional): the engine's input contract.
CHARGE_INPUT_SCHEMA = pa.schema(
    [
        ("charge_id", pa.string()),
        ("amount_micros", pa.int64()),
        ("category", pa.string()),
        ("charge_date", pa.date32()),
        ("tax_area_id", pa.string()),
        ("customer_class", pa.string()),
        ("lines", pa.int64()),
        ("minutes_micros", pa.int64()),
        ("interstate_share_ppm", pa.int64()),
        ("is_tax_inclusive", pa.bool_()),
    ]
)


def tax_charges(
    ruleset: RuleSet, charges: pa.Table, compiled: CompiledRuleSet | None = None
) -> TaxResult:
    """Tax every charge of ``charges`` against ``ruleset`` (compiled now unless given).

    charges: charge_id string, amount_micros int64 (negative for credits), category string,
    charge_date date32, tax_area_id string (null: the address matched no area, status
    NO_TAX_AREA), and optionally customer_class string (null or absent: ``standard``),
    lines int64 (default 1), minutes_micros int64 (default 0), interstate_share_ppm int64
    (null: the category's share), is_tax_inclusive bool (default false). Pass the compiled
    rule set of ``compile_ruleset(ruleset)`` to tax batch after batch without compiling
    again. Raises ValueError on a missing required column or value, or a value out of range.
    """
    if compiled is None:
        compiled = compile_ruleset(ruleset)
    elif compiled.version != ruleset.version:
        raise ValueError("the compiled rule set is not this rule set's")
    columns = encode_charges(compiled, charges)
    taxed = tax_charges_kernel(compiled, **columns)
    return result_tables(compiled, _array(charges, "charge_id"), taxed)
