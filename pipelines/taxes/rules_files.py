"""Tax rule sets on disk: ``ruleset.yaml`` plus CSV tables (docs/taxes.md).

``load_ruleset`` reads and checks a rule-set folder into the model, reporting every problem
with its file and line; ``write_ruleset`` writes a model rule set in the canonical form, so
one rule set always gives the same bytes. ``RuleSet.version`` is the tax team's label plus a
hash of that canonical form: it names the tax content that computed a line, not the
formatting of the files it was read from.

``TaxAreaIndex`` matches service addresses to tax areas; build it once per rule set and
resolve many addresses with it (``resolve_all`` resolves a frame of them at once).
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal
from itertools import combinations, islice, pairwise
from pathlib import Path
from typing import Any, TypeVar

import polars as pl
import yaml

from pipelines.folder_problems import FolderProblems
from pipelines.taxes.model import (
    CATEGORIES,
    CUSTOMER_CLASSES,
    PPM,
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

FORMAT = "telcolake-tax-rules/1"
RULESET_FILE = "ruleset.yaml"
SETTINGS = ("format", "name", "label", "currency", "tax_on_tax", "max_iterations")

#: Every table with its columns, in file order; the order is also the hash order.
TABLES: dict[str, tuple[str, ...]] = {
    "jurisdictions": ("jurisdiction_id", "level", "code", "name", "parent_id"),
    "tax_areas": ("tax_area_id", "state", "county", "city", "postal_code", "jurisdiction_ids"),
    "taxes": (
        "tax_id",
        "effective_from",
        "effective_to",
        "jurisdiction_id",
        "tax_type",
        "tax_name",
        "kind",
        "categories",
        "method",
        "rate_ppm",
        "amount_micros",
        "base_share",
        "tax_on",
        "calc_order",
        "exempt_classes",
        "billable",
        "rounding",
        "decimals",
        "max_base_micros",
        "max_tax_micros",
        "tier_basis",
        "usf",
    ),
    "tiers": ("tax_id", "effective_from", "lower", "rate_ppm", "amount_micros"),
    "usf_factors": ("quarter", "contribution_factor"),
    "interstate_shares": ("category", "interstate_share", "source"),
}
REQUIRED_TABLES = ("jurisdictions", "tax_areas", "taxes")
#: Tables that may carry columns of their own: the FCC facts file has status and sources.
OPEN_TABLES = ("usf_factors",)
#: Methods that take tiers from tiers.csv (and need at least one).
TIERED_METHODS = (Method.BRACKET, Method.FIXED_ON_TIER)
ADDRESS_FIELDS = ("state", "county", "city", "postal_code")
LIST_SEPARATOR = "|"
_LISTED_TIES = 1000

_INTEGER = re.compile(r"-?\d+")
_SHARE = re.compile(r"\d+(?:\.\d+)?")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_QUARTER = re.compile(r"(\d{4})Q([1-4])")
_CURRENCY = re.compile(r"[A-Z]{3}")
_BARE_YAML = re.compile(r"[A-Za-z][A-Za-z0-9_./-]*")

T = TypeVar("T")
Row = dict[str, str]


class RuleSetError(FolderProblems):
    """A rule set that does not load; ``problems`` holds one "file:line: what" per problem."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__(problems, "the tax rule set")


class _Bad(Exception):
    """A value that does not parse or check; the row loop adds the file and line."""


# --- loading ---------------------------------------------------------------------------


def load_ruleset(path: Path) -> RuleSet:
    """Read and check the rule set in folder ``path`` (or its ``ruleset.yaml``).

    Raises RuleSetError listing every problem found, each naming its file and line.
    """
    folder = path.parent if path.is_file() else path
    ruleset = _Loader(folder).load()
    return replace(ruleset, version=f"{ruleset.version}+{ruleset_digest(ruleset)[:12]}")


def ruleset_digest(ruleset: RuleSet) -> str:
    """sha256 (hex) over the canonical files: each file's name, byte length and bytes."""
    digest = hashlib.sha256()
    for name, content in _render(ruleset).items():
        digest.update(f"{name}\n{len(content)}\n".encode())
        digest.update(content)
    return digest.hexdigest()


@dataclass(frozen=True)
class _Settings:
    name: str
    label: str
    currency: str
    tax_on_tax: TaxOnTaxMode
    max_iterations: int


