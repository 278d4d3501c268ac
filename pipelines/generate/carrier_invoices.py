"""Carrier invoices: what each interconnect carrier bills us for a month, written as that
carrier would, with injected discrepancies and their ground truth.

A carrier bills every answered call it carried for us (one that left our network on one of
its outgoing trunk groups), once, whatever our switch files made of it: written twice,
replayed, in a file that was lost or truncated, unreadable, or in a feed that names no
trunk group. It rates each call with its own deck (``carrier_rating``), on the local date
and time its trunk was seized, and bills per CDR batch: a traffic date's four 6-hour local
windows. Calls its deck has no row for are not on its invoice.

Beside the carriers' view the generator keeps ours: the same calls as the operator's
interconnect legs will hold them, rated by the same rules. The two differ, before anything
is injected, only where the operator lacks a call's record or trunk group (or dates a
failover retry at its first leg): those cells are recorded as they are. Discrepancies are
then injected, from their own random stream, on other cells, one per (carrier,
destination_code, traffic_date), and everything lands in
``data/manifest/carrier_invoices.json`` with the difference each makes (docs/generator.md,
"Carrier invoices").
"""

from __future__ import annotations

import calendar
import csv
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import numpy as np

from pipelines.config import Layout
from pipelines.generate.anomalies import MALFORMED_PREFIX, Truncation
from pipelines.generate.carrier_rating import (
    MICRO_DECIMALS,
    CarrierRater,
    DeckRate,
    Row,
    round_micros,
)
from pipelines.generate.catalog import (
    ASTERISK_SWITCH,
    DESTINATIONS,
    FREESWITCH_SWITCH,
    MOBILE_SWITCH,
    OPENSIPS_SWITCH,
    REPRICED_DAY,
    REPRICED_PREFIX,
)
from pipelines.generate.landing import LandingFile, mobile_record_key
from pipelines.generate.traffic import VOICE_BY_HOUR, AsteriskCall, MobileSession
from pipelines.generate.voip_writers import is_outbound

#: Decimals each carrier writes amounts with. Where they are fewer than its agreement's
#: per-call decimals (CR-LEC, CR-MOB) each line's amount is rounded to them the agreement's
#: way; a carrier not listed writes its agreement's decimals.
INVOICE_DECIMALS = {"CR-LEC": 2, "CR-MOB": 2, "CR-INTL": 4, "CR-SAT": 2}
#: Billed minutes: seconds / 60 rounded half up to 4 decimals, so round(minutes * 60) gives
#: back the seconds exactly (the error is below 0.003 s).
MINUTE_DECIMALS = 4
RATE_DECIMALS = 6  # a price per minute in micro-units is exact with 6
BATCH_HOURS = 6
BATCH_COUNT = 24 // BATCH_HOURS
INVOICE_DATE_DAYS = 5  # days after the period's last day
INVOICE_COLUMNS = (
    "record_type", "invoice_number", "carrier_id", "billing_period", "invoice_date",
    "currency", "traffic_date", "destination_code", "destination_name", "batch_id", "calls",
    "minutes", "rate", "amount",
)  # fmt: skip
#: Switches whose records name no trunk group, so the operator derives no leg from them
#: (docs/formats/freeswitch_cdr_csv.md, docs/formats/opensips_flatstore.md).
NO_TRUNK_SWITCHES = frozenset({FREESWITCH_SWITCH, OPENSIPS_SWITCH})

# Why the operator has no leg of a call its carrier bills.
LOST_FILE = "lost_file"
TRUNCATED_FILE = "truncated_file"
MALFORMED_RECORD = "malformed_record"
NO_TRUNK_GROUP = "no_trunk_group_in_record"
RECORD_LOST = (LOST_FILE, TRUNCATED_FILE, MALFORMED_RECORD)

