"""Tariff catalogs on disk: ``catalog.yaml`` plus CSV tables (docs/tariff-catalog.md).

``load_catalog`` reads and checks a catalog folder into the model, reporting every problem
with its file and line; ``write_catalog`` writes a model catalog in the canonical form, so
one catalog always gives the same bytes. ``Catalog.version`` is the pricing team's label
plus a hash of that canonical form: it names the pricing content that rated a record, not
the formatting of the files it was read from.

Large decks are the destinations table (one row per prefix); it is checked and grouped
with polars. The other tables are parsed row by row, which stays well under a second at
hundreds of thousands of rows.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import replace
from datetime import UTC, date, datetime
from fractions import Fraction
from functools import cache
from itertools import pairwise
from pathlib import Path
from typing import Any, TypeVar

import holidays as holiday_calendars
import polars as pl
import yaml

from pipelines.folder_problems import FolderProblems
from pipelines.tariffs.model import (
    ALWAYS,
    ANY,
    SECONDS_PER_DAY,
    AggregatePrice,
    Allowance,
    Catalog,
    Destination,
    DestinationGroup,
    DestinationRate,
    ExchangeRate,
    HolidayCalendar,
    HolidayRule,
    MaxCostStrategy,
    Offer,
    PlanEntry,
    PricingModel,
    Rate,
    RateSlot,
    RatingPlan,
    RatingProfile,
    RoundingMethod,
    Tier,
    Timing,
)

FORMAT = "telcolake-catalog/1"
CATALOG_FILE = "catalog.yaml"
MICROS = 1_000_000

#: Every table with its columns, in file order; the order is also the hash order.
TABLES: dict[str, tuple[str, ...]] = {
    "destinations": ("destination_id", "prefix", "name", "group"),
    "rates": (
        "rate_id",
        "group_interval_start",
        "price",
        "rate_unit",
        "increment",
        "connect_fee",
    ),
    "destination_rates": (
        "destination_rates_id",
        "destination_id",
        "rate_id",
        "rounding_method",
        "rounding_decimals",
        "max_cost",
        "max_cost_strategy",
        "min_charge",
        "min_usage",
        "effective_from",
        "effective_to",
    ),
    "rating_plans": ("rating_plan_id", "destination_rates_id", "timing_id", "weight"),
    "rating_profiles": (
        "tenant",
        "category",
        "subject",
        "activation",
        "rating_plan_id",
        "fallback_subjects",
    ),
    "offers": (
        "offer_id",
        "name",
        "kind",
        "service_type",
        "monthly_fee",
        "subject",
        "effective_from",
        "effective_to",
    ),
    "allowances": (
        "offer_id",
        "effective_from",
        "category",
        "units",
        "pooled",
        "rollover_cap",
        "destination_groups",
        "destinations",
    ),
    "aggregate_prices": (
        "offer_id",
        "effective_from",
        "category",
        "model",
        "unit",
        "package_size",
        "free_units",
        "tier",
        "up_to",
        "price",
        "flat_fee",
    ),
    "exchange_rates": ("effective", "source", "target", "rate"),
}
REQUIRED_TABLES = ("destinations", "rates", "destination_rates", "rating_plans", "rating_profiles")
#: Columns that may be left out of a file (every value then blank, i.e. the default).
OPTIONAL_COLUMNS = {
    "destinations": {"name", "group"},
    "rates": {"connect_fee"},
    "destination_rates": set(TABLES["destination_rates"][3:]),
    "rating_plans": set(),
    "rating_profiles": {"fallback_subjects"},
    "offers": {"name", "effective_to"},
    "allowances": {"pooled", "rollover_cap", "destination_groups", "destinations"},
    "aggregate_prices": {"package_size", "free_units", "up_to", "flat_fee"},
    "exchange_rates": set(),
}
OFFER_KINDS = ("plan", "addon")
WEEK_DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
TIMING_KEYS = ("years", "months", "month_days", "week_days", "start", "end", "holidays")

_MONEY = re.compile(r"(\d+)(?:\.(\d+))?")
_INTEGER = re.compile(r"-?\d+")
_DECIMAL_OR_RATIO = re.compile(r"\d+(?:\.\d+)?|\d+/\d+")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_CLOCK = re.compile(r"(\d\d):(\d\d)(?::(\d\d))?")
_CURRENCY = re.compile(r"[A-Z]{3}")
#: A TADIG code (3-letter country, 2 operator characters) or its country part alone.
_TADIG = re.compile(r"[A-Z]{3}([A-Z0-9]{2})?")
_BARE_YAML = re.compile(r"[A-Za-z][A-Za-z0-9_./-]*")

T = TypeVar("T")
Row = dict[str, Any]


class CatalogError(FolderProblems):
    """A catalog that does not load; ``problems`` holds one "file:line: what" per problem."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__(problems, "the catalog")


class _Bad(Exception):
    """A value that does not parse; the row loop adds the file and line."""


class _YamlLoader(yaml.SafeLoader):
    """YAML 1.2 core scalars: true/false, null, decimal integers; everything else is text.

    PyYAML's YAML 1.1 reads 20:00 as the number 1200, version 2026.10 as 2026.1, NO (Norway)
    as false and 2026-12-24 as a date object; a catalog means none of these.
    """


def _decimal_int(loader: yaml.SafeLoader, node: yaml.Node) -> int:
    """Decimal even with leading zeros (PyYAML would read 08 as a bad octal number)."""
    assert isinstance(node, yaml.ScalarNode)
    return int(loader.construct_scalar(node))