class _Loader:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.problems: list[str] = []
        self.files = {table: f"{table}.csv" for table in TABLES}

    def problem(self, file: str, line: int | None, message: str) -> None:
        self.problems.append(f"{file}:{line}: {message}" if line else f"{file}: {message}")

    def check(self) -> None:
        if self.problems:
            raise RuleSetError(self.problems)

    def load(self) -> RuleSet:
        settings = self.settings()
        tables = {table: self.read(table) for table in TABLES}
        self.check()
        assert settings is not None  # no problems, so every setting parsed
        jurisdictions = self.jurisdictions(tables["jurisdictions"])
        tax_areas = self.tax_areas(tables["tax_areas"], jurisdictions)
        usf_factors = self.usf_factors(tables["usf_factors"])
        interstate_shares = self.interstate_shares(tables["interstate_shares"])
        rules = self.rules(tables["taxes"], settings.tax_on_tax, jurisdictions, usf_factors)
        rules = self.tiers(tables["tiers"], rules)
        self.check()
        return RuleSet(
            name=settings.name,
            version=settings.label,
            currency=settings.currency,
            tax_on_tax=settings.tax_on_tax,
            max_iterations=settings.max_iterations,
            jurisdictions=jurisdictions,
            tax_areas=tax_areas,
            rules=tuple(rule for _, rule in rules),
            usf_factors=usf_factors,
            interstate_shares=interstate_shares,
        )

    # ruleset.yaml

    def settings(self) -> _Settings | None:
        """The settings, read as text (YAML's own typing would make label 2026.10 a float)."""
        path = self.folder / RULESET_FILE
        if not path.is_file():
            self.problem(RULESET_FILE, None, f"missing in {self.folder}")
            return None
        try:
            node = yaml.compose(path.read_text(), Loader=yaml.BaseLoader)
        except (yaml.YAMLError, OSError, UnicodeDecodeError) as exc:
            self.problem(RULESET_FILE, None, f"not readable YAML: {exc}")
            return None
        if not isinstance(node, yaml.MappingNode):
            self.problem(RULESET_FILE, None, f"must be a mapping of {', '.join(SETTINGS)}")
            return None
        values: dict[str, tuple[int, str]] = {}
        for key_node, value_node in node.value:
            key, line = str(key_node.value), key_node.start_mark.line + 1
            if key not in SETTINGS:
                self.problem(RULESET_FILE, line, f"unknown key {key!r}")
            elif key in values:
                self.problem(RULESET_FILE, line, f"{key} is given twice")
            elif not isinstance(value_node, yaml.ScalarNode):
                self.problem(RULESET_FILE, line, f"{key} must be a single value")
            else:
                values[key] = (line, str(value_node.value).strip())
        missing = [key for key in SETTINGS if key not in values]
        if missing:
            self.problem(RULESET_FILE, None, f"missing key(s) {', '.join(missing)}")
            return None

        def setting(key: str, parse: Callable[[str], T]) -> T | None:
            line, text = values[key]
            try:
                return parse(text)
            except _Bad as bad:
                self.problem(RULESET_FILE, line, f"{key}: {bad}")
                return None

        setting("format", _format)
        name = setting("name", _text)
        label = setting("label", _label)
        currency = setting("currency", _currency)
        mode = setting("tax_on_tax", lambda text: _member(TaxOnTaxMode, text))
        # A pass that changes no amount ends the iteration and counts, so iterate needs two.
        least = 2 if mode is TaxOnTaxMode.ITERATE else 1
        iterations = setting("max_iterations", lambda text: _whole(text, minimum=least))
        if name is None or label is None or currency is None or mode is None:
            return None
        if iterations is None:
            return None
        return _Settings(name, label, currency, mode, iterations)

    # CSV tables

    def read(self, table: str) -> list[tuple[int, Row]]:
        """(line, row) of every non-blank row, values stripped, every known column present."""
        name = self.files[table]
        columns = TABLES[table]
        path = self.folder / name
        if not path.is_file():
            if table in REQUIRED_TABLES:
                self.problem(name, None, f"missing in {self.folder} (a required table)")
            return []
        try:
            text = path.read_text()
        except (OSError, UnicodeDecodeError) as exc:
            self.problem(name, None, f"not readable: {exc}")
            return []
        reader = csv.reader(io.StringIO(text, newline=""))
        try:
            header = [cell.strip() for cell in next(reader)]
        except StopIteration:
            self.problem(name, None, f"empty; the header is {','.join(columns)}")
            return []
        except csv.Error as exc:
            self.problem(name, 1, f"not a readable CSV: {exc}")
            return []
        if table not in OPEN_TABLES and (unknown := [c for c in header if c not in columns]):
            self.problem(name, 1, f"unknown column(s) {', '.join(unknown)}")
        if missing := [c for c in columns if c not in header]:
            self.problem(name, 1, f"missing column(s) {', '.join(missing)}")
            return []
        if len(set(header)) < len(header):
            self.problem(name, 1, "a column is named twice")
            return []
        rows = []
        line = 1
        try:
            for cells in reader:
                # line_num is the record's last line; a quoted field may span several.
                start, line = line + 1, reader.line_num
                if not any(cell.strip() for cell in cells):
                    continue
                if len(cells) != len(header):
                    self.problem(name, start, f"{len(cells)} fields, the header has {len(header)}")
                    continue
                values = dict(zip(header, (cell.strip() for cell in cells), strict=True))
                rows.append((start, {column: values[column] for column in columns}))
        except csv.Error as exc:
            self.problem(name, line + 1, f"not a readable CSV: {exc}")
        return rows

    def rows(
        self, table: str, rows: list[tuple[int, Row]], parse: Callable[[Row], T]
    ) -> list[tuple[int, T]]:
        """(line, ``parse`` of the row); a row that does not parse is a problem, left out."""
        parsed = []
        for line, row in rows:
            try:
                parsed.append((line, parse(row)))
            except _Bad as bad:
                self.problem(self.files[table], line, str(bad))
        return parsed

    def jurisdictions(self, rows: list[tuple[int, Row]]) -> dict[str, Jurisdiction]:
        def parse(row: Row) -> Jurisdiction:
            return Jurisdiction(
                jurisdiction_id=_required(row, "jurisdiction_id"),
                level=_enum(JurisdictionLevel, row["level"], "level"),
                code=_required(row, "code"),
                name=_required(row, "name"),
                parent_id=row["parent_id"] or None,
            )

        parsed = self.rows("jurisdictions", rows, parse)
        found: dict[str, Jurisdiction] = {}
        for line, jurisdiction in parsed:
            if jurisdiction.jurisdiction_id in found:
                self.problem(
                    self.files["jurisdictions"],
                    line,
                    f"jurisdiction {jurisdiction.jurisdiction_id!r} is listed twice",
                )
            found.setdefault(jurisdiction.jurisdiction_id, jurisdiction)
        for line, jurisdiction in parsed:
            parent = jurisdiction.parent_id
            if parent is not None and (
                parent not in found or parent == jurisdiction.jurisdiction_id
            ):
                self.problem(
                    self.files["jurisdictions"],
                    line,
                    f"parent_id {parent!r} is not another jurisdiction in jurisdictions",
                )
        return found

    def tax_areas(
        self, rows: list[tuple[int, Row]], jurisdictions: dict[str, Jurisdiction]
    ) -> tuple[TaxArea, ...]:
        def parse(row: Row) -> TaxArea:
            ids = _list(row, "jurisdiction_ids")
            if not ids:
                raise _Bad("jurisdiction_ids is blank (an area is taxed by at least one)")
            for jurisdiction_id in ids:
                if jurisdiction_id not in jurisdictions:
                    raise _Bad(f"jurisdiction_ids: {jurisdiction_id!r} is not in jurisdictions")
            if len(set(ids)) < len(ids):
                raise _Bad("jurisdiction_ids names a jurisdiction twice")
            return TaxArea(
                tax_area_id=_required(row, "tax_area_id"),
                state=row["state"],
                county=row["county"],
                city=row["city"],
                postal_code=row["postal_code"],
                jurisdiction_ids=ids,
            )

        name = self.files["tax_areas"]
        parsed = self.rows("tax_areas", rows, parse)
        first_of: dict[str, TaxArea] = {}
        for line, area in parsed:
            first = first_of.setdefault(area.tax_area_id, area)
            if set(first.jurisdiction_ids) != set(area.jurisdiction_ids):
                self.problem(
                    name,
                    line,
                    f"tax area {area.tax_area_id!r} lists other jurisdictions than its earlier row",
                )
        lines = [line for line, _ in parsed]
        ties = _tied_patterns([_pattern(area) for _, area in parsed])
        # Mixing, say, city and postal code patterns in a state ties every pair of them:
        # the first thousand show the mistake without listing millions.
        for earlier, later in islice(ties, _LISTED_TIES):
            self.problem(
                name,
                lines[later],
                f"ties with line {lines[earlier]}: an address can match both patterns with "
                "the same number of fields, and no more specific pattern decides",
            )
        if next(ties, None) is not None:
            self.problem(name, None, f"more ties than the {_LISTED_TIES} listed")
        return tuple(area for _, area in parsed)

    def usf_factors(self, rows: list[tuple[int, Row]]) -> dict[date, int]:
        # The FCC facts file lists quarters whose factor is not announced yet with a blank.
        def parse(row: Row) -> tuple[date, int]:
            return _quarter(row["quarter"]), _share(row, "contribution_factor")

        factors: dict[date, int] = {}
        announced = [(line, row) for line, row in rows if row["contribution_factor"]]
        for line, (quarter, factor) in self.rows("usf_factors", announced, parse):
            if quarter in factors:
                self.problem(
                    self.files["usf_factors"],
                    line,
                    f"quarter {_quarter_text(quarter)} is given twice",
                )
            factors.setdefault(quarter, factor)
        return factors

    def interstate_shares(self, rows: list[tuple[int, Row]]) -> dict[str, int]:
        def parse(row: Row) -> tuple[str, int]:
            return _category(row["category"], "category"), _share(row, "interstate_share")

        shares: dict[str, int] = {}
        for line, (category, share) in self.rows("interstate_shares", rows, parse):
            if category in shares:
                self.problem(
                    self.files["interstate_shares"], line, f"category {category!r} is given twice"
                )
            shares.setdefault(category, share)
        return shares

    def rules(
        self,
        rows: list[tuple[int, Row]],
        mode: TaxOnTaxMode,
        jurisdictions: dict[str, Jurisdiction],
        usf_factors: dict[date, int],
    ) -> list[tuple[int, TaxRule]]:
        def parse(row: Row) -> TaxRule:
            if row["jurisdiction_id"] not in jurisdictions:
                raise _Bad(f"jurisdiction_id {row['jurisdiction_id']!r} is not in jurisdictions")
            rule = TaxRule(
                tax_id=_required(row, "tax_id"),
                effective_from=_date(row, "effective_from"),
                effective_to=_date(row, "effective_to") if row["effective_to"] else None,
                jurisdiction_id=row["jurisdiction_id"],
                tax_type=_required(row, "tax_type"),
                tax_name=_required(row, "tax_name"),
                kind=_enum(TaxKind, row["kind"], "kind"),
                categories=frozenset(_category(c, "categories") for c in _list(row, "categories")),
                method=_enum(Method, row["method"], "method"),
                rate_ppm=_int(row, "rate_ppm", blank=0),
                amount_micros=_int(row, "amount_micros", blank=0),
                base_share=_enum(BaseShare, row["base_share"], "base_share"),
                tax_on=_list(row, "tax_on"),
                calc_order=_int(row, "calc_order"),
                exempt_classes=frozenset(_exempt_class(c) for c in _list(row, "exempt_classes")),
                is_billable=_bool(row, "billable"),
                rounding=_enum(Rounding, row["rounding"], "rounding"),
                decimals=_int(row, "decimals", maximum=6),
                max_base_micros=_int(row, "max_base_micros", blank=0),
                max_tax_micros=_int(row, "max_tax_micros", blank=0),
                tier_basis=_enum(TierBasis, row["tier_basis"] or "amount", "tier_basis"),
                is_usf=_bool(row, "usf", blank=False),
            )
            if rule.effective_to is not None and rule.effective_to <= rule.effective_from:
                raise _Bad(f"effective_to {rule.effective_to} is not after effective_from")
            if rule.tier_basis is TierBasis.LINES and rule.method is not Method.FIXED_ON_TIER:
                raise _Bad("tier_basis lines is only for method fixed_on_tier")
            if rule.is_usf and rule.method is not Method.PERCENT:
                raise _Bad("a usf rule takes method percent (its rate is the FUSF factor)")
            if rule.is_usf and not usf_factors:
                raise _Bad("a usf rule needs the FUSF factors in usf_factors.csv")
            if len(set(rule.tax_on)) < len(rule.tax_on):
                raise _Bad("tax_on names a tax twice")
            return rule

        name = self.files["taxes"]
        parsed = self.rows("taxes", rows, parse)
        versions: dict[str, list[tuple[int, TaxRule]]] = defaultdict(list)
        for line, rule in parsed:
            versions[rule.tax_id].append((line, rule))
        for tax_id, found in versions.items():
            spans = [(line, r.effective_from, r.effective_to) for line, r in found]
            for line in sorted(set(_overlaps(spans))):
                self.problem(name, line, f"versions of {tax_id!r} overlap")
        # Rows that do not parse still name their tax, so naming it is no second problem.
        written = {row["tax_id"] for _, row in rows}
        for line, rule in parsed:
            for named in rule.tax_on:
                if named == rule.tax_id:
                    self.problem(name, line, f"tax_on: {named!r} names the rule itself")
                elif named not in written:
                    self.problem(name, line, f"tax_on: {named!r} is not a tax_id in taxes")
                elif mode is TaxOnTaxMode.ORDERED and any(
                    other.calc_order >= rule.calc_order and _meet(rule, other)
                    for _, other in versions.get(named, ())
                ):
                    self.problem(
                        name,
                        line,
                        f"tax_on: {named!r} is not of a lower calc_order than {rule.calc_order} "
                        "(tax_on_tax ordered computes in one pass)",
                    )
        return parsed

    def tiers(
        self, rows: list[tuple[int, Row]], rules: list[tuple[int, TaxRule]]
    ) -> list[tuple[int, TaxRule]]:
        """The rules with their tiers from tiers.csv, in file order."""
        name = self.files["tiers"]
        methods = {(r.tax_id, r.effective_from): r.method for _, r in rules}

        def parse(row: Row) -> tuple[tuple[str, date], Tier]:
            key = (_required(row, "tax_id"), _date(row, "effective_from"))
            if key not in methods:
                raise _Bad(f"tax {key[0]!r} has no version from {key[1]} in taxes")
            if methods[key] not in TIERED_METHODS:
                raise _Bad(f"tax {key[0]!r} from {key[1]} has method {methods[key]}, not tiers")
            tier = Tier(
                lower=_int(row, "lower"),
                rate_ppm=_int(row, "rate_ppm", blank=0),
                amount_micros=_int(row, "amount_micros", blank=0),
            )
            return key, tier

        tiers: dict[tuple[str, date], list[Tier]] = defaultdict(list)
        for line, (key, tier) in self.rows("tiers", rows, parse):
            before = tiers[key]
            where = f"tax {key[0]!r} from {key[1]}"
            if before and tier.lower <= before[-1].lower:
                self.problem(name, line, f"{where}: lower {tier.lower} is not above the previous")
            elif (
                before
                and methods[key] is Method.FIXED_ON_TIER
                and tier.amount_micros < before[-1].amount_micros
            ):
                # Taxes growing with the net is what makes the tax-inclusive search correct.
                self.problem(name, line, f"{where}: fixed_on_tier amounts may not decrease")
            before.append(tier)
        with_tiers = []
        for line, rule in rules:
            found = tuple(tiers.get((rule.tax_id, rule.effective_from), ()))
            if rule.method in TIERED_METHODS and not found:
                self.problem(self.files["taxes"], line, f"method {rule.method} needs tiers")
            with_tiers.append((line, replace(rule, tiers=found)))
        return with_tiers


