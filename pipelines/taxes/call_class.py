"""A voice call's tax category from where it starts and ends (docs/taxes.md, charge categories).

Both ends in one US state is ``local_voice``, two states ``interstate_voice``, either end
outside the US ``international_voice``; that includes the other NANP countries (Canada, the
Caribbean members), whose numbers share country code 1 with the US.

A NANP number is placed by its NPA-NXX with the ``phonenumbers`` library: the region of the
number (``region_code_for_number``) tells the US from the other NANP countries, and the
geocoder's English description ("Chicago, IL", "Illinois") names the US state. The
geocoder's NANP data is keyed by at most NPA-NXX (7 digits with the country code), so every
number of one NPA-NXX gets the same place, and each distinct NPA-NXX is geocoded once per
``CallClassifier``.

US territories (Puerto Rico, the US Virgin Islands, Guam, the Northern Mariana Islands,
American Samoa) count as places of their own, like states: a call between a territory and
a state is interstate, not international (47 U.S.C. 153, "interstate communication").

A number that cannot be placed in a state (toll-free 8XX, premium 900, personal 500 and 700
numbers, unassigned area codes, service short codes such as 911, anything that is not E.164)
makes the call ``interstate_voice``, unless the other end is outside the US. Such revenue
cannot be shown to be intrastate, and interstate is the classification that does not
understate the FUSF base, which a carrier must be able to substantiate. The cost of the
choice: Indiana's sales tax, which taxes intrastate service only, does not tax such a call
(the Illinois excise and Wisconsin sales taxes tax interstate calls too).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypeAlias

import numpy as np
import numpy.typing as npt
import phonenumbers
import pyarrow as pa
import pyarrow.compute as pc
from phonenumbers import geocoder

LOCAL_VOICE = "local_voice"
INTERSTATE_VOICE = "interstate_voice"
INTERNATIONAL_VOICE = "international_voice"

# Index = the category code the classifier computes.
_CATEGORY_NAMES = np.array([LOCAL_VOICE, INTERSTATE_VOICE, INTERNATIONAL_VOICE])
_LOCAL, _INTERSTATE, _INTERNATIONAL = 0, 1, 2

# Place codes of a number; US states and territories get codes from _FIRST_PLACE on.
_UNPLACED = 0
_OUTSIDE_US = 1
_FIRST_PLACE = 2

# A NANP number in E.164 digits: NPA and NXX both start with 2-9.
_NANP_E164 = r"^1[2-9][0-9]{2}[2-9][0-9]{6}$"
# Every E.164 country code but NANP's 1 starts with 2-9, so such a number is outside the US;
# 7 to 15 digits, so that service short codes (911, 611) are not taken for one.
_OUTSIDE_NANP_E164 = r"^[2-9][0-9]{6,14}$"
_NPA_NXX_DIGITS = 7  # 1 + NPA + NXX

# NANP regions that are US territories (phonenumbers region codes).
_US_TERRITORIES = frozenset({"PR", "VI", "GU", "MP", "AS"})

_US_STATES = {
    "Alabama": "AL", "Alaska": "AK", "Arizona": "AZ", "Arkansas": "AR", "California": "CA",
    "Colorado": "CO", "Connecticut": "CT", "Delaware": "DE", "Florida": "FL", "Georgia": "GA",
    "Hawaii": "HI", "Idaho": "ID", "Illinois": "IL", "Indiana": "IN", "Iowa": "IA",
    "Kansas": "KS", "Kentucky": "KY", "Louisiana": "LA", "Maine": "ME", "Maryland": "MD",
    "Massachusetts": "MA", "Michigan": "MI", "Minnesota": "MN", "Mississippi": "MS",
    "Missouri": "MO", "Montana": "MT", "Nebraska": "NE", "Nevada": "NV",
    "New Hampshire": "NH", "New Jersey": "NJ", "New Mexico": "NM", "New York": "NY",
    "North Carolina": "NC", "North Dakota": "ND", "Ohio": "OH", "Oklahoma": "OK",
    "Oregon": "OR", "Pennsylvania": "PA", "Rhode Island": "RI", "South Carolina": "SC",
    "South Dakota": "SD", "Tennessee": "TN", "Texas": "TX", "Utah": "UT", "Vermont": "VT",
    "Virginia": "VA", "Washington": "WA", "West Virginia": "WV", "Wisconsin": "WI",
    "Wyoming": "WY", "District of Columbia": "DC",
    # How the geocoder names two of them.
    "Washington State": "WA", "Washington D.C.": "DC",
}  # fmt: skip
_US_STATE_CODES = frozenset(_US_STATES.values())
_PLACE_CODES = {
    place: _FIRST_PLACE + index
    for index, place in enumerate(sorted(_US_STATE_CODES | _US_TERRITORIES))
}

#: E.164 numbers: Arrow strings, a NumPy str or object array, or a list.
Numbers: TypeAlias = "pa.Array | pa.ChunkedArray | npt.NDArray[Any] | Sequence[str | None]"


class CallClassifier:
    """Classifies calls by their ends' places; caches the place of every NPA-NXX it saw."""

    def __init__(self) -> None:
        self._place_by_npa_nxx: dict[str, int] = {}

    def classify(self, origin: Numbers, destination: Numbers) -> npt.NDArray[np.str_]:
        """The category of each call, from E.164 origin and destination numbers.

        origin, destination: E.164 numbers (n,), with or without the "+" ("13125550100",
        the lake's form, or "+13125550100"); nulls and short codes are unplaceable.
        Returns str (n,): ``local_voice``, ``interstate_voice`` or ``international_voice``.
        """
        origin_places = self._places(origin)
        destination_places = self._places(destination)
        if len(origin_places) != len(destination_places):
            raise ValueError(
                f"{len(origin_places)} origins but {len(destination_places)} destinations"
            )
        codes = np.where(origin_places == destination_places, _LOCAL, _INTERSTATE)
        unplaced = (origin_places == _UNPLACED) | (destination_places == _UNPLACED)
        codes[unplaced] = _INTERSTATE
        outside = (origin_places == _OUTSIDE_US) | (destination_places == _OUTSIDE_US)
        codes[outside] = _INTERNATIONAL
        categories: npt.NDArray[np.str_] = _CATEGORY_NAMES[codes]
        return categories

    def classify_call(self, origin: str | None, destination: str | None) -> str:
        """The category of one call (see ``classify``)."""
        return str(self.classify([origin], [destination])[0])

    def _places(self, numbers: Numbers) -> npt.NDArray[np.int32]:
        """A place code per number: 0 unplaceable, 1 outside the US, >= 2 a US state or
        territory."""
        # The lake keeps E.164 digits without the '+'; accept both spellings.
        strings = pc.utf8_ltrim(_string_array(numbers), characters="+")
        places = np.full(len(strings), _UNPLACED, dtype=np.int32)
        outside = _regex_mask(strings, _OUTSIDE_NANP_E164)
        places[outside] = _OUTSIDE_US
        nanp_rows = np.flatnonzero(_regex_mask(strings, _NANP_E164))
        if nanp_rows.size == 0:
            return places
        nanp = strings.take(pa.array(nanp_rows))
        prefixes = pc.utf8_slice_codeunits(nanp, 0, _NPA_NXX_DIGITS).dictionary_encode()
        indices = prefixes.indices.to_numpy()
        # dictionary_encode numbers prefixes by first occurrence, so every index in
        # 0..len(dictionary) - 1 occurs and return_index finds a number of each prefix.
        _, first_rows = np.unique(indices, return_index=True)
        prefix_places = np.array(
            [
                self._npa_nxx_place(str(prefix), nanp[int(row)].as_py())
                for prefix, row in zip(prefixes.dictionary.to_pylist(), first_rows, strict=True)
            ],
            dtype=np.int32,
        )
        places[nanp_rows] = prefix_places[indices]
        return places

    def _npa_nxx_place(self, npa_nxx: str, number: str) -> int:
        place = self._place_by_npa_nxx.get(npa_nxx)
        if place is None:
            place = _place_of(number)
            self._place_by_npa_nxx[npa_nxx] = place
        return place


