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
rounding 0 half_up, 1 up, 2 down. Statuses (``kernels.tax_api.TaxStatus``): 0 ok,
1 NO_TAX_AREA, 2 UNKNOWN_TAX_AREA, 3 UNKNOWN_CATEGORY, 4 UNKNOWN_CUSTOMER_CLASS,
5 AMOUNT_OUT_OF_RANGE, 6 NEGATIVE_INCLUSIVE_TOTAL, 7 NO_USF_FACTOR, 8 TAX_NOT_CONVERGED,
9 TAX_EXCEEDS_INCLUSIVE_TOTAL. Charge inputs: area -1 for none (no address match), -2 for
an id the rule set lacks; category and customer class -1 when unknown; interstate share
-1 for the category's default.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange


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
def usf_factor_nb(usf_from_day, usf_to_day, usf_factor_ppm, day):
    """FUSF factor (ppm) of the quarter holding day; -1 when the rule set has none."""
    lo = 0
    hi = usf_from_day.size
    while lo < hi:
        mid = (lo + hi) >> 1
        if usf_from_day[mid] <= day:
            lo = mid + 1
        else:
            hi = mid
    if lo == 0 or day >= usf_to_day[lo - 1]:
        return -1
    return usf_factor_ppm[lo - 1]


@njit(cache=True, error_model="numpy", inline="always")
def applicable_rules_nb(
    area_offsets,
    area_rules,
    rule_effective_from,
    rule_effective_to,
    rule_categories,
    rule_exempt_classes,
    area,
    category,
    customer_class,
    day,
    app,
):
    """Write the rule rows applying to a charge into app, in calc order; return their count."""
    category_bit = np.uint64(1) << np.uint64(category)
    class_bit = np.uint64(1) << np.uint64(customer_class)
    n_app = 0
    for j in range(area_offsets[area], area_offsets[area + 1]):
        k = area_rules[j]
        if not rule_effective_from[k] <= day < rule_effective_to[k]:
            continue
        if rule_categories[k] & category_bit == np.uint64(0):
            continue
        if rule_exempt_classes[k] & class_bit != np.uint64(0):
            continue
        app[n_app] = k
        n_app += 1
    return n_app