def _meet(one: TaxRule, other: TaxRule) -> bool:
    """Whether two rule versions are in force on some common day."""
    return (other.effective_to is None or one.effective_from < other.effective_to) and (
        one.effective_to is None or other.effective_from < one.effective_to
    )


def _overlaps(spans: Sequence[tuple[int, date, date | None]]) -> Iterator[int]:
    """Lines of periods (line, from, to exclusive; None open) that overlap an earlier one."""
    ordered = sorted(spans, key=lambda s: (s[1], s[0]))
    for before, after in pairwise(ordered):
        if before[2] is None or before[2] > after[1]:
            yield max(before[0], after[0])


# --- tax areas ---------------------------------------------------------------------------

Pattern = tuple[str, str, str, str]


def _normal(text: str | None) -> str:
    return (text or "").strip().casefold()


def _pattern(area: TaxArea) -> Pattern:
    return (
        _normal(area.state),
        _normal(area.county),
        _normal(area.city),
        _normal(area.postal_code),
    )


def _mask(pattern: Pattern) -> tuple[int, ...]:
    """Indexes of the pattern's non-empty fields."""
    return tuple(i for i, value in enumerate(pattern) if value)


def _tied_patterns(patterns: list[Pattern]) -> Iterator[tuple[int, int]]:
    """(earlier, later) indexes of patterns that an address can match as equal winners.

    Two patterns with as many fields tie on the addresses both match unless a pattern with
    more fields matches all of those too; an address carrying values no pattern names
    elsewhere shows the tie, so it is a real one.
    """
    by_mask: dict[tuple[int, ...], dict[tuple[str, ...], list[int]]] = defaultdict(
        lambda: defaultdict(list)
    )
    for index, pattern in enumerate(patterns):
        mask = _mask(pattern)
        by_mask[mask][tuple(pattern[i] for i in mask)].append(index)
    for same in (indexes for table in by_mask.values() for indexes in table.values()):
        yield from ((same[0], later) for later in same[1:])
    for one, two in combinations(sorted(by_mask), 2):
        if len(one) != len(two):
            continue
        common = tuple(sorted(set(one) & set(two)))
        # Grouped on the shared fields: only patterns agreeing there can match one address.
        groups: dict[tuple[str, ...], list[list[int]]] = defaultdict(lambda: [[], []])
        for side, mask in enumerate((one, two)):
            for values, indexes in by_mask[mask].items():
                shared = tuple(dict(zip(mask, values, strict=True))[i] for i in common)
                groups[shared][side].append(indexes[0])
        for firsts, seconds in groups.values():
            for a in firsts:
                for b in seconds:
                    if not _decided(patterns[a], patterns[b], by_mask):
                        yield min(a, b), max(a, b)


