"""CRM orders and billing references of a volume operator, drawn as columns.

Each table keeps the per-object generator's rules and shares (the constants of
``customers``, ``lifecycle_orders``, ``receivables``, ``billing_refs``, ``ports`` and
``leakage``), drawn for all rows at once: activation, retired-plan, cancellation and open
plan-change orders, then a suspension order per suspended line; the old system's open
invoices and the month's payments; handset installment agreements; number porting
requests; churn scores. The month's credits are ``adjustments.adjustment_rows``' own,
picked from the lines it would pick from.
"""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import polars as pl

from pipelines.billing.charges import CENT
from pipelines.billing.cycles import shift_month
from pipelines.billing.receivables import PAYMENT_METHODS
from pipelines.generate.adjustments import adjustment_rows
from pipelines.generate.billing_refs import (
    AGREEMENT_SHARE,
    DOWN_PAYMENTS,
    HANDSETS,
    INSTALLMENT_COUNTS,
)
from pipelines.generate.catalog import PLANS_BY_ID
from pipelines.generate.customers import (
    ACTIVATION_LEAD_DAYS,
    CANCELLATION_NOTICE_DAYS,
    CITIES,
    OPEN_PLAN_CHANGE,
    OPEN_PLAN_CHANGE_DAYS,
    OPEN_PLAN_CHANGE_SHARE,
    Account,
    CustomerBase,
    Subscriber,
)
from pipelines.generate.leakage import CHURN_THRESHOLD
from pipelines.generate.ports import (
    MAX_PORT_IN_LEAD_DAYS,
    OTHER_CARRIERS,
    PENDING_PORT_OUTS,
    PENDING_WINDOW_DAYS,
    PORT_IN_SHARE,
)
from pipelines.generate.receivables import (
    BEHAVIOUR_SHARES,
    BEHAVIOURS,
    METHOD_SHARES,
    NAMED_SHARE,
    OLDER_DEBT_SHARE,
    ROUND_UP_MICROS,
)
from pipelines.generate.volume.reference_columns import (
    EPOCH,
    NO_DATE,
    dates,
    day_number,
    id_width,
    identifiers,
    pick,
)
from pipelines.generate.volume.reference_customers import (
    ACTIVE,
    CANCELLED,
    CLASSES,
    MOBILE,
    PLAN_IDS,
    SERVICE_TYPES,
    STATUSES,
    SUSPENDED,
    Customers,
)

#: Order types, sorted: orders of one line on one day are listed in this order.
ORDER_TYPES = ("activation", "cancellation", "plan_change", "suspension")
ACTIVATION, CANCELLATION, PLAN_CHANGE, SUSPENSION = range(len(ORDER_TYPES))


def _uniform(rng: np.random.Generator, first: np.ndarray, last: np.ndarray) -> np.ndarray:
    """A day number from ``first`` to ``last`` (inclusive) per row."""
    return first + rng.integers(0, last - first + 1)


def _month_number(days: np.ndarray) -> np.ndarray:
    """Months since year 0 of day numbers (``billing_refs._month_number``)."""
    months = days.astype("datetime64[D]").astype("datetime64[M]").astype(np.int64)
    return months + EPOCH.year * 12