_YamlLoader.yaml_implicit_resolvers = {}  # only the resolvers below
for _tag, _pattern, _first in (
    ("tag:yaml.org,2002:bool", r"^(?:true|True|TRUE|false|False|FALSE)$", "tTfF"),
    ("tag:yaml.org,2002:null", r"^(?:~|null|Null|NULL|)$", ["~", "n", "N", ""]),
    ("tag:yaml.org,2002:int", r"^[-+]?[0-9]+$", "-+0123456789"),
):
    _YamlLoader.add_implicit_resolver(_tag, re.compile(_pattern), list(_first))
_YamlLoader.add_constructor("tag:yaml.org,2002:int", _decimal_int)


# --- loading ---------------------------------------------------------------------------


def load_catalog(path: Path) -> Catalog:
    """Read and check the catalog in folder ``path`` (or its ``catalog.yaml``).

    Raises CatalogError listing every problem found, each naming its file and line.
    """
    folder = path.parent if path.is_file() else path
    catalog = _Loader(folder).load()
    return replace(catalog, version=f"{catalog.version}+{catalog_digest(catalog)[:12]}")


def catalog_checksum(path: Path) -> str:
    """Full sha256 (hex) of the catalog at ``path``; its first 12 digits end the version."""
    return catalog_digest(_Loader(path.parent if path.is_file() else path).load())


def catalog_digest(catalog: Catalog) -> str:
    """sha256 (hex) over the canonical files: each file's name, byte length and bytes."""
    digest = hashlib.sha256()
    for name, content in _render(catalog).items():
        digest.update(f"{name}\n{len(content)}\n".encode())
        digest.update(content)
    return digest.hexdigest()