def _decided(
    one: Pattern, two: Pattern, by_mask: dict[tuple[int, ...], dict[tuple[str, ...], list[int]]]
) -> bool:
    """Whether a pattern with more fields than ``one`` matches every address both match."""
    both = tuple(a or b for a, b in zip(one, two, strict=True))
    fields = len(_mask(one))
    return any(
        len(mask) > fields and all(both[i] for i in mask) and tuple(both[i] for i in mask) in table
        for mask, table in by_mask.items()
    )


class TaxAreaIndex:
    """Service address -> tax area of a rule set, built once for many addresses.

    The areas are grouped by which fields they fill; an address is looked up in each group,
    most fields first, so a lookup costs at most 16 dict probes.
    """

    def __init__(self, ruleset: RuleSet) -> None:
        groups: dict[tuple[int, ...], dict[tuple[str, ...], str]] = defaultdict(dict)
        for area in ruleset.tax_areas:
            pattern = _pattern(area)
            mask = _mask(pattern)
            groups[mask].setdefault(tuple(pattern[i] for i in mask), area.tax_area_id)
        self._groups = sorted(groups.items(), key=lambda item: -len(item[0]))

    def resolve(
        self, *, state: str | None, county: str | None, city: str | None, postal_code: str | None
    ) -> str | None:
        """The tax area of the address (blank and None fields are empty), or None."""
        address = (_normal(state), _normal(county), _normal(city), _normal(postal_code))
        for mask, table in self._groups:
            # A loaded rule set has no ties, so the first group with a match holds the winner.
            found = table.get(tuple(address[i] for i in mask))
            if found is not None:
                return found
        return None

    def resolve_all(self, addresses: pl.DataFrame) -> pl.Series:
        """The tax area of each address (columns state, county, city, postal_code), as
        ``resolve`` finds it, null where none: one join per group of areas instead of a
        lookup per address."""
        fields = ("state", "county", "city", "postal_code")
        normal = addresses.select(_normal_column(addresses[name]) for name in fields)
        found = pl.Series("tax_area_id", [None] * addresses.height, dtype=pl.String)
        for mask, table in self._groups:
            if not mask:
                found = found.fill_null(table[()])
                continue
            keys = [fields[i] for i in mask]
            areas = pl.DataFrame(
                [(*values, area) for values, area in table.items()],
                schema=[*keys, "tax_area_id"],
                orient="row",
            )
            matched = normal.join(areas, on=keys, how="left", maintain_order="left")
            found = found.fill_null(matched["tax_area_id"])
        return found


