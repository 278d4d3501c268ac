"""Numba kernel computing the tax lines of a batch of charges against a compiled rule set
(``pipelines.taxes.compile``), rule for rule as ``tests/taxes/reference_taxes.py``.

Two parallel passes over blocks of charges: the first checks each charge, counts its
applicable rules and, for a tax-inclusive charge, searches its net amount; after a prefix
sum of the counts, the second computes each charge's taxes once and writes its lines into
its own slice of the output. A charge that fails only while computing (no convergence, a
value beyond the money limit) gets its slice's rule rows set to -1, for the wrapper to drop.

Money is exact integers: a rule's amount before rounding is ``whole + rem / 1e6``
micro-units with 0 <= rem < 1e6, and a product of two values is split at 1e6 so that no
intermediate leaves int64 while both stay below ``limit`` (the wrapper's 10**18). Taxes
are computed on the charge's magnitude (a credit's lines are a charge's, negated), so every
value is >= 0 and rounding needs no sign cases. A value beyond ``limit`` makes the charge
AMOUNT_OUT_OF_RANGE instead of wrapping around.

Codes (``pipelines.taxes.compile``): methods 0 percent, 1 fixed, 2 per_minute, 3
per_line, 4 bracket, 5 fixed_on_tier; base shares 0 full, 1 interstate, 2 intrastate;
rounding 0 half_up, 1 up, 2 down, 3 floor (down on a charge, up on a credit's magnitude).
Statuses (``kernels.tax_api.TaxStatus``): 0 ok,
1 NO_TAX_AREA, 2 UNKNOWN_TAX_AREA, 3 UNKNOWN_CATEGORY, 4 UNKNOWN_CUSTOMER_CLASS,
5 AMOUNT_OUT_OF_RANGE, 6 NEGATIVE_INCLUSIVE_TOTAL, 7 NO_USF_FACTOR, 8 TAX_NOT_CONVERGED,
9 TAX_EXCEEDS_INCLUSIVE_TOTAL. Charge inputs: area -1 for none (no address match), -2 for
an id the rule set lacks; category and customer class -1 when unknown; interstate share
-1 for the category's default.

Tables (C-contiguous int64, one row per item, columns the constants below): ``rules``
(n_rules, RULE_COLUMNS), one row per rule row, the category and exempt-class bit masks as
int64 bit patterns and flags as 0 / 1; ``tiers`` (n_tiers, TIER_COLUMNS), rule row k's
rows ``tier_offsets[k]:tier_offsets[k + 1]``; ``usf`` (q, USF_COLUMNS), one row per FUSF
quarter, ascending; and each parallel block's ``scratch`` (n_rules, SCRATCH_COLUMNS), the
state of one charge's evaluation by rule row. CSR offsets and lists stay 1-D arrays.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

# Column indices of the tables: plain int constants, which Numba compiles into the kernels as
# literals. The tables themselves arrive as arguments: a module-global array would be frozen
# into the cached kernel.
RULE_EFFECTIVE_FROM = 0  # day number
RULE_EFFECTIVE_TO = 1  # day number, exclusive
RULE_CATEGORIES = 2  # bit c for category c
RULE_EXEMPT_CLASSES = 3  # bit c for customer class c
RULE_METHOD = 4
RULE_BASE_SHARE = 5
RULE_ROUNDING = 6
RULE_ROUNDING_STEP = 7  # micro-units
RULE_RATE_PPM = 8
RULE_AMOUNT_MICROS = 9
RULE_MAX_BASE_MICROS = 10  # 0: no cap
RULE_MAX_TAX_MICROS = 11  # 0: no cap
RULE_TIER_ON_LINES = 12  # 1: fixed_on_tier tiers count lines, 0: the base
RULE_IS_USF = 13
RULE_IS_BILLABLE = 14
RULE_COLUMNS = 15

TIER_LOWER = 0  # micro-units or lines
TIER_RATE_PPM = 1
TIER_AMOUNT_MICROS = 2
TIER_COLUMNS = 3

USF_FROM_DAY = 0  # first day of the quarter
USF_TO_DAY = 1  # first day of the next quarter
USF_FACTOR_PPM = 2
USF_COLUMNS = 3

SCRATCH_STAMP = 0  # the token of the charge the row's other columns belong to
SCRATCH_TAX = 1
SCRATCH_BASE = 2
SCRATCH_UNIT = 3
SCRATCH_COLUMNS = 4


@njit(cache=True, error_model="numpy", inline="always")
def mul_div_nb(a, b, limit):
    """a x b / 1e6 of 0 <= a, b <= limit as (whole, rem), whole + rem / 1e6 exactly;
    whole -1 when it exceeds limit (limit <= 10**18 keeps every partial product in int64)."""
    m = 1_000_000
    qa = a // m
    ra = a - qa * m
    qb = b // m
    rb = b - qb * m
    high = 0
    if qa > 0 and qb > 0:
        if qb > limit // m // qa:
            return -1, 0
        high = qa * qb * m
    low = ra * rb
    whole = high + qa * rb + ra * qb + low // m
    if whole > limit:
        return -1, 0
    return whole, low - (low // m) * m


@njit(cache=True, error_model="numpy", inline="always")
def round_nb(whole, rem, step, mode):
    """whole + rem / 1e6 (>= 0) rounded to a multiple of step by mode (0 half up, 1 up, 2 down)."""
    q = whole // step
    r = whole - q * step
    if mode == 2:
        return q * step
    if mode == 1:
        return (q + 1) * step if r > 0 or rem > 0 else q * step
    # Half up: the part above q * step, in millionths of a micro, against half a step.
    return (q + 1) * step if 2 * (r * 1_000_000 + rem) >= step * 1_000_000 else q * step


@njit(cache=True, error_model="numpy", inline="always")
def usf_factor_nb(usf, day):
    """FUSF factor (ppm) of the quarter holding day; -1 when the rule set has none."""
    lo = 0
    hi = usf.shape[0]
    while lo < hi:
        mid = (lo + hi) >> 1
        if usf[mid, USF_FROM_DAY] <= day:
            lo = mid + 1
        else:
            hi = mid
    if lo == 0 or day >= usf[lo - 1, USF_TO_DAY]:
        return -1
    return usf[lo - 1, USF_FACTOR_PPM]


@njit(cache=True, error_model="numpy", inline="always")
def applicable_rules_nb(area_offsets, area_rules, rules, area, category, customer_class, day, app):
    """Write the rule rows applying to a charge into app, in calc order; return their count."""
    category_bit = np.int64(1) << np.int64(category)
    class_bit = np.int64(1) << np.int64(customer_class)
    n_app = 0
    for j in range(area_offsets[area], area_offsets[area + 1]):
        k = area_rules[j]
        if not rules[k, RULE_EFFECTIVE_FROM] <= day < rules[k, RULE_EFFECTIVE_TO]:
            continue
        if rules[k, RULE_CATEGORIES] & category_bit == 0:
            continue
        if rules[k, RULE_EXEMPT_CLASSES] & class_bit != 0:
            continue
        app[n_app] = k
        n_app += 1
    return n_app


@njit(cache=True, error_model="numpy")
def evaluate_nb(
    amount,
    is_credit,
    lines,
    minutes,
    share_ppm,
    factor,
    app,
    n_app,
    iterate,
    max_iterations,
    limit,
    rules,
    tier_offsets,
    tiers,
    tax_on_offsets,
    tax_on_rules,
    token,
    scratch,
):
    """Compute the taxes of a charge of ``amount`` >= 0 micro-units on its applicable rules;
    ``is_credit``: the charge is a credit of that magnitude. The mirrored roundings ignore
    it (a credit's lines are its charge's, negated); floor rounds its refund up, and then
    the FUSF ceiling, a cap on what is recovered, does not hold it back.

    Writes each rule row's tax, taxable base and tier amount into scratch's SCRATCH_TAX,
    SCRATCH_BASE and SCRATCH_UNIT columns and returns a status (0, 5 AMOUNT_OUT_OF_RANGE or
    8 TAX_NOT_CONVERGED). A rule row holding ``SCRATCH_STAMP == token`` applies to this
    charge: a tax_on reference to any other row adds 0.
    """
    m = 1_000_000
    whole, rem = mul_div_nb(amount, share_ppm, limit)
    interstate = whole + (1 if 2 * rem >= m else 0)
    whole, rem = mul_div_nb(amount, m - share_ppm, limit)
    intrastate = whole + (1 if 2 * rem >= m else 0)
    for j in range(n_app):
        k = app[j]
        scratch[k, SCRATCH_STAMP] = token
        scratch[k, SCRATCH_TAX] = 0
    passes = max_iterations if iterate else 1
    for _ in range(passes):
        changed = False
        for j in range(n_app):
            k = app[j]
            share = rules[k, RULE_BASE_SHARE]
            base = amount if share == 0 else (interstate if share == 1 else intrastate)
            for t in range(tax_on_offsets[k], tax_on_offsets[k + 1]):
                named = tax_on_rules[t]
                if scratch[named, SCRATCH_STAMP] == token:
                    base += scratch[named, SCRATCH_TAX]
            if base > limit:
                return 5
            cap = rules[k, RULE_MAX_BASE_MICROS]
            if cap > 0 and base > cap:
                base = cap
            method = rules[k, RULE_METHOD]
            is_usf = rules[k, RULE_IS_USF] != 0
            unit = 0
            rem = 0
            if method == 0:
                rate = factor if is_usf else rules[k, RULE_RATE_PPM]
                whole, rem = mul_div_nb(base, rate, limit)
            elif method == 1:
                whole = rules[k, RULE_AMOUNT_MICROS]
            elif method == 2:
                whole, rem = mul_div_nb(rules[k, RULE_AMOUNT_MICROS], minutes, limit)
            elif method == 3:
                per_line = rules[k, RULE_AMOUNT_MICROS]
                if lines > 0 and per_line > limit // lines:
                    return 5
                whole = per_line * lines
            elif method == 4:
                whole = 0
                last = tier_offsets[k + 1] - 1
                for t in range(tier_offsets[k], last + 1):
                    lower = tiers[t, TIER_LOWER]
                    if base <= lower:
                        break
                    upper = base if t == last else min(base, tiers[t + 1, TIER_LOWER])
                    part, part_rem = mul_div_nb(upper - lower, tiers[t, TIER_RATE_PPM], limit)
                    whole += part
                    rem += part_rem
                    if rem >= m:
                        whole += 1
                        rem -= m
            else:
                basis = lines if rules[k, RULE_TIER_ON_LINES] != 0 else base
                for t in range(tier_offsets[k], tier_offsets[k + 1]):
                    if tiers[t, TIER_LOWER] > basis:
                        break
                    unit = tiers[t, TIER_AMOUNT_MICROS]
                whole = unit
            if whole < 0 or whole > limit:
                return 5
            step = rules[k, RULE_ROUNDING_STEP]
            mode = rules[k, RULE_ROUNDING]
            # Floor, towards minus infinity on the signed amount: a charge's tax rounds down,
            # a credit's refund (computed here on its magnitude) rounds up.
            refund_up = mode == 3 and is_credit
            if mode == 3:
                mode = 1 if is_credit else 2
            tax = round_nb(whole, rem, step, mode)
            cap = rules[k, RULE_MAX_TAX_MICROS]
            if cap > 0 and tax > cap:
                tax = cap
            if is_usf and not refund_up:
                # FCC: no more than the factor times the base, rounded down to the step.
                most, most_rem = mul_div_nb(base, factor, limit)
                tax = min(tax, round_nb(most, most_rem, step, 2))
            if tax != scratch[k, SCRATCH_TAX]:
                changed = True
            scratch[k, SCRATCH_TAX] = tax
            scratch[k, SCRATCH_BASE] = base
            scratch[k, SCRATCH_UNIT] = unit
        if not changed:
            return 0
    return 0 if not iterate else 8


@njit(cache=True, error_model="numpy", inline="always")
def billable_tax_nb(app, n_app, rules, scratch):
    total = 0
    for j in range(n_app):
        k = app[j]
        if rules[k, RULE_IS_BILLABLE] != 0:
            total += scratch[k, SCRATCH_TAX]
    return total


@njit(cache=True, error_model="numpy")
def tax_charges_nb(
    amount_micros,
    area,
    category,
    customer_class,
    charge_day,
    lines,
    minutes_micros,
    interstate_share_ppm,
    is_tax_inclusive,
    iterate,
    max_iterations,
    max_area_rules,
    limit,
    max_amount,
    rules,
    tier_offsets,
    tiers,
    tax_on_offsets,
    tax_on_rules,
    area_offsets,
    area_rules,
    usf,
    category_share_ppm,
    block_size,
):
    """Tax n charges: (status int8 (n,), net_micros int64 (n,), line_charge int64 (m,),
    line_rule int32 (m,) (-1: a line of a charge that failed in the second pass),
    line_base int64, line_rate_ppm int64, line_unit_micros int64, line_tax int64 (m,))."""
    n = amount_micros.size
    n_rules = rules.shape[0]
    n_blocks = (n + block_size - 1) // block_size
    status = np.zeros(n, dtype=np.int8)
    net = np.zeros(n, dtype=np.int64)
    taxed = np.zeros(n, dtype=np.int64)  # the amount the lines are computed on, >= 0
    factors = np.full(n, -1, dtype=np.int64)
    shares = np.zeros(n, dtype=np.int64)
    counts = np.zeros(n, dtype=np.int64)

    for b in prange(n_blocks):
        app = np.empty(max_area_rules, dtype=np.int64)
        scratch = np.zeros((n_rules, SCRATCH_COLUMNS), dtype=np.int64)
        for i in range(b * block_size, min(n, (b + 1) * block_size)):
            amount = amount_micros[i]
            if area[i] == -1:
                status[i] = 1
                continue
            if area[i] < 0:
                status[i] = 2
                continue
            if category[i] < 0:
                status[i] = 3
                continue
            if customer_class[i] < 0:
                status[i] = 4
                continue
            if amount > max_amount or amount < -max_amount:
                status[i] = 5
                continue
            inclusive = is_tax_inclusive[i]
            if inclusive and amount < 0:
                status[i] = 6
                continue
            n_app = applicable_rules_nb(
                area_offsets,
                area_rules,
                rules,
                area[i],
                category[i],
                customer_class[i],
                charge_day[i],
                app,
            )
            factor = usf_factor_nb(usf, charge_day[i])
            needs_factor = False
            for j in range(n_app):
                needs_factor = needs_factor or rules[app[j], RULE_IS_USF] != 0
            if needs_factor and factor < 0:
                status[i] = 7
                continue
            share = interstate_share_ppm[i]
            share = category_share_ppm[category[i]] if share < 0 else share
            factors[i] = factor
            shares[i] = share
            counts[i] = n_app
            if not inclusive:
                taxed[i] = -amount if amount < 0 else amount
                continue
            # The largest B in [0, total] with B + billable taxes(B) <= total; taxes never
            # decrease as B grows, so the test is monotone and bisection finds it.
            lo = 0
            hi = amount
            probe = 0
            while True:
                code = evaluate_nb(
                    probe,
                    False,
                    lines[i],
                    minutes_micros[i],
                    share,
                    factor,
                    app,
                    n_app,
                    iterate,
                    max_iterations,
                    limit,
                    rules,
                    tier_offsets,
                    tiers,
                    tax_on_offsets,
                    tax_on_rules,
                    i + 1,
                    scratch,
                )
                if code != 0:
                    status[i] = code
                    break
                fits = probe + billable_tax_nb(app, n_app, rules, scratch) <= amount
                if probe == 0 and not fits:
                    status[i] = 9
                    break
                if fits:
                    lo = probe
                else:
                    hi = probe - 1
                if lo >= hi:
                    break
                probe = lo + (hi - lo + 1) // 2
            if status[i] != 0:
                counts[i] = 0
            else:
                taxed[i] = lo

    offsets = np.zeros(n + 1, dtype=np.int64)
    for i in range(n):
        offsets[i + 1] = offsets[i] + counts[i]
    total = offsets[n]
    line_charge = np.empty(total, dtype=np.int64)
    line_rule = np.empty(total, dtype=np.int32)
    line_base = np.empty(total, dtype=np.int64)
    line_rate = np.empty(total, dtype=np.int64)
    line_unit = np.empty(total, dtype=np.int64)
    line_tax = np.empty(total, dtype=np.int64)

    for b in prange(n_blocks):
        app = np.empty(max_area_rules, dtype=np.int64)
        scratch = np.zeros((n_rules, SCRATCH_COLUMNS), dtype=np.int64)
        for i in range(b * block_size, min(n, (b + 1) * block_size)):
            if status[i] != 0:
                continue
            amount = amount_micros[i]
            n_app = applicable_rules_nb(
                area_offsets,
                area_rules,
                rules,
                area[i],
                category[i],
                customer_class[i],
                charge_day[i],
                app,
            )
            factor = factors[i]
            code = evaluate_nb(
                taxed[i],
                amount < 0,
                lines[i],
                minutes_micros[i],
                shares[i],
                factor,
                app,
                n_app,
                iterate,
                max_iterations,
                limit,
                rules,
                tier_offsets,
                tiers,
                tax_on_offsets,
                tax_on_rules,
                i + 1,
                scratch,
            )
            start = offsets[i]
            if code != 0:
                status[i] = code
                for j in range(n_app):
                    line_rule[start + j] = -1
                continue
            sign = -1 if amount < 0 else 1
            for j in range(n_app):
                k = app[j]
                row = start + j
                method = rules[k, RULE_METHOD]
                line_charge[row] = i
                line_rule[row] = k
                line_base[row] = sign * scratch[k, SCRATCH_BASE]
                line_tax[row] = sign * scratch[k, SCRATCH_TAX]
                if method == 0 and rules[k, RULE_IS_USF] != 0:
                    line_rate[row] = factor
                elif method == 0 or method == 4:
                    line_rate[row] = rules[k, RULE_RATE_PPM]
                else:
                    line_rate[row] = 0
                if method == 5:
                    line_unit[row] = scratch[k, SCRATCH_UNIT]
                elif method == 1 or method == 2 or method == 3:
                    line_unit[row] = rules[k, RULE_AMOUNT_MICROS]
                else:
                    line_unit[row] = 0
            if is_tax_inclusive[i]:
                net[i] = amount - billable_tax_nb(app, n_app, rules, scratch)
            else:
                net[i] = amount
    return status, net, line_charge, line_rule, line_base, line_rate, line_unit, line_tax
