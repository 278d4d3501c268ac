"""Revenue-assurance reference data and injected credit leakage (generator stream 9).

Writes finance's credit authority matrix (credit_authority.csv) and the churn-risk scores
(churn_scores.csv) consistent with the month's normal credits (adjustments.csv), so none of
those is a finding; then injects credits the bill run applies but the revenue-assurance
controls must find (docs/revenue-assurance.md):

- ``promo_credit_not_eligible``: a goodwill credit naming the first-month promotion on a line
  that is not in its first bill run (the billing gate checks promotion eligibility on
  promotional credits only, so it applies these);
- ``credit_above_authority``: a goodwill credit whose CRM row carries a limit above the
  agent's authority in the matrix (the gate trusts the CRM row);
- ``retention_credit_unqualified``: a retention credit on an account with no port-out
  request, no cancellation and only low churn scores in the window.

It also injects traffic the controls must find:

- ``terminated_line_usage``: calls, SMS and data of a few mobile lines on and after their
  cancellation date (SIMs the network never barred), on our MSC/PGW;
- ``zero_rated_usage``: daytime calls of a few lines to the Isle of Man mobile range, which
  the catalog rating runs prices at 0 by mistake (``catalog.CATALOG_ERROR_PREFIX``);
- ``roaming_not_passed_on``: a trip of one line on the partner in no retail roaming zone
  (``roaming.UNZONED_PARTNER``): its TAP files, whose events rating holds in suspense.

The ground truth (``manifest/leakage.json``, docs/generator.md) also carries the cases the
older injections cause: the lost file's sequence gap, suspense (young and aged) of the
unbilled IMSIs and unrateable calls, and the routes whose carrier price is above retail.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np

from pipelines.formats.cdr_events import MobileCdr
from pipelines.generate import roaming
from pipelines.generate.adjustments import CARE_AGENT_LIMIT
from pipelines.generate.catalog import (
    CATALOG_ERROR_PREFIX,
    DESTINATIONS,
    TRUNK_INTERNATIONAL,
    holiday_rows,
    rate_deck_rows,
)
from pipelines.generate.customers import CustomerBase, Subscriber
from pipelines.generate.landing import LandingFile
from pipelines.generate.promotions import FIRST_MONTH_PROMOTION
from pipelines.generate.traffic import (
    DATA_BY_HOUR,
    VOICE_BY_HOUR,
    MobileSession,
    NumberPools,
    Party,
    TrafficBuilder,
    mobile_identity,
)

#: Finance's authority matrix: (approver, role, most per credit in micro-USD, credit types).
#: The approvers and limits of the normal credits (pipelines/generate/adjustments.py and
#: promotions.py), so that every normal applied credit is within authority.
AUTHORITY = (
    ("care-agent-07", "care_agent", CARE_AGENT_LIMIT, ("goodwill",)),
    ("retention-desk", "retention_specialist", 25_000_000, ("retention",)),
    ("billing-disputes", "billing_disputes", 50_000_000, ("dispute", "goodwill")),
    ("marketing-spring-promo", "marketing_campaign", 20_000_000, ("promotional",)),
    ("marketing.director", "marketing_director", 10_000_000, ("promotional",)),
)
#: Scores at or above this qualify a retention credit (dbt var
#: revenue_assurance.churn_score_threshold's default).
CHURN_THRESHOLD = 0.7
#: Days before the period's close a churn signal counts (revenue_assurance.retention_window_days).
RETENTION_WINDOW_DAYS = 90
#: Suspense older than this at the period's close is aged (revenue_assurance.suspense_aged_days).
SUSPENSE_AGED_DAYS = 14
#: Injected credits per kind: a few per month, at least one on a tiny operator.
CASES_PER_KIND = 4
#: Cancelled lines whose SIM keeps working (the network never barred it).
TERMINATED_LINES = 3
#: Lines that call the zero-priced range, and their calls each.
ZERO_RATED_LINES = 3
ZERO_RATED_CALLS = (2, 5)  # low, high (exclusive)
#: Local hours the zero-priced calls start in: inside the peak band (07:00-19:00 on
#: business days), so each call is peak from start to end.
ZERO_RATED_HOURS = (9, 17)  # low, high (exclusive)


@dataclass(frozen=True)
class CreditCase:
    """One injected credit and the finding the controls must raise for it."""

    category: str
    row: dict[str, object]  # the adjustments.csv row
    amount_at_risk_micros: int


@dataclass(frozen=True)
class LeakageReference:
    """What this module adds to the reference data, and the credit cases it injected."""

    credit_authority: list[dict[str, object]]
    churn_scores: list[dict[str, object]]
    credits: list[CreditCase]


def credit_authority_rows() -> list[dict[str, object]]:
    """credit_authority.csv rows: finance's authority matrix."""
    return [
        {
            "approved_by": approver,
            "approver_role": role,
            "max_credit_micros": limit,
            "adjustment_types": " ".join(types),
        }
        for approver, role, limit, types in AUTHORITY
    ]