def _normal_column(column: pl.Series) -> pl.Series:
    """``_normal`` of every value: Python's strip and casefold, run once per distinct value."""
    text = column.cast(pl.String).fill_null("")
    distinct = text.unique()
    return text.replace_strict(distinct, [_normal(value) for value in distinct])


def resolve_tax_area(
    ruleset: RuleSet,
    *,
    state: str | None,
    county: str | None,
    city: str | None,
    postal_code: str | None,
) -> str | None:
    """The tax area of one address, or None (``NO_TAX_AREA``); for many, use TaxAreaIndex."""
    return TaxAreaIndex(ruleset).resolve(
        state=state, county=county, city=city, postal_code=postal_code
    )


# --- field parsers: raise _Bad naming the column and value ------------------------------


def _format(text: str) -> str:
    if text != FORMAT:
        raise _Bad(f"{text!r} is not {FORMAT}")
    return text


def _text(text: str) -> str:
    if not text:
        raise _Bad("is blank")
    return text


def _label(text: str) -> str:
    if not text or "+" in text:
        raise _Bad(f"{text!r} is blank or has a '+' (the version adds '+' and a hash)")
    return text


def _currency(text: str) -> str:
    if not _CURRENCY.fullmatch(text):
        raise _Bad(f"{text!r} is not an ISO 4217 code like USD")
    return text


