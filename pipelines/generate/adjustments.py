"""Credits customer care, retention and marketing granted for the month (adjustments.csv).

Fixed choices from the customer base, not random draws, so a small operator still has
each kind when it has the lines for it: a goodwill credit on a consumer's mobile line, a
retention credit on a business line, a billing-dispute credit on a VoIP line (each billed
the whole month, so the credit stays below the invoice), a promotional credit of half the
prorated first month on a mobile line activated during the month, and one goodwill credit
above its approver's limit, which the bill run holds (docs/data-contracts.md,
adjustments.csv).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

from pipelines.generate.catalog import PLANS_BY_ID
from pipelines.generate.customers import CustomerBase, Subscriber
from pipelines.generate.promotions import FIRST_MONTH_PROMOTION

#: The most a front-line care agent may credit (micro-USD).
CARE_AGENT_LIMIT = 10_000_000


def adjustment_rows(
    base: CustomerBase, month_start: date, month_end: date, billing_period: str
) -> list[dict[str, object]]:
    """adjustments.csv rows for ``billing_period`` (``month_start`` to ``month_end``)."""
    lines = sorted(base.subscribers, key=lambda s: s.subscriber_id)

    def first(test: Callable[[Subscriber], bool]) -> Subscriber | None:
        return next((s for s in lines if test(s)), None)

    def whole_month(line: Subscriber, account_class: str, service_type: str) -> bool:
        return (
            line.activated_date < month_start
            and line.cancelled_date is None
            and line.account.account_class == account_class
            and line.service_type == service_type
        )

    def new_paying_mobile(line: Subscriber) -> bool:
        return (
            line.activated_date >= month_start
            and line.cancelled_date is None
            and line.service_type == "mobile"
            and PLANS_BY_ID[line.plan_id].monthly_fee_micros > 0
        )

    promoted = first(new_paying_mobile)
    promotion = _half_first_month(promoted, month_start, month_end) if promoted else 0

    # (line, kind, category, amount, description, approver, approver's limit); micro-USD.
    picks = [
        (
            first(lambda s: whole_month(s, "consumer", "mobile")),
            "goodwill",
            "wireless_access",
            5_000_000,
            "network outage on 3 days",
            "care-agent-07",
            CARE_AGENT_LIMIT,
        ),
        (
            first(lambda s: whole_month(s, "business", "mobile")),
            "retention",
            "wireless_access",
            10_000_000,
            "loyalty offer against a port-out request",
            "retention-desk",
            25_000_000,
        ),
        (
            first(
                lambda s: (
                    s.activated_date < month_start
                    and s.cancelled_date is None
                    and s.service_type == "fixed_voip"
                )
            ),
            "dispute",
            "voip_access",
            3_000_000,
            "disputed feature charge, upheld",
            "billing-disputes",
            50_000_000,
        ),
        (
            promoted,
            "promotional",
            "wireless_access",
            promotion,
            "first month half price",
            "marketing-spring-promo",
            20_000_000,
        ),
        (
            first(lambda s: whole_month(s, "consumer", "tv")),
            "goodwill",
            "video_service",
            40_000_000,
            "missed installation appointment",
            "care-agent-07",
            CARE_AGENT_LIMIT,
        ),
    ]
    return [
        {
            "adjustment_id": f"ADJ-{billing_period.replace('-', '')}-{number:03d}",
            "account_id": line.account.account_id,
            "subscriber_id": line.subscriber_id,
            "billing_period": billing_period,
            "adjustment_type": kind,
            "category": category,
            "amount_micros": amount,
            "description": description,
            "approved_by": approver,
            "approval_limit_micros": limit,
            # A promotional credit names the promotion whose rules make its line eligible.
            "promotion_id": FIRST_MONTH_PROMOTION if kind == "promotional" else None,
        }
        for number, (line, kind, category, amount, description, approver, limit) in enumerate(
            picks, start=1
        )
        if line is not None
    ]


def _half_first_month(line: Subscriber, month_start: date, month_end: date) -> int:
    """Half the line's prorated fee for its first month, rounded down to the cent."""
    days = (month_end - month_start).days + 1
    active = (month_end - line.activated_date).days + 1
    fee = PLANS_BY_ID[line.plan_id].monthly_fee_micros * active // days // 2
    return fee - fee % 10_000