def crm_orders(
    rng: np.random.Generator, customers: Customers, month_start: date, month_end: date
) -> pl.DataFrame:
    """crm_orders.csv: an activation per line with its first plan, a completed plan change
    off the retired plan, a cancellation per cancelled line, open upgrades (sorted by
    ordered date, line, type and numbered), then a suspension order per suspended line
    (``lifecycle_orders``: after its activation and any plan change, in the month)."""
    n = customers.lines
    line = np.arange(n)
    end = day_number(month_end)
    lead = rng.integers(*ACTIVATION_LEAD_DAYS, size=n)
    activation_ordered = np.maximum(customers.activated - lead, customers.created[customers.owner])
    changed = customers.plan_changed != NO_DATE
    leaving = customers.cancelled != NO_DATE
    notice = rng.integers(*CANCELLATION_NOTICE_DAYS, size=n)
    upgrade = (
        ~leaving
        & (customers.status == ACTIVE)
        & (customers.plan == PLAN_IDS.index(OPEN_PLAN_CHANGE[0]))
        & (rng.random(n) < OPEN_PLAN_CHANGE_SHARE)
    )
    upgrade_ordered = end - rng.integers(*OPEN_PLAN_CHANGE_DAYS, size=n)
    parts = [
        (line, ACTIVATION, customers.initial_plan, activation_ordered, customers.activated),
        (line[changed], PLAN_CHANGE, customers.plan[changed], customers.plan_changed[changed],
         customers.plan_changed[changed]),
        (line[leaving], CANCELLATION, customers.plan[leaving],
         customers.cancelled[leaving] - notice[leaving], customers.cancelled[leaving]),
        (line[upgrade], PLAN_CHANGE, np.full(upgrade.sum(), PLAN_IDS.index(OPEN_PLAN_CHANGE[1])),
         upgrade_ordered[upgrade], np.full(upgrade.sum(), NO_DATE)),
    ]  # fmt: skip
    rows = [np.concatenate([np.broadcast_to(part[k], part[0].shape) for part in parts])
            for k in range(5)]  # fmt: skip
    order = np.lexsort((rows[1], rows[0], rows[3]))
    rows = [column[order] for column in rows]

    suspended = np.flatnonzero(customers.status == SUSPENDED)
    earliest = np.maximum.reduce(
        [
            np.full(len(suspended), day_number(month_start)),
            customers.activated[suspended],
            customers.plan_changed[suspended],
        ]
    )
    days = end - earliest
    offset = np.where(days > 0, rng.integers(1, np.maximum(days, 1) + 1), 0)
    on = earliest + offset
    rows = [
        np.concatenate([column, extra])
        for column, extra in zip(
            rows,
            (suspended, np.full(len(suspended), SUSPENSION), customers.plan[suspended], on, on),
            strict=True,
        )
    ]
    subject, kind, plan, ordered, completed = rows
    count = len(subject)
    subscriber_ids = customers.subscriber_ids
    return pl.DataFrame(
        {
            "order_id": identifiers("ORD", np.arange(1, count + 1), max(7, len(str(count)))),
            "account_id": customers.account_ids.gather(customers.owner[subject]),
            "subscriber_id": subscriber_ids.gather(subject),
            "order_type": pick(ORDER_TYPES, kind),
            "plan_id": pick(PLAN_IDS, plan),
            "ordered_date": dates(ordered, "ordered_date"),
            "completed_date": dates(completed, "completed_date"),
            "order_status": pl.Series(np.where(completed == NO_DATE, "open", "completed")),
        }
    )


def opening_balances(
    rng: np.random.Generator, customers: Customers, month: str, payment_terms_days: int
) -> pl.DataFrame:
    """opening_balances.csv (``receivables.opening_balance_rows``): this month's
    old-system invoice of every account created before the month, on its cycle day, and
    last month's too for about one in twenty that could owe it."""
    first = date.fromisoformat(f"{month}-01")
    eligible = np.flatnonzero(customers.created < day_number(first))
    cycle = customers.cycle_days()[eligible]
    issued = _cycle_dates(first, cycle, 0)
    previous = _cycle_dates(first, cycle, -1)
    amounts = rng.integers(2_500, 25_001, size=(len(eligible), 2)) * CENT
    could_owe = previous > customers.created[eligible]
    in_arrears = (rng.random(len(eligible)) < OLDER_DEBT_SHARE) & could_owe
    if len(eligible) >= 10 and not in_arrears.any() and could_owe.any():
        candidates = np.flatnonzero(could_owe)
        in_arrears[candidates[rng.integers(len(candidates))]] = True
    # Per account, the older invoice (if owed) before this month's.
    account = np.concatenate([eligible[in_arrears], eligible])
    invoice_day = np.concatenate([previous[in_arrears], issued])
    amount = np.concatenate([amounts[in_arrears, 1], amounts[:, 0]])
    order = np.lexsort((invoice_day, account))
    account, invoice_day, amount = account[order], invoice_day[order], amount[order]
    account_ids = customers.account_ids.gather(account)
    invoice_date = dates(invoice_day, "invoice_date")
    return pl.DataFrame(
        {
            "account_id": account_ids,
            "invoice_id": pl.select(
                "OLD-" + invoice_date.dt.strftime("%Y%m") + "-" + account_ids
            ).to_series(),
            "invoice_date": invoice_date,
            "due_date": dates(invoice_day + payment_terms_days, "due_date"),
            "amount_micros": amount,
        }
    )


def _cycle_dates(first: date, cycle_days: np.ndarray, months: int) -> np.ndarray:
    """Day numbers of each cycle day in the month ``months`` after ``first``'s."""
    days = np.zeros(len(cycle_days), dtype=np.int64)
    for cycle_day in np.unique(cycle_days).tolist():
        days[cycle_days == cycle_day] = day_number(
            shift_month(first.replace(day=cycle_day), months)
        )
    return days


