"""Normalising the numbers switches write (dialled, presented) to the lake's number format.

The lake stores E.164 digits without ``+`` (``13125550123``) and service or emergency short
codes as dialled (``911``, ``611``). Numbers are read in the operator's numbering plan (the
NANP by default): ``3125550123`` and ``13125550123`` are national, ``011...`` and ``+...``
international.
"""

from __future__ import annotations

import functools
import re

import phonenumbers
from phonenumbers import PhoneNumberType, shortnumberinfo

from pipelines.config import OPERATOR_COUNTRY

DEFAULT_REGION = OPERATOR_COUNTRY

# What a switch writes for a dialled or presented number: digits, an optional leading '+',
# and the visual separators people type. Anything else (SIP user names such as "client1",
# vanity letters) is not a number we can bill or settle.
_DIALLED = re.compile(r"\+?[0-9][0-9 ().-]*")
# NANP: the area code (NPA) and exchange (NXX) both start 2-9. phonenumbers' possible-length
# check alone accepts ten digits such as 0125550123 that no NANP switch can route.
_NANP_NATIONAL = re.compile(r"[2-9][0-9]{2}[2-9][0-9]{6}")
_SHORT_CODE = re.compile(r"[0-9]{3,6}")


_VALIDATION_NAMES = {
    phonenumbers.ValidationResult.IS_POSSIBLE_LOCAL_ONLY: "local number without area code",
    phonenumbers.ValidationResult.INVALID_COUNTRY_CODE: "unknown country code",
    phonenumbers.ValidationResult.TOO_SHORT: "too short",
    phonenumbers.ValidationResult.INVALID_LENGTH: "invalid length",
    phonenumbers.ValidationResult.TOO_LONG: "too long",
}


class InvalidNumberError(ValueError):
    """A number that cannot be normalised; mediation rejects its record as INVALID_NUMBER."""


def normalise_number(raw: str, region: str = DEFAULT_REGION) -> str:
    """Return ``raw`` as E.164 digits without '+', or as dialled when it is a short code.

    Short codes are 3-6 digits that phonenumbers knows as valid short numbers of ``region``
    (N11 service codes such as 911, 611, 411; SMS short codes such as 22222). Other numbers
    must have a possible length for their country and, in the NANP, a well-formed area
    code and exchange. Validity against the numbering plan's assigned ranges is deliberately
    not required: it changes with every phonenumbers release and rejects the fictional
    ranges (555-01XX, UK 07700 900xxx) test traffic uses; an unassigned destination is
    rating's concern (no rate for destination), where the record stays visible.

    Raises InvalidNumberError naming the reason.
    """
    text = raw.strip()
    if not text:
        raise InvalidNumberError("empty number")
    if _is_short_code(text, region):
        return text
    if not _DIALLED.fullmatch(text):
        raise InvalidNumberError(f"{raw!r} is not a dialled number (digits, optional '+')")
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException as exc:
        raise InvalidNumberError(f"{raw!r}: {exc}") from exc
    possible = phonenumbers.is_possible_number_with_reason(number)
    if possible != phonenumbers.ValidationResult.IS_POSSIBLE:
        reason = _VALIDATION_NAMES.get(possible, str(possible))
        raise InvalidNumberError(f"{raw!r}: {reason} for country code +{number.country_code}")
    if number.country_code == 1 and not _NANP_NATIONAL.fullmatch(
        phonenumbers.national_significant_number(number)
    ):
        raise InvalidNumberError(f"{raw!r}: NANP area code and exchange must start with 2-9")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)[1:]


def _is_short_code(text: str, region: str) -> bool:
    if not _SHORT_CODE.fullmatch(text):
        return False
    try:
        short = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        return False  # e.g. "011": an international prefix with nothing after it
    return shortnumberinfo.is_valid_short_number_for_region(short, region)


#: phonenumbers' number types by the names the lake stores.
_NUMBER_TYPES = {
    PhoneNumberType.FIXED_LINE: "fixed_line",
    PhoneNumberType.MOBILE: "mobile",
    PhoneNumberType.FIXED_LINE_OR_MOBILE: "fixed_line_or_mobile",
    PhoneNumberType.TOLL_FREE: "toll_free",
    PhoneNumberType.PREMIUM_RATE: "premium_rate",
    PhoneNumberType.SHARED_COST: "shared_cost",
    PhoneNumberType.VOIP: "voip",
    PhoneNumberType.PERSONAL_NUMBER: "personal_number",
    PhoneNumberType.PAGER: "pager",
    PhoneNumberType.UAN: "uan",
    PhoneNumberType.VOICEMAIL: "voicemail",
}


@functools.lru_cache(maxsize=65536)
def classify_number(number: str | None) -> tuple[str | None, str | None]:
    """(region, number type) of a normalised number, for routing, rating and fraud checks.

    region is the ISO 3166 code of the country the number belongs to (``GB``), ``001`` for
    non-geographic codes (881 satellite, 882/883 international networks, 979 premium); type
    is a phonenumbers type name (``mobile``, ``premium_rate``, ``toll_free``, ...), ``short_code``
    for short codes kept as dialled, ``unknown`` when the number is outside every assigned
    range. A null number (withheld caller, data) gives (None, None). Numbers repeat a lot
    in usage, hence the cache.
    """
    if not number:
        return None, None
    if not number.isdigit() or len(number) <= 6:
        return None, "short_code"
    try:
        parsed = phonenumbers.parse("+" + number)
    except phonenumbers.NumberParseException:
        return None, "unknown"
    # Outside every assigned range the exact region is unknowable (44 also serves Jersey,
    # 1 twenty countries): fall back to the country code's main region.
    region = phonenumbers.region_code_for_number(parsed) or (
        phonenumbers.region_code_for_country_code(parsed.country_code or 0)
    )
    kind = _NUMBER_TYPES.get(phonenumbers.number_type(parsed), "unknown")
    return region, kind
