"""classify_numbers equals classify_number, the per-number reference, on every input."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import phonenumbers
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from phonenumbers import PhoneMetadata, PhoneNumberType
from phonenumbers.phonenumberutil import COUNTRY_CODE_TO_REGION_CODE

from pipelines.generate.traffic import build_number_pools
from pipelines.mediation import number_classes
from pipelines.mediation.number_classes import classify_numbers
from pipelines.mediation.numbering import classify_number

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT.parent / "shared" / "samples"

# Leading digits of numbers switches carry, and of the edge cases around them.
PREFIXES = (
    # NANP: US area codes, toll free, premium, Canada, the Caribbean (Bahamas, Jamaica,
    # Dominican Republic, ...), and area codes or exchanges starting 0 or 1.
    "1312", "1773", "1212", "1415", "1202", "1204", "1416", "1800", "1888", "1877", "1900",
    "1242", "1876", "1658", "1809", "1829", "1268", "1264", "1684", "1441", "1787", "1939",
    "1340", "1671", "1670", "10", "11", "1555", "13125550", "13121",
    # UK and the Crown dependencies: mobile, London, geographic, premium 09, the 0 a caller
    # should not have dialled, Guernsey, Isle of Man, Jersey.
    "447", "4477009", "4420", "441", "449", "4490", "440", "441481", "441624", "441534",
    "4474576", "447624",
    # Europe and beyond, including countries sharing a code (RU/KZ, IT/VA, NO/SJ, FI/AX,
    # AU/CC/CX, MA/EH, RE/YT, SH/TA, GP/BL/MF, CW/BQ) and national prefixes with transform
    # rules (AR, BR, JP, GA, MG, SM, NF).
    "33", "336", "331", "49", "4915", "4930", "39", "3906698", "393", "7", "77", "79",
    "47", "4779", "358", "35818", "61", "6189164", "6189162", "212", "2125288", "262",
    "262269", "290", "2908", "590", "590590", "599", "5997", "52", "63", "91", "86", "234",
    "54", "549", "540", "5411", "5415", "55", "550", "5590", "5511", "81", "810", "8100",
    "81003768", "261", "26120", "378", "3780549", "672", "6723", "241", "2410", "57", "82",
    "880", "994", "998", "971", "966", "20", "27", "64", "65", "852", "886", "242",
    # National prefixes after the country code: Russia's 8, Belarus 8 0, Lithuania,
    # Hungary 06, China, Korea, Australia, Luxembourg, Costa Rica, Bolivia, Colombia, Japan,
    # Madagascar, San Marino, Norfolk Island.
    "78", "7812", "3758", "37580", "3708", "3606", "8611", "86179", "82085", "61183",
    "3521500", "50619", "5910", "570", "81000", "2612", "3788", "6720", "4401", "4480",
    # Non-geographic: satellite, international networks, premium, freephone, UPT.
    "881", "8816", "882", "88213", "883", "979", "800", "808", "870", "878", "888",
    # No country calling code.
    "0", "00", "011",
)  # fmt: skip
NON_DIGITS = ("+", "-", " ", "(", ")", "#", "*", "a", "x", "\u0663", "\u00b2", "\uff11")


def _assert_same(numbers: list[str | None]) -> None:
    result = classify_numbers(pl.Series(numbers, dtype=pl.String))
    assert result.columns == ["number", "region", "number_type"]
    assert result["number"].to_list() == numbers
    expected = [classify_number(number) for number in numbers]
    got = list(zip(result["region"].to_list(), result["number_type"].to_list(), strict=True))
    mismatches = [
        (number, want, have)
        for number, want, have in zip(numbers, expected, got, strict=True)
        if want != have
    ]
    assert not mismatches, f"{len(mismatches)} mismatches, e.g. {mismatches[:10]}"


def test_examples_from_classify_number_docs() -> None:
    numbers = ["13125550101", "18005550100", "979135428555", "881614178728", "68828799"]
    numbers += ["447700900123", "911", None, ""]
    result = classify_numbers(pl.Series(numbers))
    assert result.rows() == [
        ("13125550101", "US", "fixed_line_or_mobile"),
        ("18005550100", "US", "toll_free"),
        ("979135428555", "001", "premium_rate"),
        ("881614178728", "001", "mobile"),
        ("68828799", "TV", "fixed_line"),
        ("447700900123", "GB", "unknown"),
        ("911", None, "short_code"),
        (None, None, None),
        ("", None, None),
    ]


def test_keeps_input_order_and_repeats() -> None:
    numbers = ["447911123456", None, "13125550101", "447911123456", "611", "13125550101"]
    _assert_same(numbers)
    assert classify_numbers(pl.Series(numbers)).height == len(numbers)


@pytest.mark.parametrize(
    "number",
    [
        "35215001",  # Luxembourg: the national prefix pattern takes every digit
        "5491123456789",  # Argentina: mobile, 9 after the country code
        "54111512345678",  # Argentina: 0 11 15 ... written after +54, transformed
        "5502121987654321",  # Brazil: 0 + carrier 21 + area code and number
        "8109012345678",  # Japan: a trunk 0 after +81
        "261202212345",  # Madagascar
        "3780549123456",  # San Marino
        "67231234",  # Norfolk Island
        "11" + "2" * 18,  # +1 1...: stripping the 1 leaves 19 digits, still too long
        "1" * 20,
        "4" * 21,  # longer than the automaton reads: one by one
        "\u0663" * 11,  # Arabic-Indic digits: str.isdigit accepts them
        "13125550101\u00b2",  # a superscript two is a digit to str.isdigit, not to int
        " 13125550101",
        "+13125550101",
    ],
)
def test_edge_cases(number: str) -> None:
    _assert_same([number])


def test_empty_input() -> None:
    result = classify_numbers(pl.Series([], dtype=pl.String))
    assert result.schema == pl.Schema(
        {"number": pl.String, "region": pl.String, "number_type": pl.String}
    )
    assert result.is_empty()


def test_numbers_in_fixtures_and_samples() -> None:
    """Every digit run and every field of the test fixtures, the shared samples and the
    test and generator sources (timestamps and ids included: they are digit strings too)."""
    texts = [path.read_bytes().decode("latin-1") for path in _fixture_files()]
    numbers = set()
    for text in texts:
        numbers.update(re.findall(r"\d{3,22}", text))
        numbers.update(field.strip() for field in re.split(r"[,;|\t\n\"']", text))
    assert len(numbers) > 1000
    _assert_same(sorted(numbers))


def _fixture_files() -> list[Path]:
    roots = [ROOT / "tests", ROOT / "pipelines" / "generate", SAMPLES]
    return [
        path
        for root in roots
        if root.is_dir()
        for path in sorted(root.rglob("*"))
        if path.is_file() and path.stat().st_size < 5_000_000 and "__pycache__" not in path.parts
    ]


def test_generated_operator_traffic() -> None:
    pools = build_number_pools(np.random.default_rng(20241103), subscribers=200)
    numbers = [party.e164 for party in pools.domestic + pools.toll_free]
    numbers += [party.e164 for _, parties in pools.international for party in parties]
    assert len(numbers) > 600
    _assert_same(numbers)


def test_example_numbers_of_every_region_and_type() -> None:
    """phonenumbers' example for every region and type, and the numbers one digit away
    (last digit changed, one more or one fewer digit), which sit on range edges."""
    examples = []
    for region in sorted(phonenumbers.SUPPORTED_REGIONS):
        for number_type in PhoneNumberType.values():
            example = phonenumbers.example_number_for_type(region, number_type)
            if example is not None:
                examples.append(phonenumbers.format_number(example, 0)[1:])
    for code in sorted(phonenumbers.COUNTRY_CODES_FOR_NON_GEO_REGIONS):
        metadata = PhoneMetadata.metadata_for_nongeo_region(code)
        for desc in vars(metadata).values():
            if isinstance(desc, phonenumbers.PhoneNumberDesc) and desc.example_number:
                examples.append(f"{code}{desc.example_number}")
    assert len(examples) > 1300
    numbers = set(examples)
    for example in examples:
        numbers.update(example[:-1] + digit for digit in "0123456789")
        numbers.update({example[:-1], example + "0", example + "9"})
    _assert_same(sorted(numbers))


def test_random_numbers_after_every_country_code() -> None:
    """Seeded random national numbers of 1 to 17 digits after each country calling code."""
    rng = np.random.default_rng(7)
    codes = [str(code) for code in COUNTRY_CODE_TO_REGION_CODE]
    numbers = []
    for code in codes:
        for _ in range(60):
            length = int(rng.integers(1, 18))
            numbers.append(code + "".join(map(str, rng.integers(0, 10, size=length))))
    _assert_same(numbers)


def test_national_prefixes_after_every_country_code() -> None:
    """Numbers that carry what national_prefix_for_parsing matches right after the country
    code (the "0" of +44 0..., the "8" of +7 8..., Argentina's 0 and 15, Brazil's carrier
    codes): before examples of the country's own ranges and before random digits."""
    rng = np.random.default_rng(5)
    numbers = []
    for code, regions in COUNTRY_CODE_TO_REGION_CODE.items():
        main = PhoneMetadata.metadata_for_region_or_calling_code(code, regions[0])
        if main is None or not main.national_prefix_for_parsing:
            continue
        pattern = main.national_prefix_for_parsing
        heads = {"", "0", "1", "8", *re.findall(r"\d+", pattern.replace(r"\d", "7"))}
        examples = [
            desc.example_number
            for region in regions
            for desc in vars(PhoneMetadata.metadata_for_region(region)).values()
            if isinstance(desc, phonenumbers.PhoneNumberDesc) and desc.example_number
        ]
        for head in heads:
            numbers += [f"{code}{head}{example}" for example in examples]
            for _ in range(20):
                tail = rng.integers(0, 10, size=int(rng.integers(0, 15)))
                numbers.append(f"{code}{head}" + "".join(map(str, tail)))
    assert len(numbers) > 5000
    _assert_same(numbers)


