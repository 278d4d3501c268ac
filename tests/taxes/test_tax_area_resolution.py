"""Resolving a frame of service addresses at once (``TaxAreaIndex.resolve_all``) against
resolving them one by one (``TaxAreaIndex.resolve``): the US rule set's areas and a set
with a catch-all area, addresses in any case, padded, blank or missing."""

from __future__ import annotations

import random

import polars as pl
import pytest
from tax_engines import ruleset

from pipelines.taxes.model import TaxArea
from pipelines.taxes.rules_files import TaxAreaIndex
from pipelines.taxes.us_rules import us_ruleset

CATCH_ALL = ruleset(
    tax_areas=(
        TaxArea("CA", "CA", "", "", "", ("US", "CA")),
        TaxArea("SF", "CA", "", "San Francisco", "", ("US", "CA", "SF")),
        TaxArea("SF_MISSION", "CA", "", "San Francisco", "94110", ("US", "CA", "SF")),
        TaxArea("STRASSE", "", "", "Straße", "", ("US",)),
        TaxArea("US", "", "", "", "", ("US",)),
    )
)


def _variants(value: str, rng: random.Random) -> str | None:
    """The value as a CRM may hold it: as is, cased, padded, blank or missing."""
    return rng.choice(
        [value, value, value.upper(), value.lower(), f" {value}\t", "", None, "STRASSE"]
    )


def _addresses(areas: tuple[TaxArea, ...], n: int, seed: int) -> pl.DataFrame:
    rng = random.Random(seed)
    fields = ("state", "county", "city", "postal_code")
    values = {f: sorted({getattr(a, f) for a in areas} | {"Elsewhere", "00000"}) for f in fields}
    return pl.DataFrame(
        {f: [_variants(rng.choice(values[f]), rng) for _ in range(n)] for f in fields},
        schema=dict.fromkeys(fields, pl.String),
    )


@pytest.mark.parametrize("rules", [us_ruleset(), CATCH_ALL], ids=["us", "catch-all"])
def test_a_frame_resolves_as_each_address_does(rules):
    index = TaxAreaIndex(rules)
    addresses = _addresses(rules.tax_areas, 3000, seed=1)
    expected = [
        index.resolve(state=state, county=county, city=city, postal_code=postal)
        for state, county, city, postal in addresses.iter_rows()
    ]
    assert index.resolve_all(addresses).to_list() == expected
    # Both found and unfound addresses are among them.
    assert None in expected or rules is CATCH_ALL
    assert len({area for area in expected if area is not None}) > 3


def test_no_addresses_resolve_to_an_empty_column():
    empty = pl.DataFrame(
        schema=dict.fromkeys(("state", "county", "city", "postal_code"), pl.String)
    )
    assert TaxAreaIndex(CATCH_ALL).resolve_all(empty).to_list() == []
