"""Region and number type of a whole column of numbers, exactly as ``classify_number`` gives
them, at millions of numbers a second.

``classify_number`` parses one number at a time with phonenumbers (~80 microseconds each),
and a partition has hundreds of thousands of distinct other-party numbers. ``classify_numbers``
follows phonenumbers' own decisions for "+" and the number over the whole column:

1. the country calling code is the first of the leading 1, 2 or 3 digits that phonenumbers
   knows (``_extract_country_code``); the rest is the national number;
2. where the main region's national prefix pattern matches at the start of it (a "1"
   after +1, an "8" after +7, every Argentine number), ``parse`` may strip or transform
   the prefix: the match is worked out once per distinct head of digits and the rest of
   ``_maybe_strip_national_prefix_carrier_code`` and the length test after it over the
   column;
3. the region is the code's only region, or the first of its regions whose leading digits
   match or whose ranges hold the number (``region_code_for_number``), else the main region;
4. the type is the first of premium rate, toll free, ... voicemail, then fixed line or
   mobile, whose possible lengths and pattern fit (``_number_type_helper``).

Which patterns a number matches is read off a finite automaton over its digits: every
national-number, leading-digits and national-prefix pattern of a country calling code is
compiled, from Python's own parse of the pattern (so it means exactly what ``re`` reads),
into one deterministic automaton that reports all of them in a single pass. States are
built lazily, as numbers reach them, and kept for the life of the process, so once warm the
cost is a table look-up per digit. Steps 3 and 4 are worked out once per (final state,
length) and kept too.

Polars' own regular expressions were the first candidate, but the metadata has thousands of
patterns, Rust's engine takes about a millisecond to compile a large one and polars keeps
only a few compiled; per partition that compiling alone cost more than a second.

Numbers this cannot follow go through ``classify_number``: non-ASCII characters
(``str.isdigit`` accepts other scripts' digits), more than 20 digits (E.164 allows 15), and
any country whose metadata uses a construct outside the supported subset of regular
expressions (none in the phonenumbers release this was written against). Where a national
prefix pattern holds "$" (Japan, Madagascar, San Marino, Norfolk Island), numbers it
matches get their national significant number from ``phonenumbers.parse`` one by one.
"""

from __future__ import annotations

import functools
import re
import threading
from collections import defaultdict
from dataclasses import dataclass

# Python's own regular-expression parser: an automaton built from its parse tree matches
# exactly what re.fullmatch and re.match match. The modules are private, hence the ignore.
from re import _constants, _parser  # type: ignore[attr-defined]
from typing import Any

import numpy as np
import phonenumbers
import polars as pl
import pyarrow as pa
from phonenumbers import PhoneMetadata
from phonenumbers.phonenumberutil import COUNTRY_CODE_TO_REGION_CODE

from pipelines.mediation.numbering import classify_number

# Longest digit string classified here; longer ones go through classify_number.
_MAX_DIGITS = 20
# phonenumbers.parse refuses national significant numbers longer than this.
_MAX_NATIONAL_LENGTH = 17

# The special-rate types _number_type_helper tries before fixed line and mobile, in its
# order; the metadata attribute and the lake's type name are the same.
_SPECIAL_TYPES = (
    "premium_rate",
    "toll_free",
    "shared_cost",
    "voip",
    "personal_number",
    "pager",
    "uan",
    "voicemail",
)
# The patterns of one region the automaton reports, by slot: 0 is the general
# description, 1-8 the special types, then fixed line, mobile and leading digits. Region i
# of a country calling code reports slot s as tag i * _SLOTS + s.
_GENERAL = 0
_FIXED_LINE = len(_SPECIAL_TYPES) + 1
_MOBILE = _FIXED_LINE + 1
_LEADING_DIGITS = _MOBILE + 1
_SLOTS = _LEADING_DIGITS + 1
_NATIONAL_PREFIX = -1  # the main region's national prefix may apply

# Results are indexes into these names until the end.
_TYPE_NAMES = (
    None,
    "short_code",
    "unknown",
    *_SPECIAL_TYPES,
    "fixed_line",
    "mobile",
    "fixed_line_or_mobile",
)
_REGION_NAMES = (None, *sorted({r for rs in COUNTRY_CODE_TO_REGION_CODE.values() for r in rs}))
_TYPE_INDEX = {name: index for index, name in enumerate(_TYPE_NAMES)}
_REGION_INDEX = {name: index for index, name in enumerate(_REGION_NAMES)}
_UNKNOWN = _TYPE_INDEX["unknown"]