def _whole(text: str, minimum: int | None = None, maximum: int | None = None) -> int:
    if not _INTEGER.fullmatch(text):
        raise _Bad(f"{text!r} is not a whole number")
    value = int(text)
    if minimum is not None and value < minimum:
        raise _Bad(f"{text!r} is below {minimum}")
    if maximum is not None and value > maximum:
        raise _Bad(f"{text!r} is above {maximum}")
    return value


def _required(row: Row, column: str) -> str:
    if not row[column]:
        raise _Bad(f"{column} is blank")
    return row[column]


def _int(row: Row, column: str, blank: int | None = None, maximum: int | None = None) -> int:
    """A whole number >= 0 (rates, amounts, orders and tiers are never negative)."""
    if row[column] == "" and blank is not None:
        return blank
    try:
        return _whole(row[column], minimum=0, maximum=maximum)
    except _Bad as bad:
        raise _Bad(f"{column} {bad}") from None


def _share(row: Row, column: str) -> int:
    """A decimal fraction 0..1 with at most 6 decimals -> ppm, exactly (0.366 -> 366_000)."""
    text = row[column]
    if not _SHARE.fullmatch(text):
        raise _Bad(f"{column} {text!r} is not a decimal like 0.371")
    ppm = Decimal(text) * PPM
    if ppm != ppm.to_integral_value() or ppm > PPM:
        raise _Bad(f"{column} {text!r} is above 1 or has more than 6 decimals")
    return int(ppm)