class _Loader:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.problems: list[str] = []
        self.files = {table: f"{table}.csv" for table in TABLES}

    def problem(self, file: str, line: int | None, message: str) -> None:
        self.problems.append(f"{file}:{line}: {message}" if line else f"{file}: {message}")

    def check(self) -> None:
        if self.problems:
            raise CatalogError(self.problems)

    def load(self) -> Catalog:
        settings = self.settings()
        self.check()
        frames = {table: self.read(table) for table in TABLES}
        self.check()
        timings = {ANY: ALWAYS, **self.timings(settings.get("timings"))}
        destinations = self.destinations(frames["destinations"])
        rates = self.rates(frames["rates"])
        destination_rates = self.destination_rates(frames["destination_rates"], destinations, rates)
        plans = self.rating_plans(frames["rating_plans"], destination_rates, timings)
        profiles = self.profiles(frames["rating_profiles"], plans)
        offers = self.offers(
            frames["offers"], frames["allowances"], frames["aggregate_prices"], destinations
        )
        exchange_rates = self.exchange_rates(frames["exchange_rates"])
        holidays = self.holidays(settings.get("holidays"))
        roaming_zones = self.roaming_zones(settings.get("roaming_zones"))
        self.check()
        return Catalog(
            version=settings["version"],
            currency=settings["currency"],
            destinations=destinations,
            timings=timings,
            rates=rates,
            destination_rates=destination_rates,
            rating_plans=plans,
            profiles=profiles,
            holidays=holidays,
            offers=offers,
            exchange_rates=exchange_rates,
            roaming_zones=roaming_zones,
        )

    # catalog.yaml

    def roaming_zones(self, spec: Any) -> dict[str, frozenset[str]]:
        """zone -> TADIG codes (5 characters) or TADIG countries (3 letters)."""
        if spec is None:
            return {}
        where = f"{CATALOG_FILE}: roaming_zones"
        if not isinstance(spec, dict):
            self.problem(CATALOG_FILE, None, "roaming_zones must map zone ids to network lists")
            return {}
        zones: dict[str, frozenset[str]] = {}
        seen: dict[str, str] = {}
        for zone, networks in spec.items():
            if not isinstance(networks, list):
                self.problem(CATALOG_FILE, None, f"{where}.{zone}: a list of networks is needed")
                continue
            for network in networks:
                code = str(network)
                if not _TADIG.fullmatch(code):
                    self.problem(
                        CATALOG_FILE,
                        None,
                        f"{where}.{zone}: {code!r} is neither a TADIG code nor a TADIG country",
                    )
                elif code in seen:
                    self.problem(
                        CATALOG_FILE, None, f"{where}: {code} is in zones {seen[code]} and {zone}"
                    )
                seen[code] = str(zone)
            zones[str(zone)] = frozenset(str(n) for n in networks)
        return zones

    def settings(self) -> dict[str, Any]:
        path = self.folder / CATALOG_FILE
        if not path.is_file():
            self.problem(CATALOG_FILE, None, f"missing in {self.folder}")
            return {}
        try:
            settings = yaml.load(path.read_text(encoding="utf-8"), Loader=_YamlLoader)
        except (yaml.YAMLError, UnicodeDecodeError) as exc:
            self.problem(CATALOG_FILE, None, f"not readable YAML: {exc}")
            return {}
        if not isinstance(settings, dict):
            self.problem(CATALOG_FILE, None, "must be a mapping of settings")
            return {}
        known = {"format", "version", "currency", "holidays", "timings", "roaming_zones", "files"}
        for key in sorted(set(settings) - known, key=str):
            self.problem(CATALOG_FILE, None, f"unknown setting {key!r}; known: {sorted(known)}")
        if settings.get("format") != FORMAT:
            self.problem(
                CATALOG_FILE, None, f"format is {settings.get('format')!r}, expected {FORMAT!r}"
            )
        label = settings.get("version")
        if isinstance(label, int) and not isinstance(label, bool):
            label = settings["version"] = str(label)
        if not isinstance(label, str) or not label or "+" in label:
            self.problem(CATALOG_FILE, None, f"version {label!r}: a label without '+' is needed")
        currency = settings.get("currency")
        if not isinstance(currency, str) or not _CURRENCY.fullmatch(currency):
            self.problem(CATALOG_FILE, None, f"currency {currency!r} is not an ISO 4217 code")
        files = settings.get("files") or {}
        if not isinstance(files, dict):
            self.problem(CATALOG_FILE, None, "files must map table names to file names")
            files = {}
        for table, name in files.items():
            if table not in TABLES:
                self.problem(CATALOG_FILE, None, f"files: unknown table {table!r}")
            elif not isinstance(name, str) or not name:
                self.problem(CATALOG_FILE, None, f"files.{table}: {name!r} is not a file name")
            else:
                self.files[table] = name
        return settings

    def holidays(self, spec: Any) -> HolidayCalendar:
        where = f"{CATALOG_FILE}: holidays"
        if spec is None:
            return HolidayCalendar()
        if not isinstance(spec, dict):
            self.problems.append(f"{where} must be a mapping")
            return HolidayCalendar()
        for key in sorted(set(spec) - {"country", "subdivision", "extra", "removed"}, key=str):
            self.problems.append(f"{where}: unknown key {key!r}")
        country, subdivision = spec.get("country"), spec.get("subdivision")
        if subdivision is not None and country is None:
            self.problems.append(f"{where}.subdivision {subdivision!r} needs a country")
        elif country is not None:
            try:
                holiday_calendars.country_holidays(str(country), subdiv=subdivision)
            except NotImplementedError as exc:
                self.problems.append(f"{where}: {exc}")
        dates = {}
        for key in ("extra", "removed"):
            values = spec.get(key) or []
            if not isinstance(values, list):
                self.problems.append(f"{where}.{key} must be a list of dates")
                values = []
            dates[key] = frozenset(self.yaml_value(f"holidays.{key}", _iso_date, v) for v in values)
        return HolidayCalendar(
            country=country,
            subdivision=subdivision,
            extra=frozenset(d for d in dates["extra"] if d is not None),
            removed=frozenset(d for d in dates["removed"] if d is not None),
        )

    def yaml_value(self, where: str, parse: Callable[[str], T], value: Any) -> T | None:
        try:
            return parse(str(value))
        except _Bad as bad:
            self.problems.append(f"{CATALOG_FILE}: {where}: {bad}")
            return None

    def timings(self, spec: Any) -> dict[str, Timing]:
        if spec is None:
            return {}
        if not isinstance(spec, dict):
            self.problems.append(f"{CATALOG_FILE}: timings must map timing ids to timings")
            return {}
        timings = {}
        for timing_id, fields in spec.items():
            where = f"timings.{timing_id}"
            if timing_id == ANY:
                self.problems.append(f"{CATALOG_FILE}: {where}: {ANY} is built in (always)")
                continue
            fields = fields or {}
            if not isinstance(fields, dict):
                self.problems.append(f"{CATALOG_FILE}: {where} must be a mapping")
                continue
            for key in sorted(set(fields) - set(TIMING_KEYS), key=str):
                self.problems.append(f"{CATALOG_FILE}: {where}: unknown key {key!r}")
            try:
                start = _clock(str(fields.get("start", "00:00")))
                end = _clock(str(fields.get("end", "24:00")))
                if start >= end:
                    raise _Bad(f"start {fields.get('start')!r} is not before end")
                timings[str(timing_id)] = Timing(
                    timing_id=str(timing_id),
                    years=_numbers(fields.get("years"), 1, 9999, "years"),
                    months=_numbers(fields.get("months"), 1, 12, "months"),
                    month_days=_numbers(fields.get("month_days"), 1, 31, "month_days"),
                    week_days=_week_days(fields.get("week_days")),
                    start_second=start,
                    end_second=end,
                    holidays=_enum(HolidayRule, str(fields.get("holidays", "any")), "holidays"),
                )
            except _Bad as bad:
                self.problems.append(f"{CATALOG_FILE}: {where}: {bad}")
        return timings

    # CSV tables

    def read(self, table: str) -> pl.DataFrame:
        """The table as text (blank fields ""), every column present, plus its ``line``."""
        name = self.files[table]
        columns = TABLES[table]
        empty = pl.DataFrame({c: [] for c in columns}, schema=dict.fromkeys(columns, pl.String))
        path = self.folder / name
        if not path.is_file():
            if table in REQUIRED_TABLES:
                self.problem(name, None, f"missing in {self.folder} (a required table)")
            return empty.with_row_index("line", offset=2)
        try:
            frame = pl.read_csv(path, infer_schema=False)
        except pl.exceptions.NoDataError:
            self.problem(name, None, f"empty; the header is {','.join(columns)}")
            return empty.with_row_index("line", offset=2)
        except (pl.exceptions.PolarsError, OSError) as exc:
            self.problem(name, None, f"not a readable CSV: {exc}")
            return empty.with_row_index("line", offset=2)
        unknown = [c for c in frame.columns if c not in columns]
        missing = [c for c in columns if c not in frame.columns]
        if unknown:
            self.problem(name, 1, f"unknown column(s) {', '.join(unknown)}")
        if required := [c for c in missing if c not in OPTIONAL_COLUMNS[table]]:
            self.problem(name, 1, f"missing column(s) {', '.join(required)}")
        frame = frame.with_columns(pl.lit("").alias(c) for c in missing)
        return frame.select(pl.col(columns).fill_null("")).with_row_index("line", offset=2)

    def rows(self, table: str, frame: pl.DataFrame, parse: Callable[[Row], T]) -> list[T]:
        """``parse`` of every row; a row that does not parse is a problem and is left out."""
        parsed = []
        for row in frame.iter_rows(named=True):
            try:
                parsed.append(parse(row))
            except _Bad as bad:
                self.problem(self.files[table], row["line"], str(bad))
        return parsed

    def destinations(self, frame: pl.DataFrame) -> dict[str, Destination]:
        name = self.files["destinations"]
        group = pl.when(pl.col("group") == "").then(pl.lit("other")).otherwise(pl.col("group"))
        frame = frame.with_columns(group.alias("group"))
        on_net = pl.col("group") == DestinationGroup.ON_NET.value
        checks = [
            (pl.col("destination_id") == "", "destination_id is blank"),
            (pl.col("destination_id") == ANY, f"{ANY} matches every number; it takes no rows"),
            (
                ~pl.col("group").is_in([g.value for g in DestinationGroup]),
                f"group is not one of {[g.value for g in DestinationGroup]}",
            ),
            (on_net & (pl.col("prefix") != ""), "an on_net destination takes an empty prefix"),
            (~on_net & (pl.col("prefix") == ""), "prefix is blank (only on_net may be)"),
            (
                (pl.col("prefix") != "") & ~pl.col("prefix").str.contains(r"^[0-9]+$"),
                "prefix is not digits",
            ),
            (
                ~pl.struct("destination_id", "prefix").is_first_distinct(),
                "repeats an earlier row's destination_id and prefix",
            ),
            (
                (pl.col("name").n_unique() > 1).over("destination_id")
                | (pl.col("group").n_unique() > 1).over("destination_id"),
                "name or group differs between rows of this destination",
            ),
        ]
        for condition, message in checks:
            for line, value in frame.filter(condition).select("line", "destination_id").rows():
                self.problem(name, line, f"destination {value!r}: {message}")
        grouped = frame.group_by("destination_id", maintain_order=True).agg(
            pl.col("prefix").filter(pl.col("prefix") != ""), pl.first("name"), pl.first("group")
        )
        # Rows with problems are kept (a bad group as "other") so that later tables are
        # checked against every destination id rather than reporting its references too.
        groups = {g.value: g for g in DestinationGroup}
        return {
            destination_id: Destination(
                destination_id, tuple(prefixes), label, groups.get(group, DestinationGroup.OTHER)
            )
            for destination_id, prefixes, label, group in grouped.iter_rows()
        }

    def rates(self, frame: pl.DataFrame) -> dict[str, Rate]:
        def parse(row: Row) -> tuple[str, int, RateSlot]:
            slot = RateSlot(
                group_interval_start=_int(row, "group_interval_start", minimum=0),
                price_micros=_money(row, "price"),
                rate_unit=_int(row, "rate_unit", minimum=1),
                increment=_int(row, "increment", minimum=1),
                connect_fee_micros=_money(row, "connect_fee", blank=0),
            )
            return _required(row, "rate_id"), row["line"], slot

        slots: dict[str, list[RateSlot]] = defaultdict(list)
        for rate_id, line, slot in self.rows("rates", frame, parse):
            before = slots[rate_id]
            if not before and slot.group_interval_start != 0:
                self.problem(self.files["rates"], line, f"rate {rate_id!r}: first slot not at 0")
            elif before and slot.group_interval_start <= before[-1].group_interval_start:
                self.problem(
                    self.files["rates"],
                    line,
                    f"rate {rate_id!r}: group_interval_start {slot.group_interval_start} is not "
                    f"after the previous slot's {before[-1].group_interval_start}",
                )
            before.append(slot)
        return {rate_id: Rate(rate_id, tuple(s)) for rate_id, s in slots.items()}

    def destination_rates(
        self, frame: pl.DataFrame, destinations: dict[str, Destination], rates: dict[str, Rate]
    ) -> dict[str, tuple[DestinationRate, ...]]:
        def parse(row: Row) -> tuple[str, int, DestinationRate]:
            destination_id = _required(row, "destination_id")
            if destination_id != ANY and destination_id not in destinations:
                raise _Bad(f"destination_id {destination_id!r} is not in destinations")
            rate_id = _required(row, "rate_id")
            if rate_id not in rates:
                raise _Bad(f"rate_id {rate_id!r} is not in rates")
            terms = _binding_terms(*(row[c] for c in TABLES["destination_rates"][3:]))
            binding = DestinationRate(destination_id, rate_id, *terms)
            return _required(row, "destination_rates_id"), row["line"], binding

        tables: dict[str, list[DestinationRate]] = defaultdict(list)
        periods = defaultdict(list)
        for table_id, line, binding in self.rows("destination_rates", frame, parse):
            tables[table_id].append(binding)
            key = (table_id, binding.destination_id)
            periods[key].append((line, binding.effective_from, binding.effective_to))
        for (table_id, destination_id), spans in periods.items():
            for line in _overlaps(spans):
                self.problem(
                    self.files["destination_rates"],
                    line,
                    f"{table_id!r} prices {destination_id!r} twice on some day",
                )
        return {table_id: tuple(b) for table_id, b in tables.items()}

    def rating_plans(
        self,
        frame: pl.DataFrame,
        destination_rates: dict[str, tuple[DestinationRate, ...]],
        timings: dict[str, Timing],
    ) -> dict[str, RatingPlan]:
        def parse(row: Row) -> tuple[str, PlanEntry]:
            table_id = _required(row, "destination_rates_id")
            if table_id not in destination_rates:
                raise _Bad(f"destination_rates_id {table_id!r} is not in destination_rates")
            timing_id = _required(row, "timing_id")
            if timing_id not in timings:
                raise _Bad(f"timing_id {timing_id!r} is not in {CATALOG_FILE} timings")
            entry = PlanEntry(table_id, timing_id, _int(row, "weight"))
            return _required(row, "rating_plan_id"), entry

        entries: dict[str, list[PlanEntry]] = defaultdict(list)
        for plan_id, entry in self.rows("rating_plans", frame, parse):
            entries[plan_id].append(entry)
        return {plan_id: RatingPlan(plan_id, tuple(e)) for plan_id, e in entries.items()}

    def profiles(
        self, frame: pl.DataFrame, plans: dict[str, RatingPlan]
    ) -> tuple[RatingProfile, ...]:
        seen: set[tuple[str, str, str, datetime]] = set()

        def parse(row: Row) -> RatingProfile:
            plan_id = _required(row, "rating_plan_id")
            if plan_id not in plans:
                raise _Bad(f"rating_plan_id {plan_id!r} is not in rating_plans")
            profile = RatingProfile(
                tenant=_required(row, "tenant"),
                category=_required(row, "category"),
                subject=_required(row, "subject"),
                activation=_instant(_required(row, "activation")),
                rating_plan_id=plan_id,
                fallback_subjects=_list(row["fallback_subjects"]),
            )
            key = (profile.tenant, profile.category, profile.subject, profile.activation)
            if key in seen:
                raise _Bad("repeats an earlier profile's tenant, category, subject, activation")
            seen.add(key)
            return profile

        return tuple(self.rows("rating_profiles", frame, parse))

    def offers(
        self,
        frame: pl.DataFrame,
        allowance_frame: pl.DataFrame,
        price_frame: pl.DataFrame,
        destinations: dict[str, Destination],
    ) -> tuple[Offer, ...]:
        def parse(row: Row) -> tuple[int, Offer]:
            offer = Offer(
                offer_id=_required(row, "offer_id"),
                name=row["name"],
                kind=_choice(row, "kind", OFFER_KINDS),
                service_type=_required(row, "service_type"),
                monthly_fee_micros=_money(row, "monthly_fee"),
                subject=_required(row, "subject"),
                effective_from=_date(row, "effective_from"),
                effective_to=_optional_date(row, "effective_to"),
            )
            _check_period(offer.effective_from, offer.effective_to)
            return row["line"], offer

        parsed = self.rows("offers", frame, parse)
        versions = defaultdict(list)
        for line, offer in parsed:
            versions[offer.offer_id].append((line, offer.effective_from, offer.effective_to))
        for offer_id, spans in versions.items():
            for line in _overlaps(spans):
                self.problem(self.files["offers"], line, f"versions of {offer_id!r} overlap")
        keys = {(o.offer_id, o.effective_from) for _, o in parsed}
        allowances = self.allowances(allowance_frame, keys, destinations)
        prices = self.aggregate_prices(price_frame, keys)
        return tuple(
            replace(
                offer,
                allowances=tuple(allowances.get((offer.offer_id, offer.effective_from), ())),
                aggregate_prices=tuple(prices.get((offer.offer_id, offer.effective_from), ())),
            )
            for _, offer in parsed
        )

    def allowances(
        self,
        frame: pl.DataFrame,
        offers: set[tuple[str, date]],
        destinations: dict[str, Destination],
    ) -> dict[tuple[str, date], list[Allowance]]:
        def parse(row: Row) -> tuple[tuple[str, date], Allowance]:
            key = _offer_key(row, offers)
            for destination_id in _list(row["destinations"]):
                if destination_id not in destinations:
                    raise _Bad(f"destinations: {destination_id!r} is not in destinations")
            allowance = Allowance(
                category=_required(row, "category"),
                units=_int(row, "units", minimum=0),
                pooled=_bool(row, "pooled"),
                rollover_cap=_int(row, "rollover_cap", blank=0, minimum=0),
                destination_groups=frozenset(
                    _enum(DestinationGroup, g, "destination_groups")
                    for g in _list(row["destination_groups"])
                ),
                destinations=frozenset(_list(row["destinations"])),
            )
            return key, allowance

        found = defaultdict(list)
        for key, allowance in self.rows("allowances", frame, parse):
            found[key].append(allowance)
        return found

    def aggregate_prices(
        self, frame: pl.DataFrame, offers: set[tuple[str, date]]
    ) -> dict[tuple[str, date], list[AggregatePrice]]:
        name = self.files["aggregate_prices"]

        def parse(row: Row) -> tuple[tuple[str, date, str], int, int, AggregatePrice, Tier]:
            key = (*_offer_key(row, offers), _required(row, "category"))
            up_to = row["up_to"]
            tier = Tier(
                up_to=_int(row, "up_to", minimum=1) if up_to else None,
                price_micros=_money(row, "price"),
                flat_fee_micros=_money(row, "flat_fee", blank=0),
            )
            shape = AggregatePrice(
                category=key[2],
                model=_enum(PricingModel, row["model"], "model"),
                unit=_int(row, "unit", minimum=1),
                tiers=(),
                package_size=_int(row, "package_size", blank=1, minimum=1),
                free_units=_int(row, "free_units", blank=0, minimum=0),
            )
            return key, row["line"], _int(row, "tier"), shape, tier

        tiers = defaultdict(list)
        for key, line, number, shape, tier in self.rows("aggregate_prices", frame, parse):
            tiers[key].append((number, line, shape, tier))
        found = defaultdict(list)
        for (offer_id, effective_from, category), rows in tiers.items():
            rows.sort(key=lambda r: r[0])
            first_shape = rows[0][2]
            previous: Tier | None = None
            for index, (number, line, shape, tier) in enumerate(rows):
                where = f"{offer_id!r} {category!r} tier {number}"
                if shape != first_shape:
                    self.problem(name, line, f"{where}: model, unit or sizes differ between tiers")
                if index and number == rows[index - 1][0]:
                    self.problem(name, line, f"{where}: tier number repeated")
                if previous is not None and (
                    previous.up_to is None
                    or (tier.up_to is not None and tier.up_to <= previous.up_to)
                ):
                    self.problem(name, line, f"{where}: up_to must grow, and only the last is open")
                previous = tier
            prices = replace(first_shape, tiers=tuple(r[3] for r in rows))
            found[(offer_id, effective_from)].append(prices)
        return found

    def exchange_rates(self, frame: pl.DataFrame) -> tuple[ExchangeRate, ...]:
        seen: set[tuple[date, str, str]] = set()

        def parse(row: Row) -> ExchangeRate:
            rate = ExchangeRate(
                effective=_date(row, "effective"),
                source=_currency(row, "source"),
                target=_currency(row, "target"),
                target_per_source=_ratio(row, "rate"),
            )
            key = (rate.effective, rate.source, rate.target)
            if key in seen:
                raise _Bad("repeats an earlier row's effective, source and target")
            seen.add(key)
            return rate

        return tuple(self.rows("exchange_rates", frame, parse))


