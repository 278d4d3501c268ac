"""The operator's one-time fee catalog and device installment agreements.

one_time_fees.csv is fixed: an activation fee on mobile activations and an installation
visit on fixed-line ones. device_installments.csv finances handsets on about 15% of the
mobile lines, so a month's bill run has agreements at every stage: starting with a line
activated in the month, midway, finished, and paid off because the line was cancelled in
the month (docs/billing.md, device installments).
"""

from __future__ import annotations

from datetime import date

import numpy as np

#: (fee_id, fee_name, service_type, amount_micros) of activation orders' fees.
_ACTIVATION_FEES = (
    ("ACTIVATION", "Activation fee", "mobile", 35_000_000),
    ("INSTALLATION", "Installation fee", "broadband", 99_000_000),
    ("INSTALLATION", "Installation fee", "tv", 49_000_000),
    ("INSTALLATION", "Installation fee", "fixed_voip", 49_000_000),
)
#: Handsets and their US retail prices at launch (micro-USD).
HANDSETS = (
    ("Apple iPhone 16 128GB", 829_000_000),
    ("Apple iPhone 16 Pro 256GB", 1_099_000_000),
    ("Samsung Galaxy S25", 799_990_000),
    ("Samsung Galaxy A16 5G", 199_990_000),
    ("Google Pixel 9", 799_000_000),
    ("Motorola moto g 2025", 199_990_000),
)
AGREEMENT_SHARE = 0.15
INSTALLMENT_COUNTS = (24, 36)
#: Down payments taken at the store (micro-USD); 0 is the most common.
DOWN_PAYMENTS = (0, 0, 0, 50_000_000, 100_000_000, 200_000_000)

MobileLine = tuple[str, str, date, date | None]  # subscriber_id, account_id, activated, cancelled


def one_time_fee_rows() -> list[dict[str, object]]:
    """one_time_fees.csv rows, in effect from 2024-01-01 with no end."""
    return [
        {
            "fee_id": fee_id,
            "fee_name": fee_name,
            "order_type": "activation",
            "service_type": service_type,
            "category": "activation",
            "amount_micros": amount,
            "effective_from": "2024-01-01",
            "effective_to": "",
        }
        for fee_id, fee_name, service_type, amount in _ACTIVATION_FEES
    ]


def device_installment_rows(
    rng: np.random.Generator, lines: list[MobileLine], month: str
) -> list[dict[str, object]]:
    """device_installments.csv rows for the mobile ``lines``, as of the ``YYYY-MM`` month.

    A line activated in ``month`` bills installment 1 in its run; an older line's agreement
    began in a month since its activation, up to six months past its last installment, so
    some are midway and some finished. If any line was cancelled in ``month``, one of them
    is financed with a balance left (its run bills the payoff), and one agreement starts in
    ``month`` (a line activated in it, or else a handset upgrade on an older line).
    """
    run = _month_number(month)
    # Lines in service during the month: a handset is financed with a live line.
    ordered = sorted(
        line
        for line in lines
        if _month_number(line[2]) <= run and (line[3] is None or _month_number(line[3]) >= run)
    )
    chosen = [line for line in ordered if rng.random() < AGREEMENT_SHARE]
    cancelled_now = [line for line in ordered if line[3] is not None]
    if cancelled_now and not any(line in cancelled_now for line in chosen):
        chosen.append(cancelled_now[int(rng.integers(len(cancelled_now)))])
    activated_now = [line for line in ordered if _month_number(line[2]) == run]
    if activated_now and not any(line in activated_now for line in chosen):
        chosen.append(activated_now[int(rng.integers(len(activated_now)))])
    upgrade = None
    if chosen and not activated_now:
        upgrade = next((line for line in chosen if line not in cancelled_now), chosen[0])

    rows = []
    for line in sorted(chosen):
        subscriber_id, account_id, activated, _ = line
        device_name, price = HANDSETS[int(rng.integers(len(HANDSETS)))]
        count = INSTALLMENT_COUNTS[int(rng.integers(len(INSTALLMENT_COUNTS)))]
        affordable = [amount for amount in DOWN_PAYMENTS if amount < price]
        down_payment = affordable[int(rng.integers(len(affordable)))]
        earliest = _month_number(activated)
        if line in cancelled_now:
            # A balance must be left at the cancellation: installment `count` is not billed yet.
            earliest = max(earliest, run - count + 1)
        else:
            earliest = max(earliest, run - count - 6)
        # A line activated in the month bills installment 1 now; an older one began earlier.
        first = run if line == upgrade or earliest == run else int(rng.integers(earliest, run))
        rows.append(
            {
                "agreement_id": f"DPA-{subscriber_id}",
                "account_id": account_id,
                "subscriber_id": subscriber_id,
                "device_name": device_name,
                "device_price_micros": price,
                "down_payment_micros": down_payment,
                "installment_count": count,
                "first_billing_period": f"{first // 12:04d}-{first % 12 + 1:02d}",
            }
        )
    return rows


def _month_number(day: date | str) -> int:
    """Months since year 0 of a date or a ``YYYY-MM`` month."""
    text = day.isoformat() if isinstance(day, date) else day
    return int(text[:4]) * 12 + int(text[5:7]) - 1