def _date(row: Row, column: str) -> date:
    text = row[column]
    try:
        if _DATE.fullmatch(text):
            return date.fromisoformat(text)
    except ValueError:
        pass
    raise _Bad(f"{column} {text!r} is not a date YYYY-MM-DD")


def _quarter(text: str) -> date:
    """2025Q2 -> date(2025, 4, 1), the quarter's first day."""
    match = _QUARTER.fullmatch(text)
    if match is None:
        raise _Bad(f"quarter {text!r} is not a quarter like 2025Q2")
    return date(int(match.group(1)), 3 * int(match.group(2)) - 2, 1)


def _member(kind: type[Any], text: str) -> Any:
    members = {member.value: member for member in kind}
    if text not in members:
        raise _Bad(f"{text!r} is not one of {list(members)}")
    return members[text]


def _enum(kind: type[Any], text: str, column: str) -> Any:
    try:
        return _member(kind, text)
    except _Bad as bad:
        raise _Bad(f"{column} {bad}") from None


def _bool(row: Row, column: str, blank: bool | None = None) -> bool:
    text = row[column]
    if text == "" and blank is not None:
        return blank
    if text not in ("true", "false"):
        raise _Bad(f"{column} {text!r} is not true or false")
    return text == "true"


def _list(row: Row, column: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in row[column].split(LIST_SEPARATOR) if part.strip())


def _category(text: str, column: str) -> str:
    if text not in CATEGORIES:
        raise _Bad(f"{column}: {text!r} is not a charge category (docs/taxes.md)")
    return text


