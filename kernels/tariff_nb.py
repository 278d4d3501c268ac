"""Numba kernels rating events against a compiled tariff catalog (``pipelines.tariffs.compile``).

They follow ``pipelines.tariffs.reference`` rule for rule: plan chain, destination choice,
winning binding at each instant, span walk, exact money. The catalog arrives as a few
row-major int64 tables (one row per binding, candidate, timing, slot or prefix key, so one
event touches few cache lines) plus per-plan offsets. The helpers take those arrays and
scalars, never tuples of arrays, and are inlined: a call that takes arrays costs atomic
reference counting on each. Nothing here reads a module global, so a cached compilation
never freezes a catalog. Column layouts (``pipelines.tariffs.compile``, ``*_TABLE_COLUMNS``):

- binding table (b, 12): 0 timing, 1 rate, 2 weight, 3 effective_from, 4 effective_to,
  5 rounding_method, 6 rounding_decimals, 7 max_cost_micros, 8 max_cost_free,
  9 min_charge_micros, 10 min_usage, 11 zero_rated;
- timing table (t, 8): 0 start_second, 1 end_second, 2 month_mask, 3 month_day_mask,
  4 week_day_mask, 5 holiday_rule, 6 first year, 7 end of years (CSR into timing_years);
- slot table (s, 6): 0 start, 1 price_micros, 2 rate_unit, 3 increment,
  4 connect_fee_micros, 5 unit_scale;
- candidate table (c, 16), one row per entry of the candidate lists, so that choosing a
  winner, walking its rate and applying its binding's rules reads one row (two cache
  lines), not a binding's, a rate's and a timing's: 0 binding, 1 timing, 2 weight,
  3 effective_from, 4 effective_to, 5 first slot, 6 end of slots, 7 rounding_decimals,
  8 min_usage, 9 zero_rated, 10 max_cost_micros, 11 max_cost_free, 12 min_charge_micros,
  13 rounding_method, 14-15 unused;
- key hash (h, 8), plan heads (p, 2) and the int32 head table
  (``pipelines.tariffs.prefix_index``): key hash rows hold 0 prefix value * 16 + length,
  1 plan, 2 prefix id, 3 first candidate row (-1: empty), 4 end of candidate rows,
  5 schedule, 6 parent row (the next shorter key prefixing this one), 7 length; a number's
  first digits index its plan's head table, which names its longest key;
- day schedules (``day_schedules_nb``): per schedule and day of the batch, the winner's
  position in its list by second of the day, so that an event starting on a tabulated day
  finds its winner and the next change in a few rows instead of scanning its candidates'
  timings; the days after a call's start day are scanned.

Money is exact: an event's cost is ``whole + frac / unit_lcm`` micros with 0 <= frac <
unit_lcm, the lcm of all rate units, so caps, minimum charges and rounding compare exact
values without fractions or floats. The API bounds every product before calling, and every
divisor (increments, rate units, unit_lcm) is >= 1, hence ``error_model="numpy"``.

Error codes: 0 none, 1 RATING_PLAN_NOT_FOUND, 2 UNAUTHORIZED_DESTINATION, 3 RATING_PLAN_GAP.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange


@njit(cache=True, error_model="numpy", inline="always")
def lower_bound_nb(values, lo, hi, target):
    """First index in [lo, hi) of ascending ``values`` holding a value >= target (hi if none).

    Branch-free halving (a conditional move per step): prefix searches land anywhere in
    their range, so a branchy search mispredicts about every other step.
    """
    if lo >= hi:
        return hi
    base = lo
    size = hi - lo
    while size > 1:
        half = size >> 1
        base = base + half if values[base + half] < target else base
        size -= half
    return base + 1 if values[base] < target else base


@njit(cache=True, error_model="numpy", inline="always")
def find_key_nb(key_hash, plan, length, value):
    """Row of ``key_hash`` holding plan's prefix key of ``length`` digits and this value, -1.

    key_hash: int64 (h, 8) open-addressing table (``pipelines.tariffs.prefix_index``), h a
    power of two; the hash is prefix_index.key_hash_rows'.
    """
    mask = key_hash.shape[0] - 1
    packed = value * 16 + length
    mixed = np.uint64(packed) * np.uint64(0x9E3779B97F4A7C15) + np.uint64(plan) * np.uint64(
        0xC2B2AE3D27D4EB4F
    )
    row = np.int64(mixed >> np.uint64(32)) & mask
    while True:
        if key_hash[row, 3] < 0:
            return -1
        if key_hash[row, 0] == packed and key_hash[row, 1] == plan:
            return row
        row = (row + 1) & mask


@njit(cache=True, error_model="numpy", inline="always")
def longest_key_nb(key_hash, prefix_offsets, plan, value, number_len, shortest):
    """Row of ``key_hash`` holding plan's longest key of more than ``shortest`` digits that
    prefixes the number (value of number_len digits), -1 if none: one probe per length the
    plan has keys of."""
    for length in range(number_len, shortest, -1):
        if prefix_offsets[plan, length] < prefix_offsets[plan, length + 1]:
            row = find_key_nb(key_hash, plan, length, value)
            if row >= 0:
                return row
        value //= 10
    return -1


@njit(cache=True, error_model="numpy", inline="always")
def matching_key_nb(
    plan_heads, head_table, key_hash, prefix_offsets, pow10, plan, value, number_len
):
    """Row of ``key_hash`` holding plan's longest key prefixing the number, -1 if none.

    The plan's dense head table answers for keys up to its head digits; the hash is probed
    only for numbers shorter than those or for heads some longer key starts with.
    """
    digits = plan_heads[plan, 1]
    if digits == 0 or number_len < digits:
        return longest_key_nb(key_hash, prefix_offsets, plan, value, number_len, 0)
    entry = np.int64(head_table[plan_heads[plan, 0] + value // pow10[number_len - digits]])
    if entry & 1:
        row = longest_key_nb(key_hash, prefix_offsets, plan, value, number_len, digits)
        if row >= 0:
            return row
    return (entry >> 1) - 1


@njit(cache=True, error_model="numpy", inline="always")
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


@njit(cache=True, error_model="numpy", inline="always")
def day_facts_nb(day, holiday_days):
    """(year, month, month day, ISO week day, is holiday) of a local day number."""
    year, month, month_day = civil_from_days_nb(day)
    # Day 0 (1970-01-01) was a Thursday, ISO day 4.
    week_day = (day + 3) % 7 + 1
    k = lower_bound_nb(holiday_days, 0, holiday_days.size, day)
    holiday = k < holiday_days.size and holiday_days[k] == day
    return year, month, month_day, week_day, holiday


@njit(cache=True, error_model="numpy", inline="always")
def timing_active_nb(timing_table, timing_years, t, facts, second):
    """Whether timing t covers ``second`` of a day with these facts (reference.timing_active)."""
    if not timing_table[t, 0] <= second < timing_table[t, 1]:
        return False
    year, month, month_day, week_day, holiday = facts
    month_mask = timing_table[t, 2]
    if month_mask != 0 and (month_mask >> month) & 1 == 0:
        return False
    month_day_mask = timing_table[t, 3]
    if month_day_mask != 0 and (month_day_mask >> month_day) & 1 == 0:
        return False
    week_day_mask = timing_table[t, 4]
    if week_day_mask != 0 and (week_day_mask >> week_day) & 1 == 0:
        return False
    holiday_rule = timing_table[t, 5]
    if (holiday_rule == 1 and not holiday) or (holiday_rule == 2 and holiday):
        return False
    first_year, end_years = timing_table[t, 6], timing_table[t, 7]
    listed = first_year == end_years  # no years listed: any year
    for k in range(first_year, end_years):
        if timing_years[k] == year:
            listed = True
    return listed


@njit(cache=True, error_model="numpy", inline="always")
def winner_nb(candidate_table, lo, hi, timing_table, timing_years, start_day, facts, second):
    """Row of ``candidate_table[lo:hi]`` that wins at ``second`` of a day; -1 if none is active.

    Only bindings in effect on the event's start day take part. Highest weight wins, then
    the later timing start, then file order (the lists are in file order).
    """
    best = -1
    best_weight = 0
    best_start = 0
    for j in range(lo, hi):
        if not candidate_table[j, 3] <= start_day <= candidate_table[j, 4]:
            continue
        t = candidate_table[j, 1]
        if not timing_active_nb(timing_table, timing_years, t, facts, second):
            continue
        weight = candidate_table[j, 2]
        start = timing_table[t, 0]
        if best < 0 or weight > best_weight or (weight == best_weight and start > best_start):
            best = j
            best_weight = weight
            best_start = start
    return best


@njit(cache=True, error_model="numpy", inline="always")
def seconds_to_change_nb(
    candidate_table, lo, hi, current, timing_table, timing_years, start_day, facts, second, horizon
):
    """Seconds from ``second`` to the next timing edge where another binding wins, or midnight.

    The answer is exact when below ``horizon``; otherwise it is some value >= horizon (edges
    past the horizon are not asked for their winner): a call that ends before the next edge
    of its candidates costs one scan of them.
    """
    passed = second
    while True:
        edge = 86400
        for j in range(lo, hi):
            if not candidate_table[j, 3] <= start_day <= candidate_table[j, 4]:
                continue
            t = candidate_table[j, 1]
            start, end = timing_table[t, 0], timing_table[t, 1]
            if passed < start < edge:
                edge = start
            if passed < end < edge:
                edge = end
        if edge == 86400 or edge - second >= horizon:
            return edge - second
        won = winner_nb(candidate_table, lo, hi, timing_table, timing_years, start_day, facts, edge)
        if won != current:
            return edge - second
        passed = edge


@njit(cache=True, error_model="numpy")
def day_schedules_nb(
    schedule_lists, candidate_table, timing_table, timing_years, holiday_days, first_day, n_days
):
    """Every schedule's winners on each of n_days days from ``first_day``, as segments.

    Entry ``schedule * n_days + d`` (d the day's index) is rows
    ``offsets[entry]:offsets[entry + 1]`` of ``segments`` (m, 2): end second (exclusive; the
    last is midnight, 86400) and the winner's position in the list (-1: none active), for
    events that start that day (the bindings in effect that day take part). Consecutive
    segments have different winners, so a segment's end is where the winner changes or
    midnight: what ``seconds_to_change_nb`` answers.
    """
    n_entries = schedule_lists.shape[0] * n_days
    offsets = np.zeros(n_entries + 1, np.int64)
    segments = np.zeros((0, 2), np.int64)
    for fill in range(2):
        if fill:
            segments = np.empty((offsets[n_entries], 2), np.int64)
        for entry in range(n_entries):
            s = entry // n_days
            day = first_day + entry - s * n_days
            lo, hi = schedule_lists[s, 0], schedule_lists[s, 1]
            facts = day_facts_nb(day, holiday_days)
            row = offsets[entry]
            second = 0
            while second < 86400:
                won = winner_nb(
                    candidate_table, lo, hi, timing_table, timing_years, day, facts, second
                )
                second += seconds_to_change_nb(
                    candidate_table,
                    lo,
                    hi,
                    won,
                    timing_table,
                    timing_years,
                    day,
                    facts,
                    second,
                    86401,  # beyond any edge of the day: every answer is exact
                )
                if fill:
                    segments[row, 0] = second
                    segments[row, 1] = won - lo if won >= 0 else -1
                row += 1
            if not fill:
                offsets[entry + 1] = row
    return offsets, segments


@njit(cache=True, error_model="numpy", inline="always")
def scheduled_winner_nb(schedule_offsets, schedule_segments, entry, second):
    """(winner's position in its list or -1, end second of its segment) at ``second``."""
    k = schedule_offsets[entry]
    while schedule_segments[k, 0] <= second:
        k += 1
    return schedule_segments[k, 1], schedule_segments[k, 0]


@njit(cache=True, error_model="numpy", inline="always")
def list_winner_nb(
    lo,
    hi,
    schedule,
    day_slot,
    schedule_days,
    schedule_offsets,
    schedule_segments,
    candidate_table,
    timing_table,
    timing_years,
    start_day,
    facts,
    second,
):
    """Row of ``candidate_table[lo:hi]`` winning at ``second`` of the start day, -1 if none:
    from the day's schedule when the batch tabulated it (day_slot >= 0), else by a scan."""
    if day_slot >= 0:
        position, _ = scheduled_winner_nb(
            schedule_offsets, schedule_segments, schedule * schedule_days + day_slot, second
        )
        return lo + position if position >= 0 else -1
    return winner_nb(candidate_table, lo, hi, timing_table, timing_years, start_day, facts, second)


@njit(cache=True, error_model="numpy", inline="always")
def choose_destination_nb(
    plan,
    on_net,
    number_value,
    number_len,
    start_day,
    facts,
    second,
    day_slot,
    schedule_days,
    schedule_offsets,
    schedule_segments,
    candidate_table,
    plan_on_net,
    plan_any,
    prefix_offsets,
    key_hash,
    plan_heads,
    head_table,
    pow10,
    timing_table,
    timing_years,
):
    """(lo, hi, schedule, prefix id, first winner's row) of the candidates the event's number
    resolves to.

    On-net first (if the event is), then the longest prefix whose list has a binding active
    at the start, then ``*any``; lo = -1 when nothing applies. The prefix id is -1 for the
    on-net and ``*any`` lists.
    """
    if on_net:
        lo, hi, schedule = plan_on_net[plan, 0], plan_on_net[plan, 1], plan_on_net[plan, 2]
        won = list_winner_nb(
            lo,
            hi,
            schedule,
            day_slot,
            schedule_days,
            schedule_offsets,
            schedule_segments,
            candidate_table,
            timing_table,
            timing_years,
            start_day,
            facts,
            second,
        )
        if won >= 0:
            return lo, hi, schedule, -1, won
    # The longest key, then the shorter ones prefixing it (its parents), longest first.
    row = matching_key_nb(
        plan_heads, head_table, key_hash, prefix_offsets, pow10, plan, number_value, number_len
    )
    while row >= 0:
        lo, hi, schedule = key_hash[row, 3], key_hash[row, 4], key_hash[row, 5]
        won = list_winner_nb(
            lo,
            hi,
            schedule,
            day_slot,
            schedule_days,
            schedule_offsets,
            schedule_segments,
            candidate_table,
            timing_table,
            timing_years,
            start_day,
            facts,
            second,
        )
        if won >= 0:
            return lo, hi, schedule, key_hash[row, 2], won
        row = key_hash[row, 6]
    lo, hi, schedule = plan_any[plan, 0], plan_any[plan, 1], plan_any[plan, 2]
    won = list_winner_nb(
        lo,
        hi,
        schedule,
        day_slot,
        schedule_days,
        schedule_offsets,
        schedule_segments,
        candidate_table,
        timing_table,
        timing_years,
        start_day,
        facts,
        second,
    )
    if won >= 0:
        return lo, hi, schedule, -1, won
    return -1, -1, -1, -1, -1


@njit(cache=True, error_model="numpy", inline="always")
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


@njit(cache=True, error_model="numpy", inline="always")
def rate_with_plan_nb(
    plan,
    local_second,
    number_value,
    number_len,
    usage,
    time_based,
    on_net,
    covered,
    candidate_table,
    timing_table,
    timing_years,
    slot_table,
    plan_on_net,
    plan_any,
    prefix_offsets,
    key_hash,
    plan_heads,
    head_table,
    pow10,
    holiday_days,
    schedule_first_day,
    schedule_days,
    schedule_offsets,
    schedule_segments,
    unit_lcm,
    span_base,
    span_capacity,
    spans,
):
    """One event with one plan (reference.rate_with_plan).

    Returns (error, cost_micros, zero_rated, billed_usage, allowance_units,
    connect_fee_micros, first binding, prefix id, number of spans). The first
    ``span_capacity`` spans are written to columns ``span_base``... of ``spans`` (5, s):
    start usage, usage, billed, binding, slot.

    The winner only changes at the instant ``seconds_to_change_nb`` gives (it is the next
    edge where another binding wins, or midnight, whichever span it is asked from), so the
    walk asks for a winner and that instant again only when the cursor reaches it; until
    then spans end only at slot starts or the usage's end. Asked with the usage left as
    horizon, it stops at the first edge past the call's end.
    """
    start_day = local_second // 86400
    start_second = local_second - start_day * 86400
    # The start day's winners come from its schedules when the batch tabulated the day;
    # otherwise (and for the days after the start) from the day's facts.
    day_slot = start_day - schedule_first_day
    facts_day = start_day
    if 0 <= day_slot < schedule_days:
        facts = (np.int64(0), np.int64(0), np.int64(0), np.int64(0), False)
        facts_day = start_day - 1  # a day the walk never reaches: facts not computed
    else:
        day_slot = -1
        facts = day_facts_nb(start_day, holiday_days)
    lo, hi, schedule, prefix, first = choose_destination_nb(
        plan,
        on_net,
        number_value,
        number_len,
        start_day,
        facts,
        start_second,
        day_slot,
        schedule_days,
        schedule_offsets,
        schedule_segments,
        candidate_table,
        plan_on_net,
        plan_any,
        prefix_offsets,
        key_hash,
        plan_heads,
        head_table,
        pow10,
        timing_table,
        timing_years,
    )
    if first < 0:
        return 2, 0, False, 0, 0, 0, -1, -1, 0  # UNAUTHORIZED_DESTINATION
    first_binding = candidate_table[first, 0]
    if 0 < usage < candidate_table[first, 8]:
        usage = candidate_table[first, 8]

    won = first
    # Cursor at which the winner may change: never for usage rated at its start instant.
    change = usage
    if time_based and day_slot >= 0:
        _, segment_end = scheduled_winner_nb(
            schedule_offsets, schedule_segments, schedule * schedule_days + day_slot, start_second
        )
        change = segment_end - start_second
    elif time_based:
        change = seconds_to_change_nb(
            candidate_table,
            lo,
            hi,
            won,
            timing_table,
            timing_years,
            start_day,
            facts,
            start_second,
            usage,
        )
    cursor = 0
    n_spans = 0
    left = covered  # allowance units still to draw, first billed units first
    whole = 0
    frac = 0
    rounding = first
    while True:
        if cursor >= change:
            moment = local_second + cursor
            day = moment // 86400
            second = moment - day * 86400
            if day == start_day and day_slot >= 0:
                position, segment_end = scheduled_winner_nb(
                    schedule_offsets,
                    schedule_segments,
                    schedule * schedule_days + day_slot,
                    second,
                )
                won = lo + position if position >= 0 else -1
                if won < 0:
                    return 3, 0, False, 0, 0, 0, -1, -1, 0  # RATING_PLAN_GAP
                change = cursor + segment_end - second
            else:
                if day != facts_day:
                    facts_day = day
                    facts = day_facts_nb(day, holiday_days)
                won = winner_nb(
                    candidate_table, lo, hi, timing_table, timing_years, start_day, facts, second
                )
                if won < 0:
                    return 3, 0, False, 0, 0, 0, -1, -1, 0  # RATING_PLAN_GAP
                change = cursor + seconds_to_change_nb(
                    candidate_table,
                    lo,
                    hi,
                    won,
                    timing_table,
                    timing_years,
                    start_day,
                    facts,
                    second,
                    usage - cursor,
                )
            if candidate_table[won, 7] > candidate_table[rounding, 7]:
                rounding = won
        first_slot = candidate_table[won, 5]
        end_slot = candidate_table[won, 6]
        slot = first_slot
        while slot + 1 < end_slot and slot_table[slot + 1, 0] <= cursor:
            slot += 1
        end = usage
        if slot + 1 < end_slot and slot_table[slot + 1, 0] < end:
            end = slot_table[slot + 1, 0]
        if time_based and change < end:
            end = change
        span = max(end - cursor, 0)
        increment = slot_table[slot, 3]
        billed = span if increment == 1 else (span + increment - 1) // increment * increment
        if n_spans < span_capacity:
            column = span_base + n_spans
            spans[0, column] = cursor
            spans[1, column] = span
            spans[2, column] = billed
            spans[3, column] = candidate_table[won, 0]
            spans[4, column] = slot - first_slot
        n_spans += 1

        paid = min(left, billed)
        left -= paid
        if billed > paid:
            amount = (billed - paid) * slot_table[slot, 1]
            rate_unit = slot_table[slot, 2]
            quotient = amount // rate_unit
            whole += quotient
            frac += (amount - quotient * rate_unit) * slot_table[slot, 5]
            if frac >= unit_lcm:
                frac -= unit_lcm
                whole += 1

        cursor += billed
        if cursor >= usage:
            break

    billed_usage = cursor
    if candidate_table[first, 9]:
        return 0, 0, True, billed_usage, 0, 0, first_binding, prefix, n_spans
    allowance_units = min(covered, billed_usage)
    if billed_usage - allowance_units <= 0:
        return 0, 0, False, billed_usage, allowance_units, 0, first_binding, prefix, n_spans
    connect_fee = slot_table[candidate_table[first, 5], 4]
    whole += connect_fee
    cap = candidate_table[first, 10]
    if candidate_table[first, 11] and cap > 0 and (whole > cap or (whole == cap and frac > 0)):
        whole = cap
        frac = 0
    if whole < candidate_table[first, 12]:
        whole = candidate_table[first, 12]
        frac = 0
    method = candidate_table[rounding, 13]
    cost = round_micros_nb(whole, frac, unit_lcm, candidate_table[rounding, 7], method)
    return (
        0,
        cost,
        False,
        billed_usage,
        allowance_units,
        connect_fee,
        first_binding,
        prefix,
        n_spans,
    )


@njit(cache=True, error_model="numpy")
def batch_extent_nb(local_seconds, usage, time_based, min_usage):
    """(max usage, min local second, max local second, max last rated instant), one pass.

    A time-based event is rated at instants up to local_second + max(usage, min_usage) - 1.
    The last value may have wrapped when local_second + usage leaves int64; the API checks
    the first three before trusting it. local_seconds must not be empty.
    """
    max_usage = usage[0]
    first = local_seconds[0]
    last = local_seconds[0]
    reach_end = local_seconds[0]
    for i in range(local_seconds.size):
        moment = local_seconds[i]
        max_usage = max(max_usage, usage[i])
        first = min(first, moment)
        last = max(last, moment)
        if time_based[i]:
            moment += max(max(usage[i], min_usage) - 1, 0)
        reach_end = max(reach_end, moment)
    return max_usage, first, last, reach_end


@njit(cache=True, parallel=True, error_model="numpy")
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
    candidate_table,
    timing_table,
    timing_years,
    slot_table,
    plan_on_net,
    plan_any,
    prefix_offsets,
    key_hash,
    plan_heads,
    head_table,
    pow10,
    holiday_days,
    schedule_first_day,
    schedule_days,
    schedule_offsets,
    schedule_segments,
    unit_lcm,
    chain_subjects,
    binding_deck,
    binding_destination,
    binding_rate,
    binding_timing,
    span_offsets,
    spans,
    error,
    cost,
    zero_rated,
    billed_usage,
    allowance_units,
    connect_fee,
    rating_plan,
    subject,
    first_binding,
    deck,
    destination,
    prefix,
    rate,
    timing,
    n_spans,
):
    """Rate events: each tries its chain's plans until one does not answer UNAUTHORIZED.

    chain: int64 (n,) chain id, -1 for no profile. With span_offsets (n + 1,), event i
    writes its spans to columns span_offsets[i]:span_offsets[i + 1] of ``spans`` int64
    (5, s); with an empty span_offsets nothing is written. Writes per event (the caller's
    (n,) arrays, so that a stage rating batch after batch reuses its memory): error int8,
    cost_micros, zero_rated bool, billed_usage, allowance_units, connect_fee_micros (int64),
    then int32 indices, -1 where none: rating plan and subject (of the chain step that
    answered, also for RATING_PLAN_GAP), first binding, its destination rates and
    destination, prefix, the binding's rate and timing, and the number of spans. Indices
    are int32: every event of a large batch writes them, and half the bytes is half the
    memory traffic.
    """
    n = chain.size
    record = span_offsets.size > 0
    for i in prange(n):
        # Unless a plan of the chain answers: no profile, or no plan knows the destination.
        code = 1
        c = chain[i]
        found = -1
        result = (2, 0, False, 0, 0, 0, -1, -1, 0)
        if c >= 0:
            code = 2
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
                    candidate_table,
                    timing_table,
                    timing_years,
                    slot_table,
                    plan_on_net,
                    plan_any,
                    prefix_offsets,
                    key_hash,
                    plan_heads,
                    head_table,
                    pow10,
                    holiday_days,
                    schedule_first_day,
                    schedule_days,
                    schedule_offsets,
                    schedule_segments,
                    unit_lcm,
                    span_base,
                    span_capacity,
                    spans,
                )
                if result[0] != 2:
                    code = result[0]
                    found = step
                    break
        error[i] = code
        rating_plan[i] = chain_plans[found] if found >= 0 else -1
        subject[i] = chain_subjects[found] if found >= 0 else -1
        b = result[6] if code == 0 else -1
        first_binding[i] = b
        deck[i] = binding_deck[b] if b >= 0 else -1
        destination[i] = binding_destination[b] if b >= 0 else -1
        rate[i] = binding_rate[b] if b >= 0 else -1
        timing[i] = binding_timing[b] if b >= 0 else -1
        if code == 0:
            cost[i] = result[1]
            zero_rated[i] = result[2]
            billed_usage[i] = result[3]
            allowance_units[i] = result[4]
            connect_fee[i] = result[5]
            prefix[i] = result[7]
            n_spans[i] = result[8]
        else:
            cost[i] = 0
            zero_rated[i] = False
            billed_usage[i] = 0
            allowance_units[i] = 0
            connect_fee[i] = 0
            prefix[i] = -1
            n_spans[i] = 0
