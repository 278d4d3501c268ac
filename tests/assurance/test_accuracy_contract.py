"""Precision, recall and the target check of one type, on hand-counted case keys."""

from __future__ import annotations

from pipelines.assurance.accuracy import TypeAccuracy, accuracy_table, to_markdown


def _type(injected: set[str], raised: set[str]) -> TypeAccuracy:
    return TypeAccuracy(
        domain="fraud",
        case_type="wangiri",
        injected=frozenset(injected),
        raised=frozenset(raised),
        amount_injected_micros=12_500_000,
        amount_found_micros=10_000_000,
    )


def test_precision_and_recall_count_case_keys():
    # 4 injected; 3 of them raised plus one nobody injected.
    t = _type({"a", "b", "c", "d"}, {"a", "b", "c", "x"})
    assert (t.found, t.false_positives) == (3, 1)
    assert t.precision == 0.75
    assert t.recall == 0.75
    assert not t.meets(0.95)


def test_a_perfect_type_meets_the_target():
    t = _type({"a", "b"}, {"a", "b"})
    assert (t.precision, t.recall) == (1.0, 1.0)
    assert t.meets(0.95)


def test_nothing_injected_and_nothing_raised_meets_it_but_a_stray_alert_does_not():
    assert _type(set(), set()).meets(0.95)
    stray = _type(set(), {"x"})
    assert stray.recall is None
    assert stray.precision == 0.0
    assert not stray.meets(0.95)


def test_the_table_names_misses_and_unexpected_cases_and_amounts():
    t = _type({"a", "b"}, {"b", "z"})
    (row,) = accuracy_table([t])
    assert row["missed"] == ["a"]
    assert row["unexpected"] == ["z"]
    markdown = to_markdown([t])
    assert "| fraud | wangiri | 2 | 1 | 1 | 0.50 | 0.50 | $12.50 | $10.00 | NO |" in markdown