def payments(rng: np.random.Generator, opening: pl.DataFrame, month: str) -> pl.DataFrame:
    """payments.csv (``receivables.payment_rows``): 80% of this month's invoices paid in
    full by the due date, 7% in part, 5% late (before the month ends, if it can), 8% not;
    one full payment rounded up to the next $50; an account in arrears names this
    month's invoice, the others 60% of the time; ids in the order payments arrived."""
    first = date.fromisoformat(f"{month}-01")
    last = _month_end(first)
    start, end = day_number(first), day_number(last)
    in_arrears = set(opening.filter(pl.col("invoice_date").cast(pl.Int64) < start)["account_id"])
    invoices = opening.filter(pl.col("invoice_date").cast(pl.Int64) >= start)
    n = invoices.height
    issued = invoices["invoice_date"].cast(pl.Int64).to_numpy()
    due = invoices["due_date"].cast(pl.Int64).to_numpy()
    amount = invoices["amount_micros"].to_numpy().copy()
    arrears = (
        invoices["account_id"].is_in(pl.Series(sorted(in_arrears), dtype=pl.String)).to_numpy()
    )
    behaviour = rng.choice(len(BEHAVIOURS), size=n, p=BEHAVIOUR_SHARES)
    _, partial, late, none = (behaviour == BEHAVIOURS.index(b) for b in BEHAVIOURS)
    paid = ~none & ~(late & (due >= end))
    received = np.where(
        late,
        _uniform(rng, np.minimum(due + 1, end), np.full(n, end)),
        _uniform(rng, issued, np.minimum(due, end)),
    )
    share = rng.integers(20, 81, size=n)
    amount = np.where(partial, amount * share // 100 // CENT * CENT, amount)
    in_full = np.flatnonzero(paid & ~partial & ~arrears)
    if len(in_full):
        overpaid = in_full[rng.integers(len(in_full))]
        amount[overpaid] = (amount[overpaid] // ROUND_UP_MICROS + 1) * ROUND_UP_MICROS
    named = arrears | (rng.random(n) < NAMED_SHARE)
    kept = np.flatnonzero(paid)
    # Invoices are in account order, so the row breaks ties of a day by account.
    order = kept[np.lexsort((kept, received[kept]))]
    count = len(order)
    method = rng.choice(len(PAYMENT_METHODS), size=count, p=METHOD_SHARES)
    invoice_ids = invoices["invoice_id"].gather(pl.Series(order))
    return pl.DataFrame(
        {
            "payment_id": identifiers(
                f"PAY-{month.replace('-', '')}-", np.arange(1, count + 1), max(5, len(str(count)))
            ),
            "account_id": invoices["account_id"].gather(pl.Series(order)),
            "received_date": dates(received[order], "received_date"),
            "amount_micros": amount[order],
            "method": pick(PAYMENT_METHODS, method),
            "invoice_id": pl.select(
                pl.when(pl.Series(named[order])).then(invoice_ids).otherwise(None)
            ).to_series(),
        }
    )


def _month_end(first: date) -> date:
    return shift_month(first, 1) - timedelta(days=1)


def device_installments(rng: np.random.Generator, customers: Customers, month: str) -> pl.DataFrame:
    """device_installments.csv (``billing_refs.device_installment_rows``): handsets
    financed on about 15% of the mobile lines in service in the month, a cancelled line
    with its balance left and a line activated in the month among them when there are
    such lines (else one agreement starts in the month as an upgrade)."""
    run = int(month[:4]) * 12 + int(month[5:7]) - 1
    activated_month = _month_number(customers.activated)
    cancelled_month = np.where(
        customers.cancelled == NO_DATE, run, _month_number(customers.cancelled)
    )
    lines = np.flatnonzero(
        (customers.service_type == MOBILE) & (activated_month <= run) & (cancelled_month >= run)
    )
    chosen = rng.random(len(lines)) < AGREEMENT_SHARE
    cancelled_now = customers.cancelled[lines] != NO_DATE
    activated_now = activated_month[lines] == run
    for now in (cancelled_now, activated_now):
        if now.any() and not (chosen & now).any():
            chosen[np.flatnonzero(now)[rng.integers(now.sum())]] = True
    upgrade = np.zeros(len(lines), dtype=bool)
    if chosen.any() and not activated_now.any():
        staying = np.flatnonzero(chosen & ~cancelled_now)
        upgrade[staying[0] if len(staying) else np.flatnonzero(chosen)[0]] = True
    picked = np.flatnonzero(chosen)
    n = len(picked)
    handset = rng.integers(len(HANDSETS), size=n)
    price = np.array([p for _, p in HANDSETS])[handset]
    count = np.array(INSTALLMENT_COUNTS)[rng.integers(len(INSTALLMENT_COUNTS), size=n)]
    # A down payment among those below the handset's price, uniformly.
    down = np.array(sorted(DOWN_PAYMENTS))
    affordable = (down[None, :] < price[:, None]).sum(axis=1)
    down_payment = down[(rng.random(n) * affordable).astype(np.int64)]
    earliest = activated_month[lines[picked]]
    leaving = cancelled_now[picked]
    earliest = np.where(
        leaving, np.maximum(earliest, run - count + 1), np.maximum(earliest, run - count - 6)
    )
    starts_now = upgrade[picked] | (earliest == run)
    first = np.where(starts_now, run, rng.integers(earliest, np.maximum(earliest + 1, run)))
    subscriber_ids = customers.subscriber_ids.gather(lines[picked])
    period = pl.select(
        pl.Series(first // 12).cast(pl.String).str.zfill(4)
        + "-"
        + pl.Series(first % 12 + 1).cast(pl.String).str.zfill(2)
    ).to_series()
    return pl.DataFrame(
        {
            "agreement_id": pl.select("DPA-" + subscriber_ids).to_series(),
            "account_id": customers.account_ids.gather(customers.owner[lines[picked]]),
            "subscriber_id": subscriber_ids,
            "device_name": pick(tuple(name for name, _ in HANDSETS), handset),
            "device_price_micros": price,
            "down_payment_micros": down_payment,
            "installment_count": count,
            "first_billing_period": period,
        }
    )


def port_requests(
    rng: np.random.Generator, customers: Customers, msisdn: pl.Series, month: str
) -> pl.DataFrame:
    """port_requests.csv (``ports.port_request_rows``): port-ins of about one numbered
    line in twenty, completed on its activation; a port-out completed on the cancellation
    of a line cancelled in the month; two pending port-outs and a rejected one."""
    first = date.fromisoformat(f"{month}-01")
    start, end = day_number(first), day_number(_month_end(first))
    numbered = np.flatnonzero(msisdn.is_not_null().to_numpy() & (customers.activated <= end))
    activated = customers.activated[numbered]
    ported_in = rng.random(len(numbered)) < PORT_IN_SHARE
    lead = rng.integers(1, MAX_PORT_IN_LEAD_DAYS + 1, size=len(numbered))
    line = [numbered[ported_in]]
    requested = [activated[ported_in] - lead[ported_in]]
    completed = [activated[ported_in]]
    kind = [np.zeros(ported_in.sum(), dtype=np.int64)]  # index into _PORT_KINDS

    cancelled = customers.cancelled[numbered]
    leaving = np.flatnonzero((cancelled >= start) & (cancelled <= end))
    if len(leaving):
        chosen = leaving[rng.integers(len(leaving))]
        notice = int(rng.integers(1, 4))
        line.append(numbered[[chosen]])
        requested.append(np.array([max(cancelled[chosen] - notice, activated[chosen])]))
        completed.append(cancelled[[chosen]])
        kind.append(np.array([1]))
    in_service = np.flatnonzero((cancelled == NO_DATE) & (customers.status[numbered] != CANCELLED))
    picked = rng.choice(len(in_service), size=min(PENDING_PORT_OUTS + 1, len(in_service)),
                        replace=False)  # fmt: skip
    window_start = max(end - (PENDING_WINDOW_DAYS - 1), start)
    for rank, index in enumerate(picked.tolist()):
        chosen = in_service[index]
        pending = rank < PENDING_PORT_OUTS
        since = max(window_start if pending else start, int(activated[chosen]))
        line.append(numbered[[chosen]])
        requested.append(np.array([since + int(rng.integers(0, end - since + 1))]))
        completed.append(np.array([NO_DATE]))
        kind.append(np.array([2 if pending else 3]))
    lines, asked, done, kinds = (
        np.concatenate(part) for part in (line, requested, completed, kind)
    )
    subscriber_ids = customers.subscriber_ids.gather(lines)
    asked_date = dates(asked, "requested_date")
    code = pick(tuple(k[0] for k in _PORT_KINDS), kinds)
    frame = pl.DataFrame(
        {
            "request_id": pl.select(
                code + "-" + subscriber_ids + "-" + asked_date.dt.strftime("%Y%m%d")
            ).to_series(),
            "subscriber_id": subscriber_ids,
            "msisdn": msisdn.gather(lines),
            "direction": pick(tuple(k[1] for k in _PORT_KINDS), kinds),
            "other_carrier": pick(
                OTHER_CARRIERS, rng.integers(len(OTHER_CARRIERS), size=len(lines))
            ),
            "requested_date": asked_date,
            "completed_date": dates(done, "completed_date"),
            "request_status": pick(tuple(k[2] for k in _PORT_KINDS), kinds),
        }
    )
    return frame.sort("requested_date", "request_id")


#: (request code, direction, status) of the port requests drawn.
_PORT_KINDS = (
    ("PIN", "port_in", "completed"),
    ("POUT", "port_out", "completed"),
    ("POUT", "port_out", "pending"),
    ("POUT", "port_out", "rejected"),
)


def adjustments(
    customers: Customers, month_start: date, month_end: date, month: str
) -> list[dict[str, object]]:
    """adjustments.csv: ``adjustments.adjustment_rows`` of the month, given the first line
    (in subscriber order) of each kind it credits, as it would pick them from all."""
    start = day_number(month_start)
    whole_month = (customers.activated < start) & (customers.cancelled == NO_DATE)
    owner_class = customers.account_class[customers.owner]
    types = customers.service_type
    fees = np.array([PLANS_BY_ID[plan].monthly_fee_micros for plan in PLAN_IDS])
    kinds = [
        whole_month & (owner_class == CLASSES.index("consumer")) & (types == MOBILE),
        whole_month & (owner_class == CLASSES.index("business")) & (types == MOBILE),
        whole_month & (types == SERVICE_TYPES.index("fixed_voip")),
        (customers.activated >= start)
        & (customers.cancelled == NO_DATE)
        & (types == MOBILE)
        & (fees[customers.plan] > 0),
        whole_month
        & (owner_class == CLASSES.index("consumer"))
        & (types == SERVICE_TYPES.index("tv")),
    ]
    candidates = sorted({int(np.argmax(kind)) for kind in kinds if kind.any()})
    base = CustomerBase((), tuple(_subscriber(customers, i) for i in candidates), (), ())
    return adjustment_rows(base, month_start, month_end, month)


def _subscriber(customers: Customers, line: int) -> Subscriber:
    """Line ``line`` as the per-object generator's Subscriber (no numbers, no cells: the
    credits do not read them)."""

    def day(value: int) -> date | None:
        return None if value == NO_DATE else EPOCH + timedelta(days=int(value))

    owner = int(customers.owner[line])
    account = Account(
        f"ACC{owner + 1:0{id_width(customers.accounts)}d}",
        "",
        CLASSES[customers.account_class[owner]],
        f"ADR{owner + 1:0{id_width(customers.accounts)}d}",
        EPOCH + timedelta(days=int(customers.created[owner])),
        CITIES[customers.city[owner]],
    )
    activated = day(customers.activated[line])
    assert activated is not None
    return Subscriber(
        f"SUB{line + 1:0{id_width(customers.lines)}d}",
        account,
        SERVICE_TYPES[customers.service_type[line]],
        "",
        "",
        "",
        PLAN_IDS[customers.plan[line]],
        PLAN_IDS[customers.initial_plan[line]],
        day(customers.plan_changed[line]),
        activated,
        day(customers.cancelled[line]),
        STATUSES[customers.status[line]],
        (),
    )


def churn_scores(
    rng: np.random.Generator, customers: Customers, retained: set[str], month_end: date
) -> pl.DataFrame:
    """churn_scores.csv (``leakage.leakage_reference``): a score per account ten days
    before the month's end, at least 0.75 for an account granted a retention credit
    (``retained``), below 0.6 for the others."""
    account_ids = customers.account_ids
    is_retained = account_ids.is_in(pl.Series(sorted(retained), dtype=pl.String)).to_numpy()
    low = round(CHURN_THRESHOLD * 100)
    hundredths = np.where(
        is_retained,
        low + rng.integers(5, 30, size=customers.accounts),
        rng.integers(1, 60, size=customers.accounts),
    )
    return pl.DataFrame(
        {
            "account_id": account_ids,
            "scored_on": pl.repeat(month_end - timedelta(days=10), customers.accounts, eager=True),
            "churn_score": pl.select(
                "0." + pl.Series(hundredths).cast(pl.String).str.zfill(2)
            ).to_series(),
        }
    )
