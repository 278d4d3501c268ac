"""Numba kernels rating events against a compiled tariff catalog (``pipelines.tariffs.compile``).

They follow ``pipelines.tariffs.reference`` rule for rule: plan chain, destination choice,
winning binding at each instant, span walk, exact money. Tables arrive as tuples of flat
arrays built by ``kernels.tariff_api`` (bindings, timings, slots, lookup); nothing here reads
a module global, so a cached compilation never freezes a catalog.

Money is exact: an event's cost is ``whole + frac / unit_lcm`` micros with 0 <= frac <
unit_lcm, the lcm of all rate units, so caps, minimum charges and rounding compare exact
values without fractions or floats. The API bounds every product before calling.

Error codes: 0 none, 1 RATING_PLAN_NOT_FOUND, 2 UNAUTHORIZED_DESTINATION, 3 RATING_PLAN_GAP.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from kernels.rating_nb import lower_bound_nb


@njit(cache=True)
def civil_from_days_nb(day):
    """(year, month, day of month) of a day number since 1970-01-01 (H. Hinnant's algorithm)."""
    z = day + 719468
    era = z // 146097
    doe = z - era * 146097
    yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    month_day = doy - (153 * mp + 2) // 5 + 1
    month = mp + 3 if mp < 10 else mp - 9
    year = yoe + era * 400 + (1 if month <= 2 else 0)
    return year, month, month_day


@njit(cache=True)
def day_facts_nb(day, holiday_days):
    """(year, month, month day, ISO week day, is holiday) of a local day number."""
    year, month, month_day = civil_from_days_nb(day)
    # Day 0 (1970-01-01) was a Thursday, ISO day 4.
    week_day = (day + 3) % 7 + 1
    k = lower_bound_nb(holiday_days, 0, holiday_days.size, day)
    holiday = k < holiday_days.size and holiday_days[k] == day
    return year, month, month_day, week_day, holiday


@njit(cache=True)
def timing_active_nb(t, year, month, month_day, week_day, holiday, second, timings):
    """Whether timing t covers ``second`` of a day with these facts (reference.timing_active)."""
    start, end, month_mask, month_day_mask, week_day_mask, holiday_rule, year_offsets, years = (
        timings
    )
    if year_offsets[t] < year_offsets[t + 1]:
        listed = False
        for k in range(year_offsets[t], year_offsets[t + 1]):
            if years[k] == year:
                listed = True
        if not listed:
            return False
    if month_mask[t] != 0 and (month_mask[t] >> month) & 1 == 0:
        return False
    if month_day_mask[t] != 0 and (month_day_mask[t] >> month_day) & 1 == 0:
        return False
    if week_day_mask[t] != 0 and (week_day_mask[t] >> week_day) & 1 == 0:
        return False
    if holiday_rule[t] == 1 and not holiday:
        return False
    if holiday_rule[t] == 2 and holiday:
        return False
    return start[t] <= second < end[t]


@njit(cache=True)
def winner_nb(lo, hi, start_day, facts, second, candidates, bindings, timings):
    """Binding of ``candidates[lo:hi]`` that wins at ``second`` of a day; -1 if none is active.

    Only bindings in effect on the event's start day take part. Highest weight wins, then
    the later timing start, then file order (the lists are in file order).
    """
    timing, _, weight, effective_from, effective_to = bindings[:5]
    timing_start = timings[0]
    year, month, month_day, week_day, holiday = facts
    best = -1
    for k in range(lo, hi):
        b = candidates[k]
        if not effective_from[b] <= start_day <= effective_to[b]:
            continue
        if not timing_active_nb(
            timing[b], year, month, month_day, week_day, holiday, second, timings
        ):
            continue
        if (
            best < 0
            or weight[b] > weight[best]
            or (weight[b] == weight[best] and timing_start[timing[b]] > timing_start[timing[best]])
        ):
            best = b
    return best


@njit(cache=True)
def seconds_to_change_nb(lo, hi, current, start_day, facts, second, candidates, bindings, timings):
    """Seconds from ``second`` to the next timing edge where another binding wins, or midnight."""
    timing, _, _, effective_from, effective_to = bindings[:5]
    timing_start, timing_end = timings[0], timings[1]
    passed = second
    while True:
        edge = 86400
        for k in range(lo, hi):
            b = candidates[k]
            if not effective_from[b] <= start_day <= effective_to[b]:
                continue
            t = timing[b]
            if passed < timing_start[t] < edge:
                edge = timing_start[t]
            if passed < timing_end[t] < edge:
                edge = timing_end[t]
        if edge == 86400:
            return 86400 - second
        if winner_nb(lo, hi, start_day, facts, edge, candidates, bindings, timings) != current:
            return edge - second
        passed = edge


@njit(cache=True)
def choose_destination_nb(
    plan, on_net, number_value, number_len, start_day, facts, second, bindings, timings, lookup
):
    """(lo, hi, prefix id, first winner) of the candidate list the event's number resolves to.

    On-net first (if the event is), then the longest prefix whose list has a binding active
    at the start, then ``*any``; lo = -1 when nothing applies. The prefix id is -1 for the
    on-net and ``*any`` lists.
    """
    candidates, plan_on_net, plan_any, prefix_offsets, key_value, key_prefix, key_candidates = (
        lookup
    )
    if on_net:
        lo, hi = plan_on_net[plan, 0], plan_on_net[plan, 1]
        won = winner_nb(lo, hi, start_day, facts, second, candidates, bindings, timings)
        if won >= 0:
            return lo, hi, -1, won
    value = number_value
    for length in range(number_len, 0, -1):
        key_lo, key_hi = prefix_offsets[plan, length], prefix_offsets[plan, length + 1]
        if key_lo < key_hi:
            k = lower_bound_nb(key_value, key_lo, key_hi, value)
            if k < key_hi and key_value[k] == value:
                lo, hi = key_candidates[k], key_candidates[k + 1]
                won = winner_nb(lo, hi, start_day, facts, second, candidates, bindings, timings)
                if won >= 0:
                    return lo, hi, key_prefix[k], won
        value //= 10
    lo, hi = plan_any[plan, 0], plan_any[plan, 1]
    won = winner_nb(lo, hi, start_day, facts, second, candidates, bindings, timings)
    if won >= 0:
        return lo, hi, -1, won
    return -1, -1, -1, -1


@njit(cache=True)
def round_micros_nb(whole, frac, unit_lcm, decimals, method):
    """``whole + frac / unit_lcm`` micros rounded to ``decimals`` (reference.round_micros).

    method: 0 up (towards +infinity), 1 half up, 2 down (towards zero).
    """
    step = 1
    for _ in range(6 - decimals):
        step *= 10
    steps = whole // step
    rest = whole - steps * step  # 0 <= rest < step, so the exact rest is rest + frac/unit_lcm
    exact = rest == 0 and frac == 0
    if method == 0 or (method == 2 and whole < 0):
        if not exact:
            steps += 1
    elif method == 1:
        # Up when rest + frac/unit_lcm >= step/2, i.e. twice_over + 2 frac/unit_lcm >= 0.
        twice_over = 2 * rest - step
        if twice_over >= 0 or (twice_over == -1 and 2 * frac >= unit_lcm):
            steps += 1
    return steps * step


@njit(cache=True)
def rate_with_plan_nb(
    plan,
    local_second,
    number_value,
    number_len,
    usage,
    time_based,
    on_net,
    covered,
    bindings,
    timings,
    slots,
    lookup,
    holiday_days,
    unit_lcm,
    span_base,
    span_capacity,
    spans,
):
    """One event with one plan (reference.rate_with_plan).

    Returns (error, cost_micros, zero_rated, billed_usage, allowance_units,
    connect_fee_micros, first binding, prefix id, number of spans). The first
    ``span_capacity`` spans are written to ``spans`` from row ``span_base``.
    """
    (
        _,
        rate,
        _,
        _,
        _,
        rounding_method,
        rounding_decimals,
        max_cost_micros,
        max_cost_free,
        min_charge_micros,
        min_usage,
        zero_rated,
    ) = bindings
    (
        slot_offsets,
        slot_start,
        slot_price,
        slot_rate_unit,
        slot_increment,
        slot_connect_fee,
        slot_unit_scale,
    ) = slots
    candidates = lookup[0]
    span_start_usage, span_usage, span_billed, span_binding, span_slot = spans

    start_day = local_second // 86400
    start_second = local_second - start_day * 86400
    start_facts = day_facts_nb(start_day, holiday_days)
    lo, hi, prefix, first = choose_destination_nb(
        plan,
        on_net,
        number_value,
        number_len,
        start_day,
        start_facts,
        start_second,
        bindings,
        timings,
        lookup,
    )
    if first < 0:
        return 2, 0, False, 0, 0, 0, -1, -1, 0  # UNAUTHORIZED_DESTINATION
    if 0 < usage < min_usage[first]:
        usage = min_usage[first]

    facts_day = start_day
    facts = start_facts
    second = start_second
    cursor = 0
    n_spans = 0
    left = covered  # allowance units still to draw, first billed units first
    whole = 0
    frac = 0
    rounding = first
    while True:
        if time_based:
            moment = local_second + cursor
            day = moment // 86400
            second = moment - day * 86400
            if day != facts_day:
                facts_day = day
                facts = day_facts_nb(day, holiday_days)
        won = winner_nb(lo, hi, start_day, facts, second, candidates, bindings, timings)
        if won < 0:
            return 3, 0, False, 0, 0, 0, -1, -1, 0  # RATING_PLAN_GAP
        r = rate[won]
        slot = slot_offsets[r]
        while slot + 1 < slot_offsets[r + 1] and slot_start[slot + 1] <= cursor:
            slot += 1
        end = usage
        if slot + 1 < slot_offsets[r + 1]:
            end = min(end, slot_start[slot + 1])
        if time_based:
            end = min(
                end,
                cursor
                + seconds_to_change_nb(
                    lo, hi, won, start_day, facts, second, candidates, bindings, timings
                ),
            )
        span = max(end - cursor, 0)
        increment = slot_increment[slot]
        billed = (span + increment - 1) // increment * increment
        if n_spans < span_capacity:
            row = span_base + n_spans
            span_start_usage[row] = cursor
            span_usage[row] = span
            span_billed[row] = billed
            span_binding[row] = won
            span_slot[row] = slot - slot_offsets[r]
        n_spans += 1

        paid = min(left, billed)
        left -= paid
        amount = (billed - paid) * slot_price[slot]
        quotient = amount // slot_rate_unit[slot]
        whole += quotient
        frac += (amount - quotient * slot_rate_unit[slot]) * slot_unit_scale[slot]
        if frac >= unit_lcm:
            frac -= unit_lcm
            whole += 1
        if rounding_decimals[won] > rounding_decimals[rounding]:
            rounding = won

        cursor += billed
        if cursor >= usage:
            break

    billed_usage = cursor
    if zero_rated[first]:
        return 0, 0, True, billed_usage, 0, 0, first, prefix, n_spans
    allowance_units = min(covered, billed_usage)
    if billed_usage - allowance_units <= 0:
        return 0, 0, False, billed_usage, allowance_units, 0, first, prefix, n_spans
    connect_fee = slot_connect_fee[slot_offsets[rate[first]]]
    whole += connect_fee
    cap = max_cost_micros[first]
    if max_cost_free[first] and cap > 0 and (whole > cap or (whole == cap and frac > 0)):
        whole = cap
        frac = 0
    if whole < min_charge_micros[first]:
        whole = min_charge_micros[first]
        frac = 0
    cost = round_micros_nb(
        whole, frac, unit_lcm, rounding_decimals[rounding], rounding_method[rounding]
    )
    return 0, cost, False, billed_usage, allowance_units, connect_fee, first, prefix, n_spans


@njit(cache=True, parallel=True)
def rate_events_nb(
    chain,
    chain_offsets,
    chain_plans,
    local_seconds,
    number_value,
    number_len,
    usage,
    time_based,
    on_net,
    covered,
    bindings,
    timings,
    slots,
    lookup,
    holiday_days,
    unit_lcm,
    span_offsets,
    spans,
):
    """Rate events: each tries its chain's plans until one does not answer UNAUTHORIZED.

    chain: int64 (n,) chain id, -1 for no profile. With span_offsets (n + 1,), event i
    writes its spans to rows span_offsets[i]:span_offsets[i + 1] of ``spans``; with an empty
    span_offsets nothing is written. Returns per event: error int8, cost_micros, zero_rated
    bool, billed_usage, allowance_units, connect_fee_micros, chain_step (index into
    chain_plans, -1), first_binding, prefix (-1), n_spans.
    """
    n = chain.size
    error = np.zeros(n, np.int8)
    cost = np.zeros(n, np.int64)
    zero_rated = np.zeros(n, np.bool_)
    billed_usage = np.zeros(n, np.int64)
    allowance_units = np.zeros(n, np.int64)
    connect_fee = np.zeros(n, np.int64)
    chain_step = np.full(n, -1, np.int64)
    first_binding = np.full(n, -1, np.int64)
    prefix = np.full(n, -1, np.int64)
    n_spans = np.zeros(n, np.int64)
    record = span_offsets.size > 0
    for i in prange(n):
        c = chain[i]
        if c < 0:
            error[i] = 1
            continue
        error[i] = 2  # UNAUTHORIZED_DESTINATION unless a plan of the chain answers otherwise
        span_base = span_offsets[i] if record else 0
        span_capacity = span_offsets[i + 1] - span_base if record else 0
        for step in range(chain_offsets[c], chain_offsets[c + 1]):
            result = rate_with_plan_nb(
                chain_plans[step],
                local_seconds[i],
                number_value[i],
                number_len[i],
                usage[i],
                time_based[i],
                on_net[i],
                covered[i],
                bindings,
                timings,
                slots,
                lookup,
                holiday_days,
                unit_lcm,
                span_base,
                span_capacity,
                spans,
            )
            if result[0] == 2:
                continue
            error[i] = result[0]
            if result[0] == 0:
                cost[i] = result[1]
                zero_rated[i] = result[2]
                billed_usage[i] = result[3]
                allowance_units[i] = result[4]
                connect_fee[i] = result[5]
                first_binding[i] = result[6]
                prefix[i] = result[7]
                n_spans[i] = result[8]
            chain_step[i] = step
            break
    return (
        error,
        cost,
        zero_rated,
        billed_usage,
        allowance_units,
        connect_fee,
        chain_step,
        first_binding,
        prefix,
        n_spans,
    )