# Discrepancy types, with the class and cause reconciliation should find for each.
ROUNDING = "rounding"
MISSING_DAY = "missing_day"
EXTRA_DAY = "extra_day"
RATE_MISMATCH = "rate_mismatch"
DUPLICATE_BATCH = "duplicate_batch"
TIMING = "timing"
RECORDS_MISSING = "records_missing_at_operator"
TRUNK_GROUP_MISSING = "trunk_group_missing_at_operator"
RETRY_NEXT_DAY = "retry_started_next_day"
EXPECTED = {
    ROUNDING: ("rounding", "invoice_rounding"),
    MISSING_DAY: ("volume", "missing_traffic"),
    EXTRA_DAY: ("volume", "extra_traffic"),
    RATE_MISMATCH: ("rate", "rate_mismatch"),
    DUPLICATE_BATCH: ("volume", "duplicate_batch"),
    TIMING: ("timing", "traffic_date_shift"),
    RECORDS_MISSING: ("volume", "unmatched_carrier_traffic"),
    TRUNK_GROUP_MISSING: ("volume", "unattributed_traffic"),
    RETRY_NEXT_DAY: ("timing", "traffic_date_shift"),
}
DISPUTABLE_CLASSES = ("volume", "rate")
#: Causes never disputed: calls the operator's own records show it made, without a trunk
#: group to tell which carrier carried them.
UNDISPUTED_CAUSES = ("unattributed_traffic",)
#: Injected discrepancies of each type per month (fewer when a small operator has too few
#: cells that fit).
PER_TYPE = 2
#: Disputed injections exceed the carrier's tolerance by this factor, so line rounding
#: never pulls one back under it.
DISPUTE_MARGIN = 1.25
EXTRA_DAY_MAX_CALLS = 40
RATE_STEPS = 20  # a wrong price is the deck's plus 10%, 20%, ... up to 3x

Cell = tuple[str, str, date]  # carrier_id, destination_code, traffic_date


@dataclass(frozen=True)
class CarriedCall:
    """An answered call a carrier carried for us, as it saw it, and whether we have a leg."""

    carrier_id: str
    number: str  # E.164 digits (a short code as dialled)
    started_at: int  # epoch second the carrier's trunk was seized
    duration_seconds: int  # answer to release
    operator_started_at: int  # where the operator's record starts it (a retry: its first leg)
    missing: str | None = None  # why the operator has no leg of it


@dataclass(frozen=True)
class BilledCall:
    """One call as billed: its invoice cell, batch and price."""

    carrier_id: str
    traffic_date: date
    batch: int  # 1..4: the 6-hour local window of the traffic date
    rate: DeckRate
    duration_seconds: int
    billable_seconds: int
    amount_micros: int

    @property
    def cell(self) -> Cell:
        return self.carrier_id, self.rate.prefix, self.traffic_date


@dataclass(frozen=True)
class Totals:
    calls: int = 0
    billable_seconds: int = 0
    amount_micros: int = 0

    def __add__(self, other: Totals) -> Totals:
        return Totals(
            self.calls + other.calls,
            self.billable_seconds + other.billable_seconds,
            self.amount_micros + other.amount_micros,
        )


@dataclass(frozen=True)
class Line:
    """A detail row: the calls of one traffic date, destination, batch and price."""

    carrier_id: str
    traffic_date: date
    prefix: str
    batch: int
    price_micros: int
    destination_name: str
    calls: int
    billable_seconds: int
    exact_micros: int  # the sum of the calls' amounts
    amount_micros: int  # as written

    @property
    def cell(self) -> Cell:
        return self.carrier_id, self.prefix, self.traffic_date

    @property
    def batch_id(self) -> str:
        return batch_id(self.carrier_id, self.traffic_date, self.batch)


@dataclass
class Discrepancy:
    type: str
    cell: Cell
    detail: str
    batch_id: str | None = None
    paired_traffic_date: date | None = None
    calls_without_leg: dict[str, int] | None = None


def batch_id(carrier_id: str, day: date, batch: int) -> str:
    return f"{carrier_id}-{day:%Y%m%d}-{batch}"


def _e164(dialled: str) -> str:
    """A number as our subscriber dialled it on a fixed line, in E.164 digits."""
    if dialled.startswith("011"):
        return dialled[3:]
    if len(dialled) == 10:
        return "1" + dialled
    return dialled


def unread_records(
    files: Iterable[LandingFile], lost: LandingFile, truncation: Truncation
) -> dict[tuple[str, str], str]:
    """(switch_id, record_key) of the records the operator never reads, and why: in the
    lost file, cut off by the truncation (the cut record included), or malformed. A record
    with another readable copy (a duplicate, a replay) is read."""
    read: set[tuple[str, str]] = set()
    unread: dict[tuple[str, str], str] = {}
    cut = truncation.landing_file
    for f in files:
        for number, entry in enumerate(f.entries, start=1):
            key = (f.switch_id, entry.record_key)
            if f is lost:
                unread[key] = LOST_FILE
            elif f is cut and number >= truncation.truncated_record_number:
                unread[key] = TRUNCATED_FILE
            elif entry.anomaly is not None and entry.anomaly.startswith(MALFORMED_PREFIX):
                unread[key] = MALFORMED_RECORD
            else:
                read.add(key)
    return {key: reason for key, reason in unread.items() if key not in read}