@cache  # a deck's rows repeat a few combinations of these, and parsing them is most of a row
def _binding_terms(*texts: str) -> tuple[Any, ...]:
    """destination_rates.csv's columns after rate_id, typed in ``DestinationRate`` order."""
    row = dict(zip(TABLES["destination_rates"][3:], texts, strict=True))
    strategy = row["max_cost_strategy"]
    terms = (
        _enum(RoundingMethod, row["rounding_method"] or "half_up", "rounding_method"),
        _int(row, "rounding_decimals", blank=6, minimum=0, maximum=6),
        _money(row, "max_cost", blank=0),
        _enum(MaxCostStrategy, strategy, "max_cost_strategy") if strategy else None,
        _money(row, "min_charge", blank=0),
        _int(row, "min_usage", blank=0, minimum=0),
        _optional_date(row, "effective_from"),
        _optional_date(row, "effective_to"),
    )
    _check_period(terms[-2], terms[-1])
    return terms


# --- field parsers: raise _Bad naming the column and value ------------------------------


def _required(row: Row, column: str) -> str:
    value: str = row[column]
    if not value:
        raise _Bad(f"{column} is blank")
    return value


def _int(
    row: Row,
    column: str,
    blank: int | None = None,
    minimum: int | None = None,
    maximum: int | None = None,
) -> int:
    text = row[column]
    if text == "" and blank is not None:
        return blank
    if not _INTEGER.fullmatch(text):
        raise _Bad(f"{column} {text!r} is not a whole number")
    value = int(text)
    if minimum is not None and value < minimum:
        raise _Bad(f"{column} {text!r} is below {minimum}")
    if maximum is not None and value > maximum:
        raise _Bad(f"{column} {text!r} is above {maximum}")
    return value