def _place_of(number: str) -> int:
    """The place code of a NANP number (geocoded)."""
    parsed = phonenumbers.parse(f"+{number}")
    region = phonenumbers.region_code_for_number(parsed)
    if region is None:
        return _UNPLACED
    if region in _US_TERRITORIES:
        return _PLACE_CODES[region]
    if region != "US":
        return _OUTSIDE_US
    state = _us_state_of(geocoder.description_for_number(parsed, "en"))
    return _UNPLACED if state is None else _PLACE_CODES[state]


def _us_state_of(description: str) -> str | None:
    """The US state code in a geocoder description ("Chicago, IL", "Illinois"), else None."""
    city, _, state = description.rpartition(", ")
    if city and state in _US_STATE_CODES:
        return state
    return _US_STATES.get(description)


def _string_array(numbers: Numbers) -> pa.Array:
    if not isinstance(numbers, pa.Array | pa.ChunkedArray):
        # pa.array converts a large NumPy str array into a ChunkedArray.
        numbers = pa.array(numbers, type=pa.string())
    if isinstance(numbers, pa.ChunkedArray):
        numbers = numbers.combine_chunks()
    return numbers.cast(pa.string())


def _regex_mask(strings: pa.Array, pattern: str) -> npt.NDArray[np.bool_]:
    matches = pc.match_substring_regex(strings, pattern).fill_null(False)
    mask: npt.NDArray[np.bool_] = matches.to_numpy(zero_copy_only=False)
    return mask