def _whole_month_lines(
    base: CustomerBase, month_start: date, excluded_accounts: set[str]
) -> list[Subscriber]:
    """Active lines in service the whole month, of accounts with no churn signal."""
    return [
        line
        for line in sorted(base.subscribers, key=lambda s: s.subscriber_id)
        if line.activated_date < month_start
        and line.cancelled_date is None
        and line.status == "active"
        and line.account.account_id not in excluded_accounts
    ]


def leakage_reference(
    rng: np.random.Generator,
    base: CustomerBase,
    normal_credits: Sequence[dict[str, object]],
    port_requests: Sequence[dict[str, object]],
    month_start: date,
    month_end: date,
    billing_period: str,
) -> LeakageReference:
    """The authority matrix, churn scores and injected credits of one generated month."""
    window_start = month_end - timedelta(days=RETENTION_WINDOW_DAYS)
    lines_by_id = {s.subscriber_id: s for s in base.subscribers}
    # Accounts that churn-risk qualify by the data the generator wrote already.
    signalled = {
        lines_by_id[str(r["subscriber_id"])].account.account_id
        for r in port_requests
        if r["direction"] == "port_out"
        and window_start <= date.fromisoformat(str(r["requested_date"])) <= month_end
    } | {
        s.account.account_id
        for s in base.subscribers
        if s.cancelled_date is not None and window_start <= s.cancelled_date <= month_end
    }
    credited = {str(row["account_id"]) for row in normal_credits}
    retained = sorted(
        {str(row["account_id"]) for row in normal_credits if row["adjustment_type"] == "retention"}
    )
    candidates = _whole_month_lines(base, month_start, signalled | credited)
    picks = [candidates[i] for i in rng.permutation(len(candidates))]
    per_kind = min(CASES_PER_KIND, len(picks) // 3)
    mobile_promo = [p for p in picks if p.service_type == "mobile"][:per_kind]
    rest = [p for p in picks if p not in mobile_promo]
    above = rest[:per_kind]
    unqualified = rest[per_kind : 2 * per_kind]

    cases: list[CreditCase] = []
    number = 100

    def row(line: Subscriber, kind: str, amount: int, **extra: object) -> dict[str, object]:
        nonlocal number
        number += 1
        return {
            "adjustment_id": f"ADJ-{billing_period.replace('-', '')}-{number:03d}",
            "account_id": line.account.account_id,
            "subscriber_id": line.subscriber_id,
            "billing_period": billing_period,
            "adjustment_type": kind,
            "category": _category(line),
            "amount_micros": amount,
            "promotion_id": None,
            **extra,
        }

    for line in mobile_promo:
        amount = int(rng.integers(2, 9)) * 500_000
        credit = row(
            line,
            "goodwill",
            amount,
            description="first month half price (granted as goodwill)",
            approved_by="care-agent-07",
            approval_limit_micros=CARE_AGENT_LIMIT,
            promotion_id=FIRST_MONTH_PROMOTION,
        )
        cases.append(CreditCase("promo_credit_not_eligible", credit, amount))
    for line in above:
        amount = CARE_AGENT_LIMIT + int(rng.integers(1, 11)) * 1_000_000
        credit = row(
            line,
            "goodwill",
            amount,
            description="service credit for repeated dropped calls",
            approved_by="care-agent-07",
            # The CRM row carries a supervisor's limit the agent does not hold.
            approval_limit_micros=25_000_000,
        )
        cases.append(CreditCase("credit_above_authority", credit, amount - CARE_AGENT_LIMIT))
    for line in unqualified:
        amount = int(rng.integers(4, 16)) * 1_000_000
        credit = row(
            line,
            "retention",
            amount,
            description="loyalty discount",
            approved_by="retention-desk",
            approval_limit_micros=25_000_000,
        )
        cases.append(CreditCase("retention_credit_unqualified", credit, amount))

    scores: list[dict[str, object]] = []
    scored_on = month_end - timedelta(days=10)
    unqualified_accounts = {line.account.account_id for line in unqualified}
    for account in sorted(base.accounts, key=lambda a: a.account_id):
        if account.account_id in retained:
            # The normal retention credit's account scored high: it qualifies.
            score = 0.7 + float(rng.integers(5, 30)) / 100
        elif account.account_id in unqualified_accounts:
            # A near miss: scored, but below the threshold.
            score = CHURN_THRESHOLD - float(rng.integers(1, 20)) / 100
        else:
            score = float(rng.integers(1, 60)) / 100
        scores.append(
            {
                "account_id": account.account_id,
                "scored_on": scored_on.isoformat(),
                "churn_score": f"{score:.2f}",
            }
        )
    return LeakageReference(credit_authority_rows(), scores, cases)


@dataclass(frozen=True)
class TrafficLeakage:
    """Injected usage and the cases it makes, keyed as leakage_truth compares them."""

    mobile_sessions: list[MobileSession]
    terminated_lines: list[dict[str, object]]  # key: subscriber_id
    zero_rated_lines: list[Subscriber]
    unzoned_trips: list[roaming.Trip]
    unzoned_files: list[roaming.TapInFile]
    roaming_not_passed_on: list[dict[str, object]]  # key: partner TADIG|IMSI


def _cancelled_mobile_lines(base: CustomerBase, last_day: date) -> list[Subscriber]:
    """Mobile lines cancelled on or before ``last_day``, in a stable order."""
    return [
        line
        for line in sorted(base.subscribers, key=lambda s: s.subscriber_id)
        if line.service_type == "mobile"
        and line.cancelled_date is not None
        and line.cancelled_date <= last_day
    ]


def terminated_line_traffic(
    builder: TrafficBuilder, lines: Sequence[Subscriber], window: Sequence[date]
) -> list[MobileSession]:
    """Outbound calls, SMS and data of ``lines`` every day from their cancellation date.

    Only chargeable usage (answered outbound calls to domestic numbers, SMS out, data), so
    every record is one the control counts; inbound usage is not billable anyway.
    """
    sessions: list[MobileSession] = []
    for line in lines:
        assert line.cancelled_date is not None
        who = mobile_identity(line)
        for day in (day for day in window if day >= line.cancelled_date):
            for _ in range(int(builder.rng.integers(1, 3))):
                start = builder.local_time(day, VOICE_BY_HOUR)
                party = builder.external_party("domestic")
                outcome = builder.talk_outcome(20, 400)
                sessions.extend(builder.mobile_call(who, start, party, outcome))
            sent = builder.local_time(day, VOICE_BY_HOUR)
            sessions.extend(builder.mobile_sms(who, sent, builder.external_party("domestic")))
            sessions.append(builder.mobile_data(who, builder.local_time(day, DATA_BY_HOUR)))
    return sessions


def _deck_micros_per_second() -> float:
    """The independent price of a zero-priced international call second, as the
    zero_rated_usage control documents it: the rate deck's (rate_deck.csv) average positive
    price per second of peak international voice, over both decks."""
    prices = [
        int(str(r["price_micros"])) / int(str(r["price_unit"]))
        for r in rate_deck_rows()
        if (r["service"], r["destination_group"], r["time_band"])
        == ("voice", "international", "peak")
        and int(str(r["price_micros"])) > 0
    ]
    return sum(prices) / len(prices)


def zero_rated_traffic(
    builder: TrafficBuilder, lines: Sequence[Subscriber], window: Sequence[date]
) -> list[MobileSession]:
    """Answered daytime calls of ``lines`` to numbers in CATALOG_ERROR_PREFIX on business
    days of the window."""
    rng = builder.rng
    holidays = {str(r["holiday_date"]) for r in holiday_rows(sorted({d.year for d in window}))}
    days = [d for d in window if d.weekday() < 5 and d.isoformat() not in holidays]
    sessions: list[MobileSession] = []
    for line in lines if days else ():
        who = mobile_identity(line)
        for _ in range(int(rng.integers(*ZERO_RATED_CALLS))):
            day = days[int(rng.integers(len(days)))]
            start = builder.at(day, int(rng.integers(*ZERO_RATED_HOURS)), int(rng.integers(3600)))
            number = f"{CATALOG_ERROR_PREFIX}{int(rng.integers(0, 1_000_000)):06d}"
            party = Party("international", number, TRUNK_INTERNATIONAL, TRUNK_INTERNATIONAL)
            sessions.extend(builder.mobile_call(who, start, party, builder.talk_outcome(30, 900)))
    return sessions


def zero_rated_cases(
    lines: Sequence[Subscriber],
    mobile_files: Sequence[LandingFile],
    unread: Mapping[tuple[str, str], str],
) -> list[dict[str, object]]:
    """One case per line of ``lines`` with a call to CATALOG_ERROR_PREFIX the operator reads
    (not in the lost file, cut off or malformed; a copy counts once): the billed seconds
    (the first minute, then per second, as the catalog's row counts them) at the deck's
    price per second."""
    per_second = _deck_micros_per_second()
    by_imsi = {line.imsi: line for line in lines}
    billed: dict[str, dict[tuple[str, str], int]] = {}
    for landing_file in mobile_files:
        for entry in landing_file.entries:
            cdr = entry.payload
            key = (landing_file.switch_id, entry.record_key)
            if (
                not isinstance(cdr, MobileCdr)
                or cdr.served_imsi not in by_imsi
                or not (cdr.other_party_number or "").startswith(CATALOG_ERROR_PREFIX)
                or cdr.answered_at is None
                or key in unread
            ):
                continue
            talk = int((cdr.ended_at - cdr.answered_at).total_seconds())
            billed.setdefault(cdr.served_imsi, {})[key] = max(60, talk)
    return [
        {
            "key": f"{line.subscriber_id}:{CATALOG_ERROR_PREFIX}",
            "msisdn": line.msisdn,
            "records": len(billed[line.imsi]),
            "billed_seconds": sum(billed[line.imsi].values()),
            "amount_micros": round(sum(billed[line.imsi].values()) * per_second),
        }
        for line in lines
        if line.imsi in billed
    ]


def _in_service_lines(
    base: CustomerBase, window: Sequence[date], excluded: frozenset[str]
) -> list[Subscriber]:
    """Active mobile lines in service the whole window, but ``excluded``, in a stable order."""
    return [
        line
        for line in sorted(base.subscribers, key=lambda s: s.subscriber_id)
        if line.service_type == "mobile"
        and line.status == "active"
        and line.subscriber_id not in excluded
        and all(line.is_active_on(day) for day in window)
    ]


def _unpassed_cases(files: Sequence[roaming.TapInFile]) -> list[dict[str, object]]:
    """roaming_not_passed_on per partner and IMSI: what we pay for the events rating would
    charge (outbound calls and SMS, data; received ones are free as at home), in USD micros
    (the unzoned partner settles in USD)."""
    totals: dict[tuple[str, str], list[int]] = {}
    for tap in files:
        assert tap.partner.tap_currency == "USD"
        scale = 10 ** (6 - tap.partner.tap_decimal_places)
        for event in tap.events:
            if event.record_type in ("voice_mt", "sms_mt") or event.charge <= 0:
                continue
            total = totals.setdefault((tap.partner.tadig, event.imsi), [0, 0])
            total[0] += 1
            total[1] += event.charge * scale
    return [
        {"key": f"{tadig}|{imsi}", "records": records, "amount_micros": micros}
        for (tadig, imsi), (records, micros) in sorted(totals.items())
    ]


def leakage_traffic(
    rng: np.random.Generator,
    tz: ZoneInfo,
    pools: NumberPools,
    base: CustomerBase,
    window: Sequence[date],
    month_end: date,
    excluded: frozenset[str],
) -> TrafficLeakage:
    """Usage at home of up to TERMINATED_LINES mobile lines cancelled in the window, from
    their cancellation date; then calls of ZERO_RATED_LINES lines to the zero-priced range
    and a trip of one more line on the unzoned partner's network, all lines in service and
    not ``excluded`` (other injections' lines and travellers); and the cases they make."""
    cancelled = _cancelled_mobile_lines(base, window[-1])
    lines = [cancelled[i] for i in rng.permutation(len(cancelled))][:TERMINATED_LINES]
    sessions = terminated_line_traffic(TrafficBuilder(rng, tz, pools), lines, window)
    terminated: list[dict[str, object]] = [
        {
            "key": line.subscriber_id,
            "msisdn": line.msisdn,
            "cancelled_date": str(line.cancelled_date),
            "records": sum(len(s.cdrs) for s in sessions if s.cdrs[0].served_imsi == line.imsi),
            "amount_micros": None,  # what rating makes of it: the control's estimate
        }
        for line in lines
    ]
    # Drawn after the terminated lines' usage, so that usage keeps its draws.
    in_service = _in_service_lines(base, window, excluded)
    picks = [in_service[i] for i in rng.permutation(len(in_service))]
    callers, traveller = picks[:ZERO_RATED_LINES], picks[ZERO_RATED_LINES : ZERO_RATED_LINES + 1]
    zero_sessions = zero_rated_traffic(TrafficBuilder(rng, tz, pools), callers, window)
    trips: list[roaming.Trip] = []
    files: list[roaming.TapInFile] = []
    for line in traveller:
        trip, trip_files = roaming.unzoned_trip(rng, tz, line, pools, list(window), month_end)
        trips.append(trip)
        files.extend(trip_files)
    return TrafficLeakage(
        sessions + zero_sessions, terminated, callers, trips, files, _unpassed_cases(files)
    )


def _category(line: Subscriber) -> str:
    """The tax category a credit on the line gives back: its access charge."""
    return {
        "mobile": "wireless_access",
        "fixed_voip": "voip_access",
        "broadband": "internet_access",
        "tv": "video_service",
    }[line.service_type]


def _file_day(file_name: str) -> date:
    """The UTC day a switch file was closed, from its name (``<switch>_YYYYMMDDHH_<seq>``)."""
    stamp = file_name.rsplit("_", 2)[-2]
    return datetime.strptime(stamp[:8], "%Y%m%d").date()


def ground_truth(
    reference: LeakageReference,
    anomalies: dict[str, object],
    negative_margin_routes: Sequence[dict[str, object]],
    month_end: date,
    traffic: TrafficLeakage,
    mobile_files: Sequence[LandingFile],
    unread: Mapping[tuple[str, str], str],
) -> dict[str, object]:
    """manifest/leakage.json: per category, the injected cases (key, amount), documented in
    docs/generator.md."""
    cases: dict[str, list[dict[str, object]]] = {
        "promo_credit_not_eligible": [],
        "credit_above_authority": [],
        "retention_credit_unqualified": [],
        "file_sequence_gap": [],
        "usage_in_suspense": [],
        "suspense_aged": [],
        "interconnect_negative_margin": list(negative_margin_routes),
        "terminated_line_usage": traffic.terminated_lines,
        "zero_rated_usage": zero_rated_cases(traffic.zero_rated_lines, mobile_files, unread),
        "roaming_not_passed_on": traffic.roaming_not_passed_on,
    }
    for case in reference.credits:
        cases[case.category].append(
            {"key": case.row["adjustment_id"], "amount_micros": case.amount_at_risk_micros}
        )
    lost = anomalies["lost_files"]
    assert isinstance(lost, list)
    for gap in lost:
        cases["file_sequence_gap"].append(
            {
                "key": f"{gap['feed']}/{gap['switch_id']}/{gap['file_sequence_number']}",
                "amount_micros": None,  # the generator does not price the lost usage
            }
        )
    # Suspense: usage of unbilled IMSIs (unknown numbers) and calls to unrateable
    # destinations, aged when older than the threshold at the period's close. Keys are the
    # served number; amounts are the rating's to estimate.
    aged_before = month_end - timedelta(days=SUSPENSE_AGED_DAYS)
    suspense: dict[str, set[str]] = {"usage_in_suspense": set(), "suspense_aged": set()}
    unbilled = anomalies["provisioned_not_billed"]
    unrateable = anomalies["unrateable_destinations"]
    assert isinstance(unbilled, list) and isinstance(unrateable, list)
    for line in unbilled:
        for record in line["records"]:
            aged = _file_day(record["file_name"]) < aged_before
            suspense["suspense_aged" if aged else "usage_in_suspense"].add(line["msisdn"])
    for call in unrateable:
        aged = _file_day(call["file_name"]) < aged_before
        suspense["suspense_aged" if aged else "usage_in_suspense"].add(call["served_msisdn"])
    for category, numbers in suspense.items():
        cases[category] = [{"key": number, "amount_micros": None} for number in sorted(numbers)]
    return {
        "thresholds": {
            "suspense_aged_days": SUSPENSE_AGED_DAYS,
            "churn_score_threshold": CHURN_THRESHOLD,
            "retention_window_days": RETENTION_WINDOW_DAYS,
        },
        "cases": cases,
    }


def negative_margin_routes() -> list[dict[str, object]]:
    """Routes the catalog prices at a loss: a destination whose carrier cost per minute is
    above its retail price on both decks (including premium ranges only the fraud
    injections dial), keyed carrier|group|name. A route nobody dialled in the run raises no
    finding; its amount depends on the traffic: not given."""
    return [
        {
            "key": f"{d.carrier_id}|{d.group}|{d.name}",
            "amount_micros": None,
        }
        for d in DESTINATIONS
        if d.cost_micros > max(d.mobile_retail_micros, d.fixed_retail_micros)
    ]
