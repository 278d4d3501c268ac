"""A run refuses to start without its reference data, and says which file is missing."""

from __future__ import annotations

import pytest

from pipelines.config import Layout
from pipelines.reference import (
    REFERENCE_FILES,
    TAX_RULES_DIR,
    MissingReferenceError,
    require_reference,
)


def test_missing_reference_file_is_named(tmp_path):
    layout = Layout(tmp_path)
    layout.reference.mkdir()
    for name in REFERENCE_FILES:
        if name != "rate_deck.csv":
            (layout.reference / name).write_text("x\n")
    with pytest.raises(MissingReferenceError, match=r"rate_deck\.csv") as raised:
        require_reference(layout)
    assert "accounts.csv" not in str(raised.value)


def test_complete_reference_passes(tmp_path):
    layout = Layout(tmp_path)
    layout.reference.mkdir()
    for name in REFERENCE_FILES:
        (layout.reference / name).write_text("x\n")
    (layout.reference / TAX_RULES_DIR).mkdir()
    (layout.reference / TAX_RULES_DIR / "ruleset.yaml").write_text("x\n")
    require_reference(layout)


def test_missing_tax_rule_set_is_named(tmp_path):
    layout = Layout(tmp_path)
    layout.reference.mkdir()
    for name in REFERENCE_FILES:
        (layout.reference / name).write_text("x\n")
    with pytest.raises(MissingReferenceError, match=r"tax_rules/ruleset\.yaml"):
        require_reference(layout)