@njit(cache=True, error_model="numpy")
def evaluate_nb(
    amount,
    lines,
    minutes,
    share_ppm,
    factor,
    app,
    n_app,
    iterate,
    max_iterations,
    limit,
    rule_method,
    rule_base_share,
    rule_rounding,
    rule_rounding_step,
    rule_rate_ppm,
    rule_amount_micros,
    rule_max_base_micros,
    rule_max_tax_micros,
    rule_tier_on_lines,
    rule_is_usf,
    tier_offsets,
    tier_lower,
    tier_rate_ppm,
    tier_amount_micros,
    tax_on_offsets,
    tax_on_rules,
    token,
    stamp,
    tax_now,
    base_now,
    unit_now,
):
    """Compute the taxes of a charge of ``amount`` >= 0 micro-units on its applicable rules.

    Writes each rule row's tax, taxable base and tier amount into tax_now, base_now and
    unit_now and returns a status (0, 5 AMOUNT_OUT_OF_RANGE or 8 TAX_NOT_CONVERGED). A
    rule row holding ``stamp == token`` applies to this charge: a tax_on reference to any
    other row adds 0.
    """
    m = 1_000_000
    whole, rem = mul_div_nb(amount, share_ppm, limit)
    interstate = whole + (1 if 2 * rem >= m else 0)
    whole, rem = mul_div_nb(amount, m - share_ppm, limit)
    intrastate = whole + (1 if 2 * rem >= m else 0)
    for j in range(n_app):
        k = app[j]
        stamp[k] = token
        tax_now[k] = 0
    passes = max_iterations if iterate else 1
    for _ in range(passes):
        changed = False
        for j in range(n_app):
            k = app[j]
            share = rule_base_share[k]
            base = amount if share == 0 else (interstate if share == 1 else intrastate)
            for t in range(tax_on_offsets[k], tax_on_offsets[k + 1]):
                named = tax_on_rules[t]
                if stamp[named] == token:
                    base += tax_now[named]
            if base > limit:
                return 5
            cap = rule_max_base_micros[k]
            if cap > 0 and base > cap:
                base = cap
            method = rule_method[k]
            unit = 0
            rem = 0
            if method == 0:
                rate = factor if rule_is_usf[k] else rule_rate_ppm[k]
                whole, rem = mul_div_nb(base, rate, limit)
            elif method == 1:
                whole = rule_amount_micros[k]
            elif method == 2:
                whole, rem = mul_div_nb(rule_amount_micros[k], minutes, limit)
            elif method == 3:
                per_line = rule_amount_micros[k]
                if lines > 0 and per_line > limit // lines:
                    return 5
                whole = per_line * lines
            elif method == 4:
                whole = 0
                last = tier_offsets[k + 1] - 1
                for t in range(tier_offsets[k], last + 1):
                    lower = tier_lower[t]
                    if base <= lower:
                        break
                    upper = base if t == last else min(base, tier_lower[t + 1])
                    part, part_rem = mul_div_nb(upper - lower, tier_rate_ppm[t], limit)
                    whole += part
                    rem += part_rem
                    if rem >= m:
                        whole += 1
                        rem -= m
            else:
                basis = lines if rule_tier_on_lines[k] else base
                for t in range(tier_offsets[k], tier_offsets[k + 1]):
                    if tier_lower[t] > basis:
                        break
                    unit = tier_amount_micros[t]
                whole = unit
            if whole < 0 or whole > limit:
                return 5
            tax = round_nb(whole, rem, rule_rounding_step[k], rule_rounding[k])
            cap = rule_max_tax_micros[k]
            if cap > 0 and tax > cap:
                tax = cap
            if rule_is_usf[k]:
                # FCC: no more than the factor times the base, rounded down to the step.
                most, most_rem = mul_div_nb(base, factor, limit)
                tax = min(tax, round_nb(most, most_rem, rule_rounding_step[k], 2))
            if tax != tax_now[k]:
                changed = True
            tax_now[k] = tax
            base_now[k] = base
            unit_now[k] = unit
        if not changed:
            return 0
    return 0 if not iterate else 8