def carried_calls(
    asterisk: Sequence[AsteriskCall],
    voip: Mapping[str, Sequence[AsteriskCall]],
    sessions: Sequence[MobileSession],
    trunk_groups: Iterable[Row],
    unread: Mapping[tuple[str, str], str],
) -> list[CarriedCall]:
    """Every answered call that left on an outgoing trunk group, once: the Asterisk
    switch's (numbered, failover retries and injected calls included), the other fixed
    switches' (``voip``: switch -> calls) and the MSC's MO calls (numbered sessions).
    Only the answered leg of a retried call was carried: the congested one never was."""
    carriers = {
        str(row["trunk_group"]): str(row["carrier_id"])
        for row in trunk_groups
        if row["direction"] in ("outgoing", "both")
    }
    carried = []

    def fixed(call: AsteriskCall, missing: str | None) -> None:
        carrier = carriers.get(call.dstchannel_endpoint)
        if carrier is None or call.answer is None or not is_outbound(call):
            return
        carried.append(
            CarriedCall(
                carrier,
                _e164(call.dst),
                call.start,
                call.end - call.answer,
                call.channel_created,
                missing,
            )
        )

    for call in asterisk:
        fixed(call, unread.get((ASTERISK_SWITCH, call.record_key)))
    for switch_id in sorted(voip):
        for call in voip[switch_id]:
            fixed(call, NO_TRUNK_GROUP if switch_id in NO_TRUNK_SWITCHES else None)
    for session in sessions:
        for cdr in session.cdrs:
            carrier = carriers.get(cdr.outgoing_trunk_group or "")
            if cdr.record_type != "voice_mo" or carrier is None or cdr.answered_at is None:
                continue
            start = int(cdr.started_at.timestamp())
            carried.append(
                CarriedCall(
                    carrier,
                    str(cdr.other_party_number),
                    start,
                    int((cdr.ended_at - cdr.answered_at).total_seconds()),
                    start,
                    unread.get((MOBILE_SWITCH, mobile_record_key(cdr))),
                )
            )
    return carried