@st.composite
def numbers(draw: st.DrawFn) -> str | None:
    kind = draw(st.sampled_from(["prefixed"] * 6 + ["digits", "short", "odd", "null"]))
    if kind == "null":
        return None
    if kind == "short":
        return draw(st.sampled_from(["911", "611", "411", "22222", "100", "", "0", "1234567"]))
    if kind == "odd":
        alphabet = st.sampled_from("0123456789" * 3 + "".join(NON_DIGITS))
        return draw(st.text(alphabet, min_size=1, max_size=20))
    length = draw(st.integers(1, 17))
    prefix = draw(st.sampled_from(PREFIXES)) if kind == "prefixed" else ""
    tail = draw(st.text("0123456789", min_size=length, max_size=length))
    return (prefix + tail)[:length]


@settings(max_examples=1500, deadline=None)
@given(st.lists(numbers(), min_size=1, max_size=25))
def test_random_realistic_numbers(drawn: list[str | None]) -> None:
    _assert_same(drawn)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.text(min_size=0, max_size=22), max_size=10))
def test_arbitrary_text(drawn: list[str]) -> None:
    _assert_same(drawn)


def test_every_country_code_is_read_by_the_automaton() -> None:
    """No country falls back to classify_number one by one (a new phonenumbers release
    with an unsupported pattern construct would make its numbers slow, not wrong)."""
    unsupported = [
        code for code in COUNTRY_CODE_TO_REGION_CODE if number_classes._machine(code) is None
    ]
    assert unsupported == []


