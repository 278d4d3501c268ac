"""Telephone numbers and mobile identities that real validators accept.

Every number the generator invents is checked with ``phonenumbers`` (libphonenumber's
metadata), so a parser or rater that validates numbers sees the same thing it would see
in a real switch's output. Numbers are E.164 digits without ``+``.
"""

from __future__ import annotations

import numpy as np
import phonenumbers

#: Home network of our mobile lines: MCC 310, MNC 260 (an IMSI is MCC + MNC + 9-digit MSIN).
HOME_PLMN = "310260"

# A drawn number is occasionally in a reserved range; this many tries always suffices in
# practice, and a failure means the template itself is wrong.
_MAX_TRIES = 200


def _digits(rng: np.random.Generator, count: int) -> str:
    return "".join(str(d) for d in rng.integers(0, 10, size=count))


def random_nanp_number(rng: np.random.Generator, area_code: str) -> str:
    """A valid US number in ``area_code`` as E.164 digits (``1`` + NPA + NXX + line).

    The 555 exchange is avoided: 555-01XX is reserved for fiction and the rest is mostly
    unassigned, so a real switch would rarely carry it.
    """
    for _ in range(_MAX_TRIES):
        exchange = str(rng.integers(2, 10)) + _digits(rng, 2)
        if exchange == "555":
            continue
        national = f"{area_code}{exchange}{_digits(rng, 4)}"
        number = phonenumbers.PhoneNumber(country_code=1, national_number=int(national))
        if phonenumbers.is_valid_number(number):
            return "1" + national
    raise ValueError(f"no valid number found in area code {area_code}")


def random_number_like(
    rng: np.random.Generator, country_code: int, example_national: str, keep: int
) -> str:
    """A valid number shaped like an example: same country, length and first ``keep`` digits.

    Libphonenumber ships one example number per region and type; keeping its leading digits
    keeps the drawn number in the same range (e.g. UK mobile ``7...``, German ``15...``).
    """
    head = example_national[:keep]
    for _ in range(_MAX_TRIES):
        national = head + _digits(rng, len(example_national) - keep)
        # The NANP requires exchanges (NXX) starting 2-9 in every member country;
        # libphonenumber's metadata for some Caribbean codes is looser than the plan.
        if country_code == 1 and national[3] in "01":
            continue
        number = phonenumbers.PhoneNumber(country_code=country_code, national_number=int(national))
        if phonenumbers.is_valid_number(number):
            return f"{country_code}{national}"
    raise ValueError(f"no valid number like +{country_code} {example_national}")


def example_national_number(region_or_code: str | int, number_type: int) -> str:
    """Libphonenumber's example national number for a region (``"GB"``) or a
    non-geographic country calling code (``881``)."""
    if isinstance(region_or_code, int):
        example = phonenumbers.example_number_for_non_geo_entity(region_or_code)
    else:
        example = phonenumbers.example_number_for_type(region_or_code, number_type)
    if example is None:
        raise ValueError(f"libphonenumber has no example for {region_or_code}")
    return str(example.national_number)


def is_valid_e164(digits: str) -> bool:
    """True when ``digits`` (E.164 without ``+``) is a valid number per libphonenumber."""
    try:
        return phonenumbers.is_valid_number(phonenumbers.parse("+" + digits))
    except phonenumbers.NumberParseException:
        return False


def random_imsi(rng: np.random.Generator) -> str:
    """An IMSI of the home network: MCC 310, MNC 260, 9-digit MSIN."""
    return HOME_PLMN + _digits(rng, 9)


def luhn_check_digit(digits: str) -> str:
    """The Luhn check digit that completes ``digits`` (IMEIs end with one)."""
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char)
        # Counting from the right of the payload, every first, third, ... digit is doubled
        # because the check digit will take the rightmost place.
        if position % 2 == 0:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return str((10 - total % 10) % 10)


def random_imei(rng: np.random.Generator, tac: str) -> str:
    """A 15-digit IMEI: 8-digit type allocation code, 6-digit serial, Luhn check digit."""
    payload = tac + _digits(rng, 6)
    return payload + luhn_check_digit(payload)