def _money(row: Row, column: str, blank: int | None = None) -> int:
    """Decimal text in currency units (at most 6 decimals) -> integer micros."""
    text = row[column]
    if text == "" and blank is not None:
        return blank
    match = _MONEY.fullmatch(text)
    if match is None:
        raise _Bad(f"{column} {text!r} is not an amount like 0.0125")
    whole, fraction = match.group(1), match.group(2) or ""
    if len(fraction) > 6:
        raise _Bad(f"{column} {text!r} has more than 6 decimals")
    return int(whole) * MICROS + int(fraction.ljust(6, "0"))


def _ratio(row: Row, column: str) -> Fraction:
    text = row[column]
    if not _DECIMAL_OR_RATIO.fullmatch(text) or Fraction(text.split("/")[-1]) == 0:
        raise _Bad(f"{column} {text!r} is not a positive decimal like 0.92 (or 1/3)")
    value = Fraction(text)
    if value <= 0:
        raise _Bad(f"{column} {text!r} is not positive")
    return value


def _iso_date(text: str) -> date:
    try:
        if _DATE.fullmatch(text):
            return date.fromisoformat(text)
    except ValueError:
        pass
    raise _Bad(f"{text!r} is not a date YYYY-MM-DD")


def _date(row: Row, column: str) -> date:
    text = row[column]
    if text == "":
        raise _Bad(f"{column} is blank")
    try:
        return _iso_date(text)
    except _Bad:
        raise _Bad(f"{column} {text!r} is not a date YYYY-MM-DD") from None


