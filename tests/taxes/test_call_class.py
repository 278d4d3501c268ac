"""Voice call categories from real numbers: each expectation says where both ends are."""

from __future__ import annotations

import numpy as np
import phonenumbers
import pyarrow as pa
import pytest

from pipelines.taxes import call_class
from pipelines.taxes.call_class import CallClassifier

CHICAGO = "+13125550100"  # 312: Chicago, IL
CHICAGO_773 = "+17735550142"  # 773: Chicago, IL (the city's other area code)
SPRINGFIELD = "+12175550100"  # 217: central Illinois (Springfield)
INDIANAPOLIS = "+13175550100"  # 317: Indianapolis, IN
MILWAUKEE = "+14145550100"  # 414: Milwaukee, WI
TORONTO = "+14165550100"  # 416: Toronto, Ontario, Canada (NANP, not US)
LONDON = "+442071234567"  # +44 20: London, UK
TOLL_FREE = "+18005551234"  # 800: toll-free, no place
SAN_JUAN = "+17875550100"  # 787: Puerto Rico, a US territory
KINGSTON = "+18765550100"  # 876: Jamaica (NANP, not US)


@pytest.mark.parametrize(
    ("origin", "destination", "expected"),
    [
        (CHICAGO, SPRINGFIELD, "local_voice"),  # both in Illinois
        (CHICAGO, CHICAGO_773, "local_voice"),  # both in Illinois, one city
        (SPRINGFIELD, CHICAGO, "local_voice"),
        (CHICAGO, INDIANAPOLIS, "interstate_voice"),  # Illinois -> Indiana
        (MILWAUKEE, CHICAGO, "interstate_voice"),  # Wisconsin -> Illinois
        (MILWAUKEE, TORONTO, "international_voice"),  # Canada is outside the US
        (LONDON, INDIANAPOLIS, "international_voice"),
        (CHICAGO, KINGSTON, "international_voice"),  # Jamaica is outside the US
        (CHICAGO, SAN_JUAN, "interstate_voice"),  # a territory counts like a state
        (CHICAGO, TOLL_FREE, "interstate_voice"),  # unplaceable: interstate
        (TOLL_FREE, TORONTO, "international_voice"),  # outside the US wins
        (CHICAGO, "911", "interstate_voice"),  # a short code has no place
        (CHICAGO, None, "interstate_voice"),  # nor has a missing number
        (CHICAGO, "not a number", "interstate_voice"),
    ],
)
def test_classify_call(origin, destination, expected):
    assert CallClassifier().classify_call(origin, destination) == expected


def test_lake_numbers_without_plus_classify_alike():
    """The lake keeps E.164 digits without '+' (pipelines/mediation/numbering.py)."""
    classifier = CallClassifier()
    assert classifier.classify_call(CHICAGO[1:], SPRINGFIELD[1:]) == "local_voice"
    assert classifier.classify_call(CHICAGO[1:], INDIANAPOLIS) == "interstate_voice"
    assert classifier.classify_call(MILWAUKEE[1:], LONDON[1:]) == "international_voice"


def test_array_inputs_give_one_category_per_call():
    origins = [CHICAGO, CHICAGO, MILWAUKEE, None]
    destinations = [SPRINGFIELD, INDIANAPOLIS, TORONTO, CHICAGO]
    expected = ["local_voice", "interstate_voice", "international_voice", "interstate_voice"]
    classifier = CallClassifier()
    as_numpy = classifier.classify(np.array(origins, dtype=object), np.array(destinations))
    as_arrow = classifier.classify(
        pa.chunked_array([origins[:2], origins[2:]]), pa.array(destinations)
    )
    assert as_numpy.tolist() == expected
    assert as_arrow.tolist() == expected
    assert classifier.classify(pa.array([], pa.large_string()), []).tolist() == []


def test_each_npa_nxx_is_geocoded_once(monkeypatch):
    parsed = []
    parse = phonenumbers.parse

    def counting_parse(number, *args):
        parsed.append(number)
        return parse(number, *args)

    monkeypatch.setattr(call_class.phonenumbers, "parse", counting_parse)
    classifier = CallClassifier()
    # 312-555 twice, 217-555 and 317-555: three distinct NPA-NXX prefixes.
    origins = [CHICAGO, "+13125550199", SPRINGFIELD]
    destinations = [SPRINGFIELD, INDIANAPOLIS, CHICAGO]
    classifier.classify(origins, destinations)
    classifier.classify(destinations, origins)
    assert sorted(number[:8] for number in parsed) == ["+1217555", "+1312555", "+1317555"]


def test_lengths_must_agree():
    with pytest.raises(ValueError, match="2 origins but 1 destinations"):
        CallClassifier().classify([CHICAGO, CHICAGO], [SPRINGFIELD])