def test_a_country_without_an_automaton_goes_one_by_one(monkeypatch: pytest.MonkeyPatch) -> None:
    real = number_classes._machine
    monkeypatch.setattr(number_classes, "_machine", lambda code: None if code == 44 else real(code))
    _assert_same(["447911123456", "441481256789", "13125550101", "4400123456789"])


@pytest.mark.parametrize(
    "pattern",
    [r"1(?=2)\d", r"(1)\1", r"^1", r"(?>12)", r"1*+2", r"\w"],
)
def test_patterns_outside_the_subset_are_refused(pattern: str) -> None:
    with pytest.raises(number_classes._NotPortable):
        number_classes._Nfa().add_full(pattern, 0)


def _metadata_patterns() -> list[tuple[str, bool]]:
    """(pattern, read as a prefix) for every pattern the automaton reads."""
    patterns = set()
    for code, regions in COUNTRY_CODE_TO_REGION_CODE.items():
        for region in regions:
            metadata = PhoneMetadata.metadata_for_region_or_calling_code(code, region)
            assert metadata is not None
            for desc in vars(metadata).values():
                if isinstance(desc, phonenumbers.PhoneNumberDesc) and desc.national_number_pattern:
                    patterns.add((desc.national_number_pattern, False))
            if metadata.leading_digits is not None:
                patterns.add((metadata.leading_digits, True))
            if metadata.national_prefix_for_parsing:
                patterns.add((metadata.national_prefix_for_parsing, True))
    return sorted(patterns)


def test_automaton_matches_what_re_matches() -> None:
    """Each metadata pattern, compiled alone, accepts exactly the digit strings re does
    (re.fullmatch for national number patterns, re.match for prefix patterns) on strings
    built from the pattern's own literal digits and random digits."""
    rng = np.random.default_rng(11)
    for pattern, as_prefix in _metadata_patterns():
        nfa = number_classes._Nfa()
        if as_prefix:
            nfa.add_prefix(pattern, 0)
        else:
            nfa.add_full(pattern, 0)
        compiled = re.compile(pattern)
        seeds = re.findall(r"\d{2,}", pattern.replace(r"\d", "5"))
        for _ in range(40):
            head = seeds[int(rng.integers(len(seeds)))] if seeds else ""
            tail = "".join(map(str, rng.integers(0, 10, size=int(rng.integers(0, 12)))))
            text = (head + tail)[: int(rng.integers(0, 18))]
            states = nfa.start()
            for digit in text:
                states = nfa.step(states, int(digit))
            accepted = 0 in nfa.final_tags(states)
            expected = (compiled.match if as_prefix else compiled.fullmatch)(text) is not None
            assert accepted == expected, (pattern, text)