def _exempt_class(text: str) -> str:
    if text not in CUSTOMER_CLASSES or text == "standard":
        raise _Bad(f"exempt_classes: {text!r} is not one of {list(CUSTOMER_CLASSES[1:])}")
    return text


# --- writing -----------------------------------------------------------------------------


def write_ruleset(ruleset: RuleSet, path: Path) -> None:
    """Write ``ruleset`` in canonical form into folder ``path`` (created if missing).

    Every table is written, header only when empty; dict-held kinds are sorted by key and
    tuples keep their order, so equal rule sets give byte-identical files. The interstate
    shares' ``source`` is documentation the model does not keep; it is written blank.
    """
    path.mkdir(parents=True, exist_ok=True)
    for name, content in _render(ruleset).items():
        (path / name).write_bytes(content)


def _render(ruleset: RuleSet) -> dict[str, bytes]:
    """The canonical files, ruleset.yaml first, then the tables in ``TABLES`` order."""
    files = {RULESET_FILE: _render_yaml(ruleset).encode()}
    tables: dict[str, Iterable[Sequence[str | int]]] = {
        "jurisdictions": (
            (j.jurisdiction_id, j.level.value, j.code, j.name, j.parent_id or "")
            for _, j in sorted(ruleset.jurisdictions.items())
        ),
        "tax_areas": (
            (
                a.tax_area_id,
                a.state,
                a.county,
                a.city,
                a.postal_code,
                LIST_SEPARATOR.join(a.jurisdiction_ids),
            )
            for a in ruleset.tax_areas
        ),
        "taxes": (_rule_row(rule) for rule in ruleset.rules),
        "tiers": (
            (r.tax_id, r.effective_from.isoformat(), t.lower, t.rate_ppm, t.amount_micros)
            for r in ruleset.rules
            for t in r.tiers
        ),
        "usf_factors": (
            (_quarter_text(quarter), _share_text(factor))
            for quarter, factor in sorted(ruleset.usf_factors.items())
        ),
        "interstate_shares": (
            (category, _share_text(share), "")
            for category, share in sorted(ruleset.interstate_shares.items())
        ),
    }
    for table, rows in tables.items():
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(TABLES[table])
        writer.writerows(rows)
        files[f"{table}.csv"] = buffer.getvalue().encode()
    return files


def _rule_row(rule: TaxRule) -> tuple[str | int, ...]:
    return (
        rule.tax_id,
        rule.effective_from.isoformat(),
        rule.effective_to.isoformat() if rule.effective_to else "",
        rule.jurisdiction_id,
        rule.tax_type,
        rule.tax_name,
        rule.kind.value,
        LIST_SEPARATOR.join(sorted(rule.categories)),
        rule.method.value,
        rule.rate_ppm,
        rule.amount_micros,
        rule.base_share.value,
        LIST_SEPARATOR.join(rule.tax_on),
        rule.calc_order,
        LIST_SEPARATOR.join(sorted(rule.exempt_classes)),
        "true" if rule.is_billable else "false",
        rule.rounding.value,
        rule.decimals,
        rule.max_base_micros,
        rule.max_tax_micros,
        rule.tier_basis.value,
        "true" if rule.is_usf else "false",
    )


def _render_yaml(ruleset: RuleSet) -> str:
    """ruleset.yaml by hand: stable across PyYAML versions, since its bytes are hashed."""
    lines = [
        f"format: {FORMAT}",
        f"name: {_yaml_text(ruleset.name)}",
        f"label: {_yaml_text(ruleset.version.split('+', 1)[0])}",
        f"currency: {_yaml_text(ruleset.currency)}",
        f"tax_on_tax: {ruleset.tax_on_tax.value}",
        f"max_iterations: {ruleset.max_iterations}",
    ]
    return "\n".join(lines) + "\n"


def _yaml_text(value: str) -> str:
    if _BARE_YAML.fullmatch(value):
        return value
    return json.dumps(value, ensure_ascii=False)  # a JSON string is a YAML double-quoted one


def _share_text(ppm: int) -> str:
    whole, fraction = divmod(ppm, PPM)
    return f"{whole}.{fraction:06d}".rstrip("0").rstrip(".")


def _quarter_text(quarter: date) -> str:
    return f"{quarter.year}Q{(quarter.month - 1) // 3 + 1}"