_DIGITS = 10
_SYMBOLS = _DIGITS + 1
_PAD = _DIGITS  # the symbol after a number's last digit: every state stays where it is
_ALL_DIGITS = (1 << _DIGITS) - 1


class _NotPortable(Exception):
    """A pattern construct this module does not reproduce; its country goes one by one."""


def classify_numbers(numbers: pl.Series) -> pl.DataFrame:
    """(number, region, number_type) for each element of ``numbers``, in input order.

    Equal to ``classify_number(n)`` for every element ``n``: region and number_type are
    null for a null or empty number, number_type is ``short_code`` for numbers of up to six
    characters or with a non-digit, ``unknown`` outside every range. Elements are classified
    as they come, repeats included; a repeat costs as much as a distinct number, so pass the
    distinct values when there are many repeats.
    """
    numbers = numbers.cast(pl.String).rename("number")
    region, kind = _classify(numbers)
    return pl.DataFrame(
        {
            "number": numbers,
            "region": pl.Series(_REGION_NAMES, dtype=pl.String).gather(region),
            "number_type": pl.Series(_TYPE_NAMES, dtype=pl.String).gather(kind),
        }
    )


def _classify(numbers: pl.Series) -> tuple[np.ndarray, np.ndarray]:
    """Region and type indexes of every element."""
    number = pl.col("number")
    length = number.str.len_chars()
    # classify_number: null or "" is (None, None); six characters or fewer, or a
    # non-digit, a short code. Non-ASCII text may hold digits of other scripts, which
    # str.isdigit accepts: those go one by one, as do very long digit strings.
    empty, short_code, digits, one_by_one = range(4)
    path = (
        pl.when(number.is_null() | (length == 0))
        .then(empty)
        .when(length <= 6)
        .then(short_code)
        .when(number.str.contains(f"^[0-9]{{7,{_MAX_DIGITS}}}$"))
        .then(digits)
        .when(number.str.contains(r"^[0-9]+$|[^\x00-\x7f]"))
        .then(one_by_one)
        .otherwise(short_code)
    )
    paths = numbers.to_frame().select(path).to_series().to_numpy()
    region = np.zeros(len(numbers), dtype=np.int32)  # None
    kind = np.zeros(len(numbers), dtype=np.int32)  # None
    kind[paths == short_code] = _TYPE_INDEX["short_code"]
    rows = np.flatnonzero(paths == digits)
    region[rows], kind[rows] = _classify_digits(numbers.gather(rows))
    rows = np.flatnonzero(paths == one_by_one)
    region[rows], kind[rows] = _classify_one_by_one(numbers.gather(rows).to_list())
    return region, kind


def _classify_digits(numbers: pl.Series) -> tuple[np.ndarray, np.ndarray]:
    """Strings of 7 to 20 ASCII digits, read as "+" and the number."""
    data, starts, lengths = _buffers(numbers)
    code, code_length = _country_codes(data, starts)
    start = np.full(len(numbers), -1, dtype=np.int32)
    for calling_code in np.unique(code[code > 0]).tolist():
        if (machine := _machine(calling_code)) is not None:
            start[code == calling_code] = _AUTOMATON.start(machine)
    # Without a known country calling code parse fails: no region, unknown.
    region = np.zeros(len(numbers), dtype=np.int32)
    kind = np.full(len(numbers), _UNKNOWN, dtype=np.int32)

    rows = np.flatnonzero(start >= 0)
    national = starts[rows] + code_length[rows]
    national_length = lengths[rows] - code_length[rows]
    final = _AUTOMATON.run(start[rows], data, national, national_length)
    outcome = _AUTOMATON.outcomes(final, national_length)
    region[rows], kind[rows] = outcome.region, outcome.kind

    # Numbers whose national prefix pattern matches (a "1" after +1, an "8" after +7, every
    # Argentine number) may have a different national significant number.
    prefixed = rows[outcome.prefixed]
    rules = {
        calling_code: rule
        for calling_code in np.unique(code[prefixed]).tolist()
        if (rule := _prefix_rule(calling_code)) is not None
    }
    by_rule = np.isin(code[prefixed], list(rules))
    these = prefixed[by_rule]
    region[these], kind[these] = _strip_national_prefixes(
        rules,
        numbers.gather(these),
        code[these],
        code_length[these],
        start[these],
        outcome.main_general[outcome.prefixed][by_rule],
        region[these],
        kind[these],
    )
    these = prefixed[~by_rule]
    region[these], kind[these] = _parse_one_by_one(numbers.gather(these), start[these])

    one_by_one = np.flatnonzero((code > 0) & (start < 0))
    region[one_by_one], kind[one_by_one] = _classify_one_by_one(
        numbers.gather(one_by_one).to_list()
    )
    return region, kind