class MonthInvoices:
    """The carriers' invoices of one month under construction, and ours beside them."""

    def __init__(
        self,
        rater: CarrierRater,
        calls: Iterable[CarriedCall],
        days: Sequence[date],
        tz: ZoneInfo,
    ) -> None:
        self.rater = rater
        self.days = list(days)
        self.tz = tz
        self.theirs: list[BilledCall] = []
        self.ours: dict[Cell, Totals] = {}
        self.reasons: dict[Cell, dict[str, int]] = {}
        for call in calls:
            billed = self._bill(call, call.started_at)
            if billed is None:
                continue
            self.theirs.append(billed)
            if call.missing is not None:
                self._note(billed.cell, call.missing)
                continue
            ours = self._bill(call, call.operator_started_at)
            assert ours is not None  # one number, one deck: both or neither rate it
            self.ours[ours.cell] = self.ours.get(ours.cell, Totals()) + _totals(ours)
            if ours.cell != billed.cell:
                self._note(billed.cell, RETRY_NEXT_DAY)
                self._note(ours.cell, RETRY_NEXT_DAY)
        self.our_destination_amounts: dict[tuple[str, str], int] = {}
        for (carrier, prefix, _), totals in self.ours.items():
            key = (carrier, prefix)
            self.our_destination_amounts[key] = (
                self.our_destination_amounts.get(key, 0) + totals.amount_micros
            )
        self.discrepancies: list[Discrepancy] = []
        self.used: set[Cell] = set(self.reasons)
        self.rounded: dict[tuple[str, date, str, int, int], int] = {}  # line key -> amount
        self.repeated: set[tuple[str, str, str]] = set()  # carrier, prefix, batch_id
        self._record_unavoidable()

    def _bill(self, call: CarriedCall, started_at: int) -> BilledCall | None:
        local = datetime.fromtimestamp(started_at, self.tz)
        rating = self.rater.rate(call.carrier_id, call.number, local.date(), call.duration_seconds)
        if rating is None:
            return None
        return BilledCall(
            call.carrier_id,
            local.date(),
            local.hour // BATCH_HOURS + 1,
            rating.rate,
            call.duration_seconds,
            rating.billable_seconds,
            rating.amount_micros,
        )

    def _note(self, cell: Cell, reason: str) -> None:
        counts = self.reasons.setdefault(cell, {})
        counts[reason] = counts.get(reason, 0) + 1

    def _record_unavoidable(self) -> None:
        """The cells where the carrier's calls and our legs differ before any injection."""
        theirs = self.their_totals()
        for cell in sorted(set(theirs) | set(self.ours)):
            differ = theirs.get(cell, Totals()) != self.ours.get(cell, Totals())
            if differ and cell not in self.reasons:
                raise AssertionError(f"carrier and operator views differ on {cell}, no reason")
        for cell in sorted(self.reasons):
            reasons = self.reasons[cell]
            without_leg = {r: n for r, n in sorted(reasons.items()) if r != RETRY_NEXT_DAY}
            if any(reason in reasons for reason in RECORD_LOST):
                kind, why = RECORDS_MISSING, "records the operator never read"
            elif NO_TRUNK_GROUP in reasons:
                kind, why = TRUNK_GROUP_MISSING, "records that name no trunk group"
            else:
                kind, why = RETRY_NEXT_DAY, "failover retries dated by their first leg"
            counts = ", ".join(f"{n} {reason}" for reason, n in sorted(reasons.items()))
            self.discrepancies.append(
                Discrepancy(
                    kind,
                    cell,
                    f"calls the operator has no leg of on this day, from {why} ({counts})",
                    calls_without_leg=without_leg or None,
                )
            )

    # --- views ----------------------------------------------------------------------------

    def their_totals(self) -> dict[Cell, Totals]:
        totals: dict[Cell, Totals] = {}
        for call in self.theirs:
            totals[call.cell] = totals.get(call.cell, Totals()) + _totals(call)
        return totals

    def lines(self) -> list[Line]:
        """The detail rows as billed: calls grouped per traffic date, destination, batch
        and price; amounts rounded to the invoice's decimals, then the injected rounding
        and repeated batches applied. In file order, a repeated row after its original."""
        groups: dict[tuple[str, date, str, int, int], list[BilledCall]] = {}
        for call in self.theirs:
            key = (call.carrier_id, call.traffic_date, call.rate.prefix, call.batch,
                   call.rate.price_micros)  # fmt: skip
            groups.setdefault(key, []).append(call)
        lines = []
        for key in sorted(groups):
            calls = groups[key]
            exact = sum(call.amount_micros for call in calls)
            line = Line(
                *key,
                destination_name=calls[0].rate.destination_name,
                calls=len(calls),
                billable_seconds=sum(call.billable_seconds for call in calls),
                exact_micros=exact,
                amount_micros=self.rounded.get(key, self.line_amount(key[0], exact)),
            )
            lines.append(line)
            if (line.carrier_id, line.prefix, line.batch_id) in self.repeated:
                lines.append(line)
        return lines

    def line_amount(self, carrier_id: str, exact_micros: int, method: str | None = None) -> int:
        """A line's amount in the invoice's decimals, rounded the agreement's way (or
        ``method``)."""
        agreement = self.rater.agreements[carrier_id]
        return round_micros(
            exact_micros, 1, invoice_decimals(agreement.carrier_id, agreement.rounding_decimals),
            method or agreement.rounding_method,
        )  # fmt: skip

    def writes_exact_amounts(self, carrier_id: str) -> bool:
        """The carrier's invoice has every decimal of its calls' amounts: no line rounding."""
        agreement = self.rater.agreements[carrier_id]
        decimals = invoice_decimals(carrier_id, agreement.rounding_decimals)
        return decimals >= agreement.rounding_decimals

    def sizing_tolerance(self, carrier_id: str, prefix: str) -> int:
        """The tolerance a disputed injection must exceed: the carrier's on our amount of
        the whole month for the destination (above its tolerance on any part of it), with
        a margin."""
        ours = self.our_destination_amounts.get((carrier_id, prefix), 0)
        return int(self.rater.agreements[carrier_id].tolerance(ours) * DISPUTE_MARGIN)

    def clean_cells(self) -> list[Cell]:
        """Cells with billed traffic, nothing recorded or injected on them yet, in order."""
        return sorted(
            cell
            for cell, totals in self.their_totals().items()
            if cell not in self.used and totals.amount_micros > 0
        )

    def calls_by_cell(self) -> dict[Cell, list[BilledCall]]:
        cells: dict[Cell, list[BilledCall]] = {}
        for call in self.theirs:
            cells.setdefault(call.cell, []).append(call)
        return cells

    def add(self, discrepancy: Discrepancy, *cells: Cell) -> None:
        self.discrepancies.append(discrepancy)
        self.used.update(cells or (discrepancy.cell,))

    def rerate(self, cell: Cell, rate: DeckRate) -> None:
        """Bill every call of ``cell`` with ``rate`` instead of the deck's."""
        self.theirs = [
            _priced(self.rater, call, rate) if call.cell == cell else call for call in self.theirs
        ]