@njit(cache=True, error_model="numpy", inline="always")
def billable_tax_nb(app, n_app, rule_is_billable, tax_now):
    total = 0
    for j in range(n_app):
        k = app[j]
        if rule_is_billable[k]:
            total += tax_now[k]
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
    rule_effective_from,
    rule_effective_to,
    rule_categories,
    rule_exempt_classes,
    rule_method,
    rule_base_share,
    rule_rounding,
    rule_rounding_step,
    rule_rate_ppm,
    rule_amount_micros,
    rule_max_base_micros,
    rule_max_tax_micros,
    rule_tier_on_lines,
    rule_is_usf,
    rule_is_billable,
    tier_offsets,
    tier_lower,
    tier_rate_ppm,
    tier_amount_micros,
    tax_on_offsets,
    tax_on_rules,
    area_offsets,
    area_rules,
    usf_from_day,
    usf_to_day,
    usf_factor_ppm,
    category_share_ppm,
    block_size,
):
    """Tax n charges: (status int8 (n,), net_micros int64 (n,), line_charge int64 (m,),
    line_rule int32 (m,) (-1: a line of a charge that failed in the second pass),
    line_base int64, line_rate_ppm int64, line_unit_micros int64, line_tax int64 (m,))."""
    n = amount_micros.size
    n_rules = rule_method.size
    n_blocks = (n + block_size - 1) // block_size
    status = np.zeros(n, dtype=np.int8)
    net = np.zeros(n, dtype=np.int64)
    taxed = np.zeros(n, dtype=np.int64)  # the amount the lines are computed on, >= 0
    factors = np.full(n, -1, dtype=np.int64)
    shares = np.zeros(n, dtype=np.int64)
    counts = np.zeros(n, dtype=np.int64)

    for b in prange(n_blocks):
        app = np.empty(max_area_rules, dtype=np.int64)
        stamp = np.zeros(n_rules, dtype=np.int64)
        tax_now = np.zeros(n_rules, dtype=np.int64)
        base_now = np.zeros(n_rules, dtype=np.int64)
        unit_now = np.zeros(n_rules, dtype=np.int64)
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
                rule_effective_from,
                rule_effective_to,
                rule_categories,
                rule_exempt_classes,
                area[i],
                category[i],
                customer_class[i],
                charge_day[i],
                app,
            )
            factor = usf_factor_nb(usf_from_day, usf_to_day, usf_factor_ppm, charge_day[i])
            needs_factor = False
            for j in range(n_app):
                needs_factor = needs_factor or rule_is_usf[app[j]]
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
                    lines[i],
                    minutes_micros[i],
                    share,
                    factor,
                    app,
                    n_app,
                    iterate,
                    max_iterations,
                    limit,
                    rule_method,
                    rule_base_share,
                    rule_rounding,
                    rule_rounding_step,
                    rule_rate_ppm,
                    rule_amount_micros,
                    rule_max_base_micros,
                    rule_max_tax_micros,
                    rule_tier_on_lines,
                    rule_is_usf,
                    tier_offsets,
                    tier_lower,
                    tier_rate_ppm,
                    tier_amount_micros,
                    tax_on_offsets,
                    tax_on_rules,
                    i + 1,
                    stamp,
                    tax_now,
                    base_now,
                    unit_now,
                )
                if code != 0:
                    status[i] = code
                    break
                fits = probe + billable_tax_nb(app, n_app, rule_is_billable, tax_now) <= amount
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
        stamp = np.zeros(n_rules, dtype=np.int64)
        tax_now = np.zeros(n_rules, dtype=np.int64)
        base_now = np.zeros(n_rules, dtype=np.int64)
        unit_now = np.zeros(n_rules, dtype=np.int64)
        for i in range(b * block_size, min(n, (b + 1) * block_size)):
            if status[i] != 0:
                continue
            amount = amount_micros[i]
            n_app = applicable_rules_nb(
                area_offsets,
                area_rules,
                rule_effective_from,
                rule_effective_to,
                rule_categories,
                rule_exempt_classes,
                area[i],
                category[i],
                customer_class[i],
                charge_day[i],
                app,
            )
            factor = factors[i]
            code = evaluate_nb(
                taxed[i],
                lines[i],
                minutes_micros[i],
                shares[i],
                factor,
                app,
                n_app,
                iterate,
                max_iterations,
                limit,
                rule_method,
                rule_base_share,
                rule_rounding,
                rule_rounding_step,
                rule_rate_ppm,
                rule_amount_micros,
                rule_max_base_micros,
                rule_max_tax_micros,
                rule_tier_on_lines,
                rule_is_usf,
                tier_offsets,
                tier_lower,
                tier_rate_ppm,
                tier_amount_micros,
                tax_on_offsets,
                tax_on_rules,
                i + 1,
                stamp,
                tax_now,
                base_now,
                unit_now,
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
                method = rule_method[k]
                line_charge[row] = i
                line_rule[row] = k
                line_base[row] = sign * base_now[k]
                line_tax[row] = sign * tax_now[k]
                if method == 0 and rule_is_usf[k]:
                    line_rate[row] = factor
                elif method == 0 or method == 4:
                    line_rate[row] = rule_rate_ppm[k]
                else:
                    line_rate[row] = 0
                if method == 5:
                    line_unit[row] = unit_now[k]
                elif method == 1 or method == 2 or method == 3:
                    line_unit[row] = rule_amount_micros[k]
                else:
                    line_unit[row] = 0
            if is_tax_inclusive[i]:
                net[i] = amount - billable_tax_nb(app, n_app, rule_is_billable, tax_now)
            else:
                net[i] = amount
    return status, net, line_charge, line_rule, line_base, line_rate, line_unit, line_tax
