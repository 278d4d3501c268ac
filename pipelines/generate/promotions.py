"""Marketing's promotions for the month (promotions.csv, docs/billing.md "Promotions").

Fixed, not random, and running since January of the month's year, so any generated month
has them:

- ``NEWLINE10``, "New line $10 off for 3 months": $10 of wireless access credited
  automatically on each of the first three bill runs of a line on a current paid mobile
  plan activated since January 1, approved by the marketing director up to $10.
- ``FIRSTMONTH50``, "First month half price": no credit of its own. It states which lines
  customer care may grant half the first month to (a current paid mobile plan, in its first
  bill run); the promotional credit of adjustments.csv names it.
"""

from __future__ import annotations

from pipelines.generate.catalog import PLANS

#: The plans new lines are sold on that charge a monthly fee: a credit on a free plan
#: (Lifeline) would only ever be negative, and the retired plan takes no new lines.
PAID_MOBILE_PLANS = " ".join(
    plan.plan_id
    for plan in PLANS
    if plan.service_type == "mobile" and plan.monthly_fee_micros > 0 and not plan.effective_to
)
#: The id the generator's promotional adjustment (pipelines/generate/adjustments.py) names.
FIRST_MONTH_PROMOTION = "FIRSTMONTH50"


def promotion_rows(month: str) -> list[dict[str, object]]:
    """promotions.csv rows for an operator generated for ``month`` (``YYYY-MM``)."""
    year = month[:4]
    common = {
        "category": "wireless_access",
        "plan_ids": PAID_MOBILE_PLANS,
        "service_type": "mobile",
        "account_classes": None,
        "activated_from": f"{year}-01-01",
        "activated_to": None,
    }
    return [
        {
            "promotion_id": "NEWLINE10",
            "promotion_name": "New line $10 off for 3 months",
            "credit_micros": 10_000_000,
            **common,
            "credit_months": 3,
            "first_period": f"{year}-01",
            "last_period": None,
            "approved_by": "marketing.director",
            "approval_limit_micros": 10_000_000,
        },
        {
            "promotion_id": FIRST_MONTH_PROMOTION,
            "promotion_name": "First month half price",
            # Care works the amount out from the prorated fee and grants it.
            "credit_micros": None,
            **common,
            "credit_months": 1,
            "first_period": f"{year}-01",
            "last_period": None,
            "approved_by": None,
            "approval_limit_micros": None,
        },
    ]