def _strip_national_prefixes(
    rules: dict[int, _PrefixRule],
    numbers: pl.Series,
    code: np.ndarray,
    code_length: np.ndarray,
    start: np.ndarray,
    viable: np.ndarray,
    region: np.ndarray,
    kind: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Region and type once parse's national prefix handling is applied.

    parse strips (or transforms) what the main region's national prefix pattern matches at
    the start, unless the number goes from viable (its general pattern matches) to not
    viable, or the result has no possible length and is not too long. What the prefix
    pattern matches depends only on the first digits it can read, so it is worked out
    once per distinct head; the candidate national number goes through the automaton.
    ``region`` and ``kind`` are the classes without stripping.
    """
    if numbers.is_empty():
        return region, kind
    width = np.array([rules[c].width for c in code.tolist()], dtype=np.int64)
    frame = pl.DataFrame({"number": numbers, "code": code, "skip": code_length}).with_columns(
        head=pl.col("number").str.slice(0, pl.Series(code_length + width))
    )
    heads = frame.select("head", "code", "skip").unique()
    taken, put = [], []
    for head, calling_code, skip in heads.iter_rows():
        stripped = rules[calling_code].strip(head[skip:])
        taken.append(-1 if stripped is None else stripped[0])
        put.append("" if stripped is None else stripped[1])
    heads = heads.with_columns(
        taken=pl.Series(taken, dtype=pl.Int64), put=pl.Series(put, dtype=pl.String)
    )
    frame = frame.join(heads, on=["head", "code", "skip"], how="left", maintain_order="left")
    candidate = frame.select(
        pl.col("put") + pl.col("number").str.slice(pl.col("skip") + pl.col("taken").clip(0))
    ).to_series()
    data, starts, lengths = _buffers(candidate)
    outcome = _AUTOMATON.outcomes(_AUTOMATON.run(start, data, starts, lengths), lengths)
    pairs = code.astype(np.int64) * 64 + np.minimum(lengths, 63)
    distinct, inverse = np.unique(pairs, return_inverse=True)
    possible = np.array([rules[p // 64].possible(p % 64) for p in distinct.tolist()])[inverse]
    matched = frame["taken"].to_numpy() >= 0
    strip = matched & ~(viable & ~outcome.main_general) & possible
    return np.where(strip, outcome.region, region), np.where(strip, outcome.kind, kind)


def _parse_one_by_one(numbers: pl.Series, start: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Region and type from the national significant number parse gives, for the few
    numbers whose prefix pattern is read one by one; where parse fails: no region,
    unknown."""
    nationals = _national_numbers(numbers.to_list())
    parsed = nationals.is_not_null().to_numpy()
    region = np.zeros(len(numbers), dtype=np.int32)
    kind = np.full(len(numbers), _UNKNOWN, dtype=np.int32)
    data, starts, lengths = _buffers(nationals.drop_nulls())
    outcome = _AUTOMATON.outcomes(_AUTOMATON.run(start[parsed], data, starts, lengths), lengths)
    region[parsed], kind[parsed] = outcome.region, outcome.kind
    return region, kind


def _national_numbers(numbers: list[str]) -> pl.Series:
    """The national significant number parse("+" + number) gives, null where it fails."""
    nationals: list[str | None] = []
    for number in numbers:
        try:
            parsed = phonenumbers.parse("+" + number)
        except phonenumbers.NumberParseException:
            nationals.append(None)
        else:
            nationals.append(phonenumbers.national_significant_number(parsed))
    return pl.Series(nationals, dtype=pl.String)


def _classify_one_by_one(numbers: list[str]) -> tuple[np.ndarray, np.ndarray]:
    classes = [classify_number(number) for number in numbers]
    return (
        np.array([_REGION_INDEX[region] for region, _ in classes], dtype=np.int32),
        np.array([_TYPE_INDEX[kind] for _, kind in classes], dtype=np.int32),
    )


def _buffers(strings: pl.Series) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The bytes of an ASCII string column without nulls, and each string's start and
    length. The bytes are padded so that reading as many bytes as the longest string (and
    at least 3) from any start stays inside."""
    array = strings.rechunk().to_arrow()
    if array.type != pa.large_string():
        array = array.cast(pa.large_string())
    if len(array) == 0:
        return np.zeros(3, np.uint8), np.zeros(0, np.int64), np.zeros(0, np.int64)
    offsets = np.frombuffer(array.buffers()[1], dtype=np.int64)[
        array.offset : array.offset + len(array) + 1
    ]
    lengths = np.diff(offsets)
    padding = np.zeros(max(3, int(lengths.max())), np.uint8)
    values = array.buffers()[2]  # None when every string is empty
    data = np.concatenate(
        [np.frombuffer(values, dtype=np.uint8) if values is not None else padding[:0], padding]
    )
    return data, offsets[:-1], lengths


def _country_codes(data: np.ndarray, starts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each number's country calling code (0 for none) and its length in digits."""
    first, second, third = (data[starts + i].astype(np.int32) - ord("0") for i in range(3))
    one, two, three = first, first * 10 + second, first * 100 + second * 10 + third
    known = _known_codes()
    conditions = [known[1][one], known[2][two], known[3][three]]
    code = np.select(conditions, [one, two, three], default=0).astype(np.int32)
    code_length = np.select(conditions, [1, 2, 3], default=0).astype(np.int64)
    return code, code_length


@functools.cache
def _known_codes() -> dict[int, np.ndarray]:
    """By digit count, which values are country calling codes. None starts with 0, as
    _extract_country_code requires: "01" is 1 in the two-digit table, where 1 is not."""
    known = {length: np.zeros(10**length, dtype=bool) for length in (1, 2, 3)}
    for code in COUNTRY_CODE_TO_REGION_CODE:
        known[len(str(code))][code] = True
    return known


# --- Patterns as automata -------------------------------------------------------------


class _Nfa:
    """A nondeterministic automaton over digits holding many tagged patterns at once.

    A pattern's tag sits on its final state, and every state knows the region and slot of
    the pattern it belongs to. ``at_end`` moves are "$": taken only once the number has
    ended.
    """

    def __init__(self) -> None:
        self.moves: list[list[tuple[int, int]]] = []  # per state: (digit bit mask, target)
        # Sparse, as most states have neither: targets reached without a digit, and at the
        # end of the number.
        self.empty: defaultdict[int, list[int]] = defaultdict(list)
        self.at_end: defaultdict[int, list[int]] = defaultdict(list)
        # Per state, the region index and slot of the pattern it belongs to (-1, -1 for the
        # national prefix pattern, which belongs to no region).
        self.region: list[int] = []
        self.slot: list[int] = []
        # Regions that region_code_for_number picks by leading digits alone (one of several
        # regions sharing a country calling code).
        self.chosen_by_leading_digits: set[int] = set()
        self.tags: dict[int, int] = {}
        self.starts: list[int] = []
        self._closures: dict[int, frozenset[int]] = {}
        self._building = 0

    def add_full(self, pattern: str, tag: int) -> None:
        """Report ``tag`` when the whole number matches (re.fullmatch)."""
        start, final = self._pattern(pattern, tag)
        self.tags[final] = tag
        self.starts.append(start)

    def add_prefix(self, pattern: str, tag: int, *, non_empty: bool = False) -> None:
        """Report ``tag`` when the number starts with a match (re.match), or with a match
        of at least one digit."""
        start, final = self._pattern(pattern, tag)
        if non_empty:
            # A start with only the first moves of start: the empty match is not accepted.
            first = self._state()
            reached = self._reach([start], self.empty)
            self.moves[first] = [move for state in reached for move in self.moves[state]]
            start = first
        matched = self._state()
        self.empty[final].append(matched)
        self.moves[matched].append((_ALL_DIGITS, matched))
        self.tags[matched] = tag
        self.starts.append(start)

    def start(self) -> frozenset[int]:
        return self._prune(set().union(*(self._closure(s) for s in self.starts)))

    def step(self, states: frozenset[int], digit: int) -> frozenset[int]:
        """The states after reading ``digit`` in ``states``."""
        reached: set[int] = set()
        for state in states:
            for mask, target in self.moves[state]:
                if mask >> digit & 1:
                    reached |= self._closure(target)
        return self._prune(reached)

    def final_tags(self, states: frozenset[int]) -> frozenset[int]:
        """The tags reported when the number ends in ``states``."""
        reached = self._reach(states, self.empty, self.at_end)
        return frozenset(self.tags[s] for s in reached if s in self.tags)

    def _closure(self, state: int) -> frozenset[int]:
        """The states reached from ``state`` without a digit, less those that neither read
        a digit nor lead anywhere once the number ends (they change nothing reported)."""
        if state not in self._closures:
            reached = self._reach([state], self.empty)
            self._closures[state] = frozenset(
                s for s in reached if self.moves[s] or s in self.at_end or s in self.tags
            )
        return self._closures[state]

    def _prune(self, states: set[int]) -> frozenset[int]:
        """``states`` less those that can no longer change the outcome: a region's patterns
        once its leading digits have failed (region_code_for_number passes it by), and a
        region's type patterns once its general pattern has failed (number_type looks at
        them only when the general pattern matches)."""
        slot, region = self.slot, self.region
        general = {region[s] for s in states if slot[s] == _GENERAL}
        leading = {region[s] for s in states if slot[s] == _LEADING_DIGITS}
        chosen = self.chosen_by_leading_digits
        return frozenset(
            s
            for s in states
            if slot[s] == _LEADING_DIGITS
            or region[s] < 0
            or (
                (region[s] in leading or region[s] not in chosen)
                and (slot[s] == _GENERAL or region[s] in general)
            )
        )

    @staticmethod
    def _reach(states: Any, *edges: dict[int, list[int]]) -> set[int]:
        seen = set(states)
        stack = list(states)
        while stack:
            state = stack.pop()
            for targets in edges:
                for target in targets.get(state, ()):
                    if target not in seen:
                        seen.add(target)
                        stack.append(target)
        return seen

    def _pattern(self, pattern: str, tag: int) -> tuple[int, int]:
        self._building = tag
        start = self._state()
        return start, self._build(_parser.parse(pattern), start)

    def _state(self) -> int:
        self.moves.append([])
        region, slot = divmod(self._building, _SLOTS) if self._building >= 0 else (-1, -1)
        self.region.append(region)
        self.slot.append(slot)
        return len(self.moves) - 1

    def _build(self, items: Any, state: int) -> int:
        """Thompson's construction from re's parse tree; returns the state after it."""
        for op, value in items:
            if op in _ONE_CHARACTER:
                target = self._state()
                if mask := _digit_mask(op, value):
                    self.moves[state].append((mask, target))
                state = target
            elif op is _constants.SUBPATTERN:  # a group; flags cannot change what digits match
                state = self._build(value[3], state)
            elif op is _constants.BRANCH:
                # Alternatives can share their first state: no construction here adds a
                # move into the state it starts from.
                end = self._state()
                for alternative in value[1]:
                    self.empty[self._build(alternative, state)].append(end)
                state = end
            elif op in _REPEATS:  # greedy or lazy: the same language
                state = self._repeat(value, state)
            elif op is _constants.AT and value in _ENDS:
                # "$" also matches before a final newline, which a digit string never has.
                target = self._state()
                self.at_end[state].append(target)
                state = target
            else:  # "^", look-around, back-references, atomic or possessive parts
                raise _NotPortable(str(op))
        return state

    def _repeat(self, value: tuple[int, int, Any], state: int) -> int:
        low, high, body = value
        if low > 100 or (high != _constants.MAXREPEAT and high > 100):
            raise _NotPortable(f"repeat {low},{high}")
        for _ in range(low):
            state = self._build(body, state)
        if high == _constants.MAXREPEAT:
            hub = self._state()
            self.empty[state].append(hub)
            self.empty[self._build(body, hub)].append(hub)
            return hub
        end = self._state()
        for _ in range(high - low):
            self.empty[state].append(end)
            state = self._build(body, state)
        self.empty[state].append(end)
        return end


_ONE_CHARACTER = (_constants.LITERAL, _constants.NOT_LITERAL, _constants.ANY, _constants.IN)
_REPEATS = (_constants.MAX_REPEAT, _constants.MIN_REPEAT)
_ENDS = (_constants.AT_END, _constants.AT_END_STRING)


def _digit_mask(op: Any, value: Any) -> int:
    """The digits a one-character matcher accepts, as a bit mask."""
    if op is _constants.LITERAL:
        return _digit_bit(value)
    if op is _constants.NOT_LITERAL:
        return _ALL_DIGITS & ~_digit_bit(value)
    if op is _constants.ANY:  # any character but a newline
        return _ALL_DIGITS
    mask, negate = 0, False
    for kind, item in value:
        if kind is _constants.NEGATE:
            negate = True
        elif kind is _constants.LITERAL:
            mask |= _digit_bit(item)
        elif kind is _constants.RANGE:
            low, high = item
            mask |= sum(1 << d for d in range(_DIGITS) if low <= ord("0") + d <= high)
        elif kind is _constants.CATEGORY and item is _constants.CATEGORY_DIGIT:
            mask |= _ALL_DIGITS
        elif kind is not _constants.CATEGORY or item is not _constants.CATEGORY_NOT_DIGIT:
            raise _NotPortable(f"{kind} {item}")
    return _ALL_DIGITS & ~mask if negate else mask


def _digit_bit(code: int) -> int:
    return 1 << (code - ord("0")) if ord("0") <= code <= ord("9") else 0


class _Automaton:
    """The deterministic automaton of every country calling code's patterns, built lazily.

    A state is a set of NFA states of one country calling code. ``table[state, symbol]`` is
    the next state and ``outcome[state, length]`` the packed result for a national number
    of that length ending there; both are -1 until first needed. One instance serves every
    call in the process.
    """

    def __init__(self) -> None:
        self.table = np.full((1024, _SYMBOLS), -1, dtype=np.int32)
        self.outcome = np.full((1024, _MAX_DIGITS), -1, dtype=np.int32)
        self.states: list[tuple[_Machine, frozenset[int]]] = []
        self.index: dict[tuple[int, frozenset[int]], int] = {}
        self.starts: dict[int, int] = {}
        self.lock = threading.Lock()

    def start(self, machine: _Machine) -> int:
        with self.lock:
            if machine.calling_code not in self.starts:
                self.starts[machine.calling_code] = self._state(machine, machine.nfa.start())
            return self.starts[machine.calling_code]

    def run(
        self, start: np.ndarray, data: np.ndarray, starts: np.ndarray, lengths: np.ndarray
    ) -> np.ndarray:
        """The state each number ends in, reading ``lengths`` digits of ``data`` from
        ``starts``."""
        state = start.astype(np.int32)
        for position in range(int(lengths.max()) if len(lengths) else 0):
            symbol = np.where(lengths > position, data[starts + position] - ord("0"), _PAD)
            index = state * _SYMBOLS + symbol
            following = self.table.reshape(-1)[index]
            if (following < 0).any():
                self._fill(np.unique(index[following < 0]))
                following = self.table.reshape(-1)[index]
            state = following
        return state

    def outcomes(self, final: np.ndarray, length: np.ndarray) -> _Outcome:
        """What numbers ending in ``final`` with national numbers of ``length`` digits are."""
        index = final.astype(np.int64) * _MAX_DIGITS + np.minimum(length, _MAX_DIGITS - 1)
        packed = self.outcome.reshape(-1)[index]
        if (packed < 0).any():
            self._decide(np.unique(index[packed < 0]))
            packed = self.outcome.reshape(-1)[index]
        return _Outcome(
            prefixed=(packed & 1).astype(bool),
            main_general=(packed & 2).astype(bool),
            region=(packed >> 2) & 0x3FF,
            kind=packed >> 12,
        )

    def _fill(self, missing: np.ndarray) -> None:
        with self.lock:
            for index in missing.tolist():
                state, digit = divmod(index, _SYMBOLS)
                machine, members = self.states[state]
                self.table[state, digit] = self._state(machine, machine.nfa.step(members, digit))

    def _decide(self, missing: np.ndarray) -> None:
        with self.lock:
            for index in missing.tolist():
                state, length = divmod(index, _MAX_DIGITS)
                machine, members = self.states[state]
                tags = machine.nfa.final_tags(members)
                region, number_type = machine.decide(tags, length)
                self.outcome[state, length] = (
                    _TYPE_INDEX[number_type] << 12
                    | _REGION_INDEX[region] << 2
                    | (_GENERAL in tags) << 1  # region 0's general pattern
                    | (_NATIONAL_PREFIX in tags)
                )

    def _state(self, machine: _Machine, members: frozenset[int]) -> int:
        key = (machine.calling_code, members)
        if key in self.index:
            return self.index[key]
        number = len(self.states)
        if number == len(self.table):
            self.table = np.concatenate([self.table, np.full_like(self.table, -1)])
            self.outcome = np.concatenate([self.outcome, np.full_like(self.outcome, -1)])
        self.table[number, _PAD] = number
        self.states.append((machine, members))
        self.index[key] = number
        return number


_AUTOMATON = _Automaton()


@dataclass(frozen=True)
class _Outcome:
    """Per number: whether its national prefix pattern may apply, whether the main
    region's general pattern matches, and its region and type indexes."""

    prefixed: np.ndarray
    main_general: np.ndarray
    region: np.ndarray
    kind: np.ndarray


# --- Country calling codes -------------------------------------------------------------


@dataclass(frozen=True)
class _Region:
    """What region_code_for_number and number_type read of one region's metadata."""

    code: str
    has_leading_digits: bool
    lengths: tuple[tuple[int, ...] | None, ...]  # per slot; None: no such numbers
    same_mobile_and_fixed_line: bool


@dataclass(frozen=True, eq=False)
class _Machine:
    """A country calling code: its regions and the automaton of their patterns."""

    calling_code: int
    main_region: str
    single_region: bool
    regions: tuple[_Region, ...]  # those with metadata, in phonenumbers' order
    nfa: _Nfa

    def decide(self, tags: frozenset[int], length: int) -> tuple[str | None, str]:
        """classify_number's (region, type) for a national number of ``length`` digits that
        matches the patterns ``tags``. Past 17 digits parse fails: no region, unknown."""
        if length > _MAX_NATIONAL_LENGTH:
            return None, "unknown"
        if self.single_region:
            return self.main_region, self._type(0, tags, length) if self.regions else "unknown"
        for index, region in enumerate(self.regions):
            if region.has_leading_digits:
                if index * _SLOTS + _LEADING_DIGITS in tags:
                    return region.code, self._type(index, tags, length)
            elif (number_type := self._type(index, tags, length)) != "unknown":
                return region.code, number_type
        # In no region: classify_number names the main region, and number_type finds no
        # metadata for a null region.
        return self.main_region, "unknown"

    def _type(self, index: int, tags: frozenset[int], length: int) -> str:
        """_number_type_helper with the metadata of region ``index``."""
        region = self.regions[index]

        def fits(slot: int) -> bool:
            lengths = region.lengths[slot]
            return (
                lengths is not None
                and (not lengths or length in lengths)
                and index * _SLOTS + slot in tags
            )

        if not fits(_GENERAL):
            return "unknown"
        for slot, name in enumerate(_SPECIAL_TYPES, start=1):
            if fits(slot):
                return name
        if fits(_FIXED_LINE):
            if region.same_mobile_and_fixed_line or fits(_MOBILE):
                return "fixed_line_or_mobile"
            return "fixed_line"
        if not region.same_mobile_and_fixed_line and fits(_MOBILE):
            return "mobile"
        return "unknown"


@functools.cache
def _machine(calling_code: int) -> _Machine | None:
    """The automaton of a country calling code, or None to classify its numbers one by one."""
    region_codes = COUNTRY_CODE_TO_REGION_CODE[calling_code]
    nfa = _Nfa()
    regions: list[_Region] = []
    try:
        for region_code in region_codes:
            metadata = PhoneMetadata.metadata_for_region_or_calling_code(calling_code, region_code)
            if metadata is not None:  # region_code_for_number skips such a region too
                regions.append(_region(nfa, len(regions), region_code, metadata))
    except _NotPortable:
        return None
    if len(region_codes) > 1:
        # Not the main region: its general pattern also decides whether parse strips a
        # national prefix, whatever the leading digits.
        nfa.chosen_by_leading_digits = {
            index for index, region in enumerate(regions) if region.has_leading_digits and index
        }
    main = PhoneMetadata.metadata_for_region_or_calling_code(calling_code, region_codes[0])
    if main is not None and main.national_prefix_for_parsing:
        _add_national_prefix(
            nfa, main.national_prefix_for_parsing, bool(main.national_prefix_transform_rule)
        )
    return _Machine(
        calling_code=calling_code,
        main_region=region_codes[0],
        single_region=len(region_codes) == 1,
        regions=tuple(regions),
        nfa=nfa,
    )


def _add_national_prefix(nfa: _Nfa, pattern: str, has_transform_rule: bool) -> None:
    """Tag the numbers whose national number parse may change by stripping a prefix.

    parse strips or transforms what national_prefix_for_parsing matches at the start. An
    empty match changes nothing unless a transform rule applies, so only a match of at
    least one digit counts, except for a prefix pattern that matches the empty string and
    has a transform rule (Argentina): all its numbers count, as do those of a prefix
    pattern the automaton cannot follow.
    """
    check = _Nfa()
    try:
        check.add_full(pattern, _NATIONAL_PREFIX)
    except _NotPortable:
        nfa.add_prefix("", _NATIONAL_PREFIX)
        return
    if has_transform_rule and check.final_tags(check.start()):
        nfa.add_prefix("", _NATIONAL_PREFIX)
    else:
        nfa.add_prefix(pattern, _NATIONAL_PREFIX, non_empty=True)


def _region(nfa: _Nfa, index: int, code: str, metadata: PhoneMetadata) -> _Region:
    descs = [
        metadata.general_desc,
        *(getattr(metadata, name) for name in _SPECIAL_TYPES),
        metadata.fixed_line,
        metadata.mobile,
    ]
    lengths: list[tuple[int, ...] | None] = []
    for slot, desc in enumerate(descs):
        # _is_number_matching_desc is false without a desc or a pattern.
        if desc is None or not desc.national_number_pattern:
            lengths.append(None)
            continue
        nfa.add_full(desc.national_number_pattern, index * _SLOTS + slot)
        lengths.append(tuple(desc.possible_length or ()))
    if metadata.leading_digits is not None:
        nfa.add_prefix(metadata.leading_digits, index * _SLOTS + _LEADING_DIGITS)
    return _Region(
        code=code,
        has_leading_digits=metadata.leading_digits is not None,
        lengths=(*lengths, None),
        same_mobile_and_fixed_line=bool(metadata.same_mobile_and_fixed_line_pattern),
    )


@dataclass(frozen=True)
class _PrefixRule:
    """What parse reads of the main region's metadata to strip a national prefix."""

    pattern: re.Pattern[str]  # national_prefix_for_parsing
    transform: str | None  # national_prefix_transform_rule
    width: int  # the most digits the pattern can match: it reads no further
    possible_lengths: tuple[int, ...]  # of the general description
    local_lengths: tuple[int, ...]

    def strip(self, head: str) -> tuple[int, str] | None:
        """(digits taken, digits put in their place) at the start of a national number
        starting with ``head``, as _maybe_strip_national_prefix_carrier_code does it, or
        None where the prefix pattern does not match."""
        match = self.pattern.match(head)
        if match is None:
            return None
        if not self.transform or match.groups()[-1] is None:
            return match.end(), ""
        return match.end(), match.expand(self.transform)

    def possible(self, length: int) -> bool:
        """_test_number_length is IS_POSSIBLE or TOO_LONG, checked in its order."""
        if length in self.local_lengths:
            return False
        shortest, longest = self.possible_lengths[0], self.possible_lengths[-1]
        if length == shortest:
            return True
        if length < shortest:
            return False
        return length > longest or length in self.possible_lengths[1:]


@functools.cache
def _prefix_rule(calling_code: int) -> _PrefixRule | None:
    """The rule, or None to parse the numbers one by one: a prefix pattern with "$" (whether
    it matches depends on where the number ends), or metadata this module does not read."""
    machine = _machine(calling_code)
    if machine is None or not machine.regions or machine.regions[0].code != machine.main_region:
        return None
    main = PhoneMetadata.metadata_for_region_or_calling_code(calling_code, machine.main_region)
    if main is None or not main.national_prefix_for_parsing or main.general_desc is None:
        return None
    pattern = main.national_prefix_for_parsing
    check = _Nfa()
    try:
        check.add_full(pattern, _NATIONAL_PREFIX)
    except _NotPortable:
        return None
    compiled = re.compile(pattern)
    transform = main.national_prefix_transform_rule or None
    width = _parser.parse(pattern).getwidth()[1]
    general = main.general_desc
    if (
        bool(check.at_end)
        or width > _MAX_DIGITS
        or (transform and compiled.groups == 0)
        or not general.possible_length
    ):
        return None
    return _PrefixRule(
        pattern=compiled,
        transform=transform,
        width=width,
        possible_lengths=tuple(general.possible_length),
        local_lengths=tuple(general.possible_length_local_only or ()),
    )