def invoice_decimals(carrier_id: str, agreement_decimals: int) -> int:
    return INVOICE_DECIMALS.get(carrier_id, agreement_decimals)


def _totals(call: BilledCall) -> Totals:
    return Totals(1, call.billable_seconds, call.amount_micros)


def _priced(rater: CarrierRater, call: BilledCall, rate: DeckRate) -> BilledCall:
    """``call`` billed with ``rate``."""
    rating = rater.rate_with(rate, rate.prefix, call.duration_seconds)
    return replace(
        call,
        rate=rate,
        billable_seconds=rating.billable_seconds,
        amount_micros=rating.amount_micros,
    )


def _ceil_div(numerator: int, denominator: int) -> int:
    return -(-numerator // denominator)


def _pick(rng: np.random.Generator, candidates: Sequence[Cell]) -> Cell | None:
    return candidates[int(rng.integers(len(candidates)))] if candidates else None


# --- injected discrepancies ------------------------------------------------------------------


def ignore_rate_change(month: MonthInvoices) -> None:
    """The carrier of the repriced prefix ignores its mid-month price change: it bills every
    day from the change on at the old price. Days already recorded (the operator lacks some
    of their calls) are billed right, so no cell carries two differences."""
    repriced = next((day for day in month.days if day.day == REPRICED_DAY), None)
    if repriced is None:
        return
    carrier = next(d.carrier_id for d in DESTINATIONS if d.prefix == REPRICED_PREFIX)
    new = month.rater.deck_rate(carrier, REPRICED_PREFIX, repriced)
    old = month.rater.deck_rate(carrier, REPRICED_PREFIX, repriced - timedelta(days=1))
    if new is None or old is None or new.price_micros == old.price_micros:
        return
    billed = month.their_totals()
    for day in month.days:
        cell = (carrier, REPRICED_PREFIX, day)
        if day < repriced or cell in month.used or cell not in billed:
            continue
        month.rerate(cell, old)
        month.add(
            Discrepancy(
                RATE_MISMATCH,
                cell,
                f"billed at the price before the change of {repriced.isoformat()} "
                f"({old.price_micros} micros/min instead of {new.price_micros})",
            )
        )


def wrong_rate(month: MonthInvoices, rng: np.random.Generator) -> None:
    """A day of a destination billed at a higher price than the deck's."""
    taken = {d.cell[:2] for d in month.discrepancies if d.type == RATE_MISMATCH}
    billed = month.their_totals()
    candidates = [
        cell
        for cell in month.clean_cells()
        if cell[:2] not in taken
        and 2 * billed[cell].amount_micros > month.sizing_tolerance(*cell[:2])
    ]
    chosen = _pick(rng, candidates)
    if chosen is None:
        return
    cell = chosen
    calls = month.calls_by_cell()[cell]
    rate = calls[0].rate
    ours = sum(call.amount_micros for call in calls)
    for step in range(1, RATE_STEPS + 1):
        # The deck's price plus step tenths, up to a tenth of a cent a minute.
        price = _ceil_div(rate.price_micros * (10 + step), 10 * 1000) * 1000
        wrong = replace(rate, price_micros=price)
        wrongly = sum(_priced(month.rater, call, wrong).amount_micros for call in calls)
        if wrongly - ours > month.sizing_tolerance(*cell[:2]):
            month.rerate(cell, wrong)
            month.add(
                Discrepancy(
                    RATE_MISMATCH,
                    cell,
                    f"billed at {price} micros/min, the deck says {rate.price_micros}",
                )
            )
            return


def duplicate_batch(month: MonthInvoices, rng: np.random.Generator) -> None:
    """One batch's rows of a destination billed twice."""
    taken = {d.cell[:2] for d in month.discrepancies if d.type == DUPLICATE_BATCH}
    lines = month.lines()
    batches: dict[Cell, dict[str, int]] = {}
    for line in lines:
        amounts = batches.setdefault(line.cell, {})
        amounts[line.batch_id] = amounts.get(line.batch_id, 0) + line.amount_micros
    eligible = {
        cell: sorted(b for b, amount in batches[cell].items()
                     if amount > month.sizing_tolerance(*cell[:2]))
        for cell in month.clean_cells()
        if cell[:2] not in taken
    }  # fmt: skip
    chosen = _pick(rng, [cell for cell, found in eligible.items() if found])
    if chosen is None:
        return
    cell = chosen
    found = eligible[cell]
    batch = found[int(rng.integers(len(found)))]
    month.repeated.add((cell[0], cell[1], batch))
    month.add(
        Discrepancy(DUPLICATE_BATCH, cell, f"the rows of batch {batch} are billed twice", batch)
    )


def extra_day(month: MonthInvoices, rng: np.random.Generator) -> None:
    """A day of a destination billed with calls we never sent the carrier that day."""
    taken = {d.cell[:2] for d in month.discrepancies if d.type == EXTRA_DAY}
    billed = month.their_totals()
    destinations = sorted({cell[:2] for cell in billed if billed[cell].amount_micros > 0})
    candidates = []
    for carrier, prefix in destinations:
        if (carrier, prefix) in taken:
            continue
        tolerance = month.sizing_tolerance(carrier, prefix)
        for day in month.days:
            cell = (carrier, prefix, day)
            rate = month.rater.deck_rate(carrier, prefix, day)
            if (
                cell not in billed
                and cell not in month.used
                and cell not in month.ours
                and rate is not None
                # an hour of calls is enough to pass the tolerance: a plausible day
                and rate.price_micros * 60 > tolerance
            ):
                candidates.append(cell)
    chosen = _pick(rng, candidates)
    if chosen is None:
        return
    carrier, prefix, day = cell = chosen
    rate = month.rater.deck_rate(carrier, prefix, day)
    assert rate is not None
    hours = VOICE_BY_HOUR / VOICE_BY_HOUR.sum()
    calls: list[BilledCall] = []
    while len(calls) < EXTRA_DAY_MAX_CALLS and (
        len(calls) < 2
        or sum(c.amount_micros for c in calls) <= month.sizing_tolerance(carrier, prefix)
    ):
        hour = int(rng.choice(24, p=hours))
        duration = int(rng.integers(60, 601))
        unpriced = BilledCall(carrier, day, hour // BATCH_HOURS + 1, rate, duration, 0, 0)
        calls.append(_priced(month.rater, unpriced, rate))
    month.theirs.extend(calls)
    month.add(
        Discrepancy(EXTRA_DAY, cell, f"{len(calls)} calls billed on a day we sent none there")
    )


def missing_day(month: MonthInvoices, rng: np.random.Generator) -> None:
    """A day of a destination left off the invoice."""
    taken = {d.cell[:2] for d in month.discrepancies if d.type == MISSING_DAY}
    chosen = _pick(rng, [cell for cell in month.clean_cells() if cell[:2] not in taken])
    if chosen is None:
        return
    cell = chosen
    count = len(month.calls_by_cell()[cell])
    month.theirs = [call for call in month.theirs if call.cell != cell]
    month.add(Discrepancy(MISSING_DAY, cell, f"the day's {count} calls are not billed"))


def shift_late_calls(month: MonthInvoices, rng: np.random.Generator) -> None:
    """The calls of a day's last batch billed on the next day, in its first batch. Only on
    an invoice that writes the calls' amounts exactly, so the pair of days nets to zero
    (where lines are rounded, moving calls between lines moves the rounding too)."""
    taken = {d.cell[:2] for d in month.discrepancies if d.type == TIMING}
    by_cell = month.calls_by_cell()
    candidates = []
    for cell in month.clean_cells():
        carrier, prefix, day = cell
        following = (carrier, prefix, day + timedelta(days=1))
        if (
            cell[:2] not in taken
            and month.writes_exact_amounts(carrier)
            and following[2] in month.days
            and following not in month.used
            and month.rater.deck_rate(carrier, prefix, day)
            == month.rater.deck_rate(carrier, prefix, following[2])
            and any(call.batch == BATCH_COUNT for call in by_cell[cell])
        ):
            candidates.append(cell)
    chosen = _pick(rng, candidates)
    if chosen is None:
        return
    carrier, prefix, day = cell = chosen
    nextday = day + timedelta(days=1)
    moved = [call for call in by_cell[cell] if call.batch == BATCH_COUNT]
    month.theirs = [
        replace(call, traffic_date=nextday, batch=1)
        if call.cell == cell and call.batch == BATCH_COUNT
        else call
        for call in month.theirs
    ]
    detail = (
        f"{len(moved)} calls after {(BATCH_COUNT - 1) * BATCH_HOURS}:00 on {day.isoformat()} "
        f"billed on {nextday.isoformat()}"
    )
    month.add(Discrepancy(TIMING, cell, detail, paired_traffic_date=nextday))
    month.add(Discrepancy(TIMING, (carrier, prefix, nextday), detail, paired_traffic_date=day))


def misround_line(month: MonthInvoices, rng: np.random.Generator) -> None:
    """One line's amount rounded to the invoice's decimals the wrong way: up where the
    agreement rounds it down, down where it rounds it up."""
    candidates = []
    by_cell: dict[Cell, list[Line]] = {}
    for line in month.lines():
        by_cell.setdefault(line.cell, []).append(line)
    for cell in month.clean_cells():
        lines = [line for line in by_cell[cell] if _misrounded(month, line) != line.amount_micros]
        if lines:
            candidates.append(cell)
    chosen = _pick(rng, candidates)
    if chosen is None:
        return
    cell = chosen
    lines = [line for line in by_cell[cell] if _misrounded(month, line) != line.amount_micros]
    line = lines[int(rng.integers(len(lines)))]
    key = (line.carrier_id, line.traffic_date, line.prefix, line.batch, line.price_micros)
    month.rounded[key] = _misrounded(month, line)
    month.add(
        Discrepancy(
            ROUNDING,
            cell,
            f"batch {line.batch_id} rounded to the invoice's decimals against the agreement",
        )
    )


def _misrounded(month: MonthInvoices, line: Line) -> int:
    """The line's amount rounded the other way: where the agreement rounds the line up,
    down; else up."""
    method = "down" if line.amount_micros > line.exact_micros else "up"
    return month.line_amount(line.carrier_id, line.exact_micros, method)


#: The injections, in the order they draw: one added at the end moves none of the others.
INJECTIONS: tuple[Callable[[MonthInvoices, np.random.Generator], None], ...] = (
    wrong_rate,
    duplicate_batch,
    extra_day,
    missing_day,
    shift_late_calls,
    misround_line,
)


def inject_discrepancies(month: MonthInvoices, rng: np.random.Generator) -> None:
    """The late rate change first (it draws nothing), then ``PER_TYPE`` of each type."""
    ignore_rate_change(month)
    for inject in INJECTIONS:
        for _ in range(PER_TYPE):
            inject(month, rng)


# --- files -----------------------------------------------------------------------------------


def _units(micros: int, decimals: int) -> str:
    """Micro-units as decimal text with ``decimals`` decimals (exact: callers round first)."""
    quantum = Decimal(1).scaleb(-decimals)
    return format(Decimal(micros).scaleb(-MICRO_DECIMALS).quantize(quantum), "f")


def minutes_text(seconds: int) -> str:
    """Billed minutes: ``seconds`` / 60, half up to ``MINUTE_DECIMALS`` decimals."""
    return _units(round_micros(seconds * 10**MICRO_DECIMALS, 60, MINUTE_DECIMALS, "half_up"),
                  MINUTE_DECIMALS)  # fmt: skip


def invoice_number(carrier_id: str, period: str) -> str:
    return f"INV-{carrier_id}-{period.replace('-', '')}"


def invoice_rows(
    carrier_id: str, lines: Sequence[Line], period: str, issued: date, currency: str, decimals: int
) -> list[list[str]]:
    """A carrier's invoice: its detail rows, a summary per destination, the total."""
    head = [invoice_number(carrier_id, period), carrier_id, period, issued.isoformat(), currency]
    rows = [
        ["detail", *head, line.traffic_date.isoformat(), line.prefix, line.destination_name,
         line.batch_id, str(line.calls), minutes_text(line.billable_seconds),
         _units(line.price_micros, RATE_DECIMALS), _units(line.amount_micros, decimals)]
        for line in lines
    ]  # fmt: skip
    summaries: dict[str, tuple[str, Totals]] = {}
    for line in lines:
        name, totals = summaries.get(line.prefix, (line.destination_name, Totals()))
        summaries[line.prefix] = (
            name,
            totals + Totals(line.calls, line.billable_seconds, line.amount_micros),
        )
    total = Totals()
    for prefix in sorted(summaries):
        name, totals = summaries[prefix]
        total += totals
        rows.append(
            ["summary", *head, "", prefix, name, "", str(totals.calls),
             minutes_text(totals.billable_seconds), "", _units(totals.amount_micros, decimals)]
        )  # fmt: skip
    rows.append(
        ["total", *head, "", "", "", "", str(total.calls), minutes_text(total.billable_seconds),
         "", _units(total.amount_micros, decimals)]
    )  # fmt: skip
    return rows


def write_carrier_invoices(
    layout: Layout,
    rng: np.random.Generator,
    *,
    period: str,
    days: Sequence[date],
    reference: Mapping[str, Sequence[Row]],
    calls: Iterable[CarriedCall],
    tz: ZoneInfo,
) -> dict[str, int]:
    """Write every carrier's invoice of ``period`` and the manifest of its discrepancies
    (``reference``: the reference rows by file name); returns the count per type."""
    rater = CarrierRater(
        reference["carriers.csv"], reference["interconnect_rates.csv"],
        reference["ported_numbers.csv"],
    )  # fmt: skip
    month = MonthInvoices(rater, calls, days, tz)
    inject_discrepancies(month, rng)
    lines = month.lines()
    first = date.fromisoformat(f"{period}-01")
    last = first.replace(day=calendar.monthrange(first.year, first.month)[1])
    issued = last + timedelta(days=INVOICE_DATE_DAYS)
    by_carrier: dict[str, list[Line]] = {}
    for line in lines:
        by_carrier.setdefault(line.carrier_id, []).append(line)
    invoices = []
    for carrier_id in sorted(by_carrier):
        agreement = rater.agreements[carrier_id]
        decimals = invoice_decimals(carrier_id, agreement.rounding_decimals)
        rows = invoice_rows(carrier_id, by_carrier[carrier_id], period, issued,
                            agreement.currency, decimals)  # fmt: skip
        path = layout.carrier_invoices / carrier_id / f"{carrier_id}_{period}.csv"
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("w", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle, lineterminator="\n")
            writer.writerow(INVOICE_COLUMNS)
            writer.writerows(rows)
        invoices.append(
            {
                "carrier_id": carrier_id,
                "file_name": f"{carrier_id}/{path.name}",
                "invoice_number": invoice_number(carrier_id, period),
                "currency": agreement.currency,
                "amount_decimals": decimals,
                "detail_rows": len(by_carrier[carrier_id]),
                "amount_micros": sum(line.amount_micros for line in by_carrier[carrier_id]),
            }
        )
    entries = manifest_entries(month, lines, period)
    counts: dict[str, int] = {}
    for entry in entries:
        counts[str(entry["type"])] = counts.get(str(entry["type"]), 0) + 1
    manifest = {
        "billing_period": period,
        "minute_decimals": MINUTE_DECIMALS,
        "invoices": invoices,
        "counts": dict(sorted(counts.items())),
        "discrepancies": entries,
    }
    (layout.manifest / "carrier_invoices.json").write_text(
        json.dumps(manifest, indent=2) + "\n", encoding="utf-8"
    )
    return counts


def manifest_entries(
    month: MonthInvoices, lines: Sequence[Line], period: str
) -> list[dict[str, object]]:
    """The discrepancies with the difference each makes on its cell (their amount as
    written minus our exact amount) and whether reconciliation should dispute it: per
    carrier, destination and cause, the differences together beyond the tolerance on our
    amount of those days."""
    theirs: dict[Cell, int] = {}
    for line in lines:
        theirs[line.cell] = theirs.get(line.cell, 0) + line.amount_micros
    rows = []
    for d in month.discrepancies:
        ours = month.ours.get(d.cell, Totals()).amount_micros
        rows.append((d, ours, theirs.get(d.cell, 0)))
    groups: dict[tuple[str, str, str], list[tuple[int, int]]] = {}
    for d, ours, billed in rows:
        expected_class, cause = EXPECTED[d.type]
        if expected_class in DISPUTABLE_CLASSES and cause not in UNDISPUTED_CAUSES:
            groups.setdefault((d.cell[0], d.cell[1], cause), []).append((ours, billed))
    disputed = {
        key: sum(b - o for o, b in pairs)
        > month.rater.agreements[key[0]].tolerance(sum(o for o, _ in pairs))
        for key, pairs in groups.items()
    }
    entries = []
    for d, ours, billed in sorted(rows, key=lambda row: (row[0].cell, row[0].type)):
        expected_class, cause = EXPECTED[d.type]
        entry: dict[str, object] = {
            "carrier_id": d.cell[0],
            "billing_period": period,
            "type": d.type,
            "destination_code": d.cell[1],
            "traffic_date": d.cell[2].isoformat(),
        }
        if d.batch_id is not None:
            entry["batch_id"] = d.batch_id
        entry.update(
            {
                "expected_class": expected_class,
                "expected_cause": cause,
                "expected_dispute": disputed.get((d.cell[0], d.cell[1], cause), False),
                "difference_micros": billed - ours,
                "our_amount_micros": ours,
                "their_amount_micros": billed,
                "detail": d.detail,
            }
        )
        if d.paired_traffic_date is not None:
            entry["paired_traffic_date"] = d.paired_traffic_date.isoformat()
        if d.calls_without_leg:
            entry["calls_without_leg"] = d.calls_without_leg
        entries.append(entry)
    return entries
