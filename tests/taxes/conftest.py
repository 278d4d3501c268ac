"""Tax tests' fixture: ``tax_engine`` runs a test once per engine (tax_engines.ENGINES)."""

from __future__ import annotations

import pytest
from tax_engines import ENGINES, TaxEngine


@pytest.fixture(params=list(ENGINES))
def tax_engine(request: pytest.FixtureRequest) -> TaxEngine:
    return ENGINES[request.param]