def _optional_date(row: Row, column: str) -> date | None:
    return _date(row, column) if row[column] else None


def _instant(text: str) -> datetime:
    """ISO 8601 / RFC 3339 text -> aware UTC datetime; no offset means UTC."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise _Bad(f"activation {text!r} is not a time like 2026-11-01T00:00:00Z") from None
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def _check_period(effective_from: date | None, effective_to: date | None) -> None:
    if effective_from and effective_to and effective_to < effective_from:
        raise _Bad(f"effective_to {effective_to} is before effective_from {effective_from}")


def _overlaps(spans: Sequence[tuple[int, date | None, date | None]]) -> Iterator[int]:
    """Lines of periods (line, from, last day; None open) that overlap an earlier one."""
    if len(spans) < 2:
        return
    ordered = sorted(spans, key=lambda s: (s[1] or date.min, s[0]))
    for before, after in pairwise(ordered):
        if before[2] is None or before[2] >= (after[1] or date.min):
            yield max(before[0], after[0])


def _enum(kind: type[Any], text: str, column: str) -> Any:
    # A dict lookup: calling the enum class costs microseconds, per row of a large deck.
    members = _ENUM_MEMBERS.setdefault(kind, {m.value: m for m in kind})
    if text not in members:
        raise _Bad(f"{column} {text!r} is not one of {list(members)}")
    return members[text]


_ENUM_MEMBERS: dict[type[Any], dict[str, Any]] = {}


def _choice(row: Row, column: str, allowed: Iterable[str]) -> str:
    if row[column] not in allowed:
        raise _Bad(f"{column} {row[column]!r} is not one of {list(allowed)}")
    return str(row[column])


def _bool(row: Row, column: str) -> bool:
    text = row[column]
    if text not in ("", "true", "false"):
        raise _Bad(f"{column} {text!r} is not true or false")
    return text == "true"


def _currency(row: Row, column: str) -> str:
    text: str = row[column]
    if not _CURRENCY.fullmatch(text):
        raise _Bad(f"{column} {text!r} is not an ISO 4217 code like EUR")
    return text


def _list(text: str) -> tuple[str, ...]:
    return tuple(part for part in text.split(";") if part)


def _offer_key(row: Row, offers: set[tuple[str, date]]) -> tuple[str, date]:
    key = (_required(row, "offer_id"), _date(row, "effective_from"))
    if key not in offers:
        raise _Bad(f"offer {key[0]!r} has no version from {key[1]} in offers")
    return key


def _clock(text: str) -> int:
    match = _CLOCK.fullmatch(text)
    seconds = None
    if match is not None:
        hours, minutes, secs = (int(g or 0) for g in match.groups())
        if minutes < 60 and secs < 60:
            seconds = hours * 3600 + minutes * 60 + secs
    if seconds is None or seconds > SECONDS_PER_DAY:
        raise _Bad(f"{text!r} is not a time of day HH:MM[:SS] (or 24:00)")
    return seconds


def _numbers(values: Any, low: int, high: int, key: str) -> frozenset[int]:
    if values is None:
        return frozenset()
    if not isinstance(values, list) or not all(
        isinstance(v, int) and not isinstance(v, bool) and low <= v <= high for v in values
    ):
        raise _Bad(f"{key} {values!r} is not a list of numbers {low}..{high}")
    return frozenset(values)


def _week_days(values: Any) -> frozenset[int]:
    if isinstance(values, list):
        names = {name: number for number, name in enumerate(WEEK_DAY_NAMES, start=1)}
        values = [names.get(v.lower(), v) if isinstance(v, str) else v for v in values]
    try:
        return _numbers(values, 1, 7, "week_days")
    except _Bad:
        raise _Bad(f"week_days {values!r} is not a list of 1..7 or mon..sun") from None


# --- writing -----------------------------------------------------------------------------


def write_catalog(catalog: Catalog, path: Path) -> None:
    """Write ``catalog`` in canonical form into folder ``path`` (created if missing).

    Every table is written, header only when empty; dict-held kinds are sorted by id and
    tuples keep their order, so equal catalogs give byte-identical files.
    """
    path.mkdir(parents=True, exist_ok=True)
    for name, content in _render(catalog).items():
        (path / name).write_bytes(content)


def _render(catalog: Catalog) -> dict[str, bytes]:
    """The canonical files, catalog.yaml first, then the tables in ``TABLES`` order."""
    files = {CATALOG_FILE: _render_yaml(catalog).encode()}
    tables = {
        "destinations": _destination_rows(catalog),
        "rates": (
            (
                rate_id,
                s.group_interval_start,
                _money_text(s.price_micros),
                s.rate_unit,
                s.increment,
                _money_text(s.connect_fee_micros),
            )
            for rate_id, rate in sorted(catalog.rates.items())
            for s in rate.slots
        ),
        "destination_rates": (
            (
                table_id,
                b.destination_id,
                b.rate_id,
                b.rounding_method.value,
                b.rounding_decimals,
                _money_text(b.max_cost_micros),
                b.max_cost_strategy.value if b.max_cost_strategy else "",
                _money_text(b.min_charge_micros),
                b.min_usage,
                _date_text(b.effective_from),
                _date_text(b.effective_to),
            )
            for table_id, bindings in sorted(catalog.destination_rates.items())
            for b in bindings
        ),
        "rating_plans": (
            (plan_id, e.destination_rates_id, e.timing_id, e.weight)
            for plan_id, plan in sorted(catalog.rating_plans.items())
            for e in plan.entries
        ),
        "rating_profiles": (
            (
                p.tenant,
                p.category,
                p.subject,
                _instant_text(p.activation),
                p.rating_plan_id,
                ";".join(p.fallback_subjects),
            )
            for p in catalog.profiles
        ),
        "offers": (
            (
                o.offer_id,
                o.name,
                o.kind,
                o.service_type,
                _money_text(o.monthly_fee_micros),
                o.subject,
                _date_text(o.effective_from),
                _date_text(o.effective_to),
            )
            for o in catalog.offers
        ),
        "allowances": (
            (
                o.offer_id,
                _date_text(o.effective_from),
                a.category,
                a.units,
                "true" if a.pooled else "false",
                a.rollover_cap,
                ";".join(sorted(g.value for g in a.destination_groups)),
                ";".join(sorted(a.destinations)),
            )
            for o in catalog.offers
            for a in o.allowances
        ),
        "aggregate_prices": (
            (
                o.offer_id,
                _date_text(o.effective_from),
                p.category,
                p.model.value,
                p.unit,
                p.package_size,
                p.free_units,
                number,
                "" if t.up_to is None else t.up_to,
                _money_text(t.price_micros),
                _money_text(t.flat_fee_micros),
            )
            for o in catalog.offers
            for p in o.aggregate_prices
            for number, t in enumerate(p.tiers, start=1)
        ),
        "exchange_rates": (
            (_date_text(x.effective), x.source, x.target, _ratio_text(x.target_per_source))
            for x in catalog.exchange_rates
        ),
    }
    for table, rows in tables.items():
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(TABLES[table])
        writer.writerows(rows)
        files[f"{table}.csv"] = buffer.getvalue().encode()
    return files


def _destination_rows(catalog: Catalog) -> Iterator[tuple[str, str, str, str]]:
    for destination_id, d in sorted(catalog.destinations.items()):
        for prefix in d.prefixes or ("",):
            yield destination_id, prefix, d.name, d.group.value


def _render_yaml(catalog: Catalog) -> str:
    """catalog.yaml by hand: stable across PyYAML versions, since its bytes are hashed."""
    calendar = catalog.holidays
    lines = [
        f"format: {FORMAT}",
        f"version: {_yaml_text(catalog.version.split('+', 1)[0])}",
        f"currency: {_yaml_text(catalog.currency)}",
        "holidays:",
        f"  country: {_yaml_text(calendar.country)}",
        f"  subdivision: {_yaml_text(calendar.subdivision)}",
        f"  extra: {_yaml_list(_date_text(d) for d in sorted(calendar.extra))}",
        f"  removed: {_yaml_list(_date_text(d) for d in sorted(calendar.removed))}",
    ]
    timings = {k: t for k, t in sorted(catalog.timings.items()) if k != ANY}
    if catalog.timings.get(ANY, ALWAYS) != ALWAYS:
        raise ValueError(f"timing {ANY} is built in (always) and cannot be redefined")
    if catalog.roaming_zones:
        lines.append("roaming_zones:")
        for zone, networks in sorted(catalog.roaming_zones.items()):
            lines.append(f"  {_yaml_text(zone)}: {_yaml_list(sorted(networks))}")
    lines.append("timings:" if timings else "timings: {}")
    for timing_id, t in timings.items():
        fields = {
            "years": _yaml_list(sorted(t.years)) if t.years else None,
            "months": _yaml_list(sorted(t.months)) if t.months else None,
            "month_days": _yaml_list(sorted(t.month_days)) if t.month_days else None,
            "week_days": _yaml_list(sorted(t.week_days)) if t.week_days else None,
            "start": _yaml_text(_clock_text(t.start_second)) if t.start_second else None,
            "end": (
                _yaml_text(_clock_text(t.end_second)) if t.end_second != SECONDS_PER_DAY else None
            ),
            "holidays": t.holidays.value if t.holidays is not HolidayRule.ANY else None,
        }
        shown = [f"    {key}: {value}" for key, value in fields.items() if value is not None]
        lines.append(f"  {_yaml_text(timing_id)}:" + ("" if shown else " {}"))
        lines.extend(shown)
    return "\n".join(lines) + "\n"


def _yaml_text(value: str | None) -> str:
    if value is None:
        return "null"
    if _BARE_YAML.fullmatch(value) and value.lower() not in {"true", "false", "null"}:
        return value
    return json.dumps(value, ensure_ascii=False)  # a JSON string is a YAML double-quoted one


def _yaml_list(values: Iterable[int | str]) -> str:
    return "[" + ", ".join(str(v) if isinstance(v, int) else _yaml_text(v) for v in values) + "]"


@cache  # amounts repeat across a deck's rows
def _money_text(micros: int) -> str:
    sign = "-" if micros < 0 else ""
    whole, fraction = divmod(abs(micros), MICROS)
    return sign + f"{whole}.{fraction:06d}".rstrip("0").rstrip(".")


def _ratio_text(value: Fraction) -> str:
    """Exact decimal when the fraction has one, else numerator/denominator."""
    denominator, twos, fives = value.denominator, 0, 0
    while denominator % 2 == 0:
        denominator, twos = denominator // 2, twos + 1
    while denominator % 5 == 0:
        denominator, fives = denominator // 5, fives + 1
    if denominator != 1:
        return f"{value.numerator}/{value.denominator}"
    places = max(twos, fives)
    whole, fraction = divmod(value.numerator * 10**places // value.denominator, 10**places)
    return f"{whole}.{fraction:0{places}d}" if places else str(whole)


def _date_text(day: date | None) -> str:
    return "" if day is None else day.isoformat()


def _instant_text(moment: datetime) -> str:
    utc = moment.astimezone(UTC) if moment.tzinfo else moment
    return utc.replace(tzinfo=None).isoformat() + "Z"


def _clock_text(seconds: int) -> str:
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours:02d}:{minutes:02d}" + (f":{secs:02d}" if secs else "")
