"""Validation and meaning of reference legal_holds.csv (pipelines/privacy/legal_holds.py)."""

from __future__ import annotations

from datetime import date

import pytest

from pipelines.config import Layout
from pipelines.privacy.legal_holds import (
    COLUMNS,
    HoldScope,
    LegalHoldsError,
    read_legal_holds,
)

HEADER = ",".join(COLUMNS)
SUBSCRIBERS = {"SUB1", "SUB2"}
ACCOUNTS = {"ACC1"}


def write_holds(tmp_path, *lines: str, header: str = HEADER) -> Layout:
    layout = Layout(tmp_path)
    layout.reference.mkdir(parents=True, exist_ok=True)
    (layout.reference / "legal_holds.csv").write_text("\n".join([header, *lines]) + "\n")
    return layout


def test_without_the_file_nothing_is_held(tmp_path):
    assert read_legal_holds(Layout(tmp_path)) == []


def test_a_valid_file_reads_every_hold(tmp_path):
    layout = write_holds(
        tmp_path,
        "LH-1,subscriber,SUB1,2025-01-01,2025-03-31,SUBPOENA-9,counsel,2026-01-05,",
        "LH-2,account,ACC1,2025-02-01,,CASE-7,counsel,2026-01-05,2026-06-30",
        "LH-3,all,,2025-03-10,2025-03-10,OUTAGE-INQUIRY,counsel,2026-02-01,",
    )
    holds = read_legal_holds(layout, SUBSCRIBERS, ACCOUNTS)
    assert [(h.hold_id, h.scope, h.subject_id) for h in holds] == [
        ("LH-1", HoldScope.SUBSCRIBER, "SUB1"),
        ("LH-2", HoldScope.ACCOUNT, "ACC1"),
        ("LH-3", HoldScope.ALL, None),
    ]
    account_hold = holds[1]
    assert account_hold.to_date is None and account_hold.released_on == date(2026, 6, 30)


def test_every_problem_is_named_with_its_line(tmp_path):
    layout = write_holds(
        tmp_path,
        "LH-1,subscriber,SUB9,2025-01-01,,CASE,counsel,2026-01-05,",
        "LH-1,everyone,,2025-01-01,,CASE,counsel,2026-01-05,",
        "LH-3,all,SUB1,2025-01-01,,CASE,counsel,2026-01-05,",
        "LH-4,account,,2025-01-01,,CASE,counsel,2026-01-05,",
        "LH-5,subscriber,SUB1,2025-03-01,2025-02-01,CASE,counsel,2026-01-05,",
        "LH-6,subscriber,SUB1,1 March,,,counsel,2026-01-05,2025-01-01",
    )
    with pytest.raises(LegalHoldsError) as refused:
        read_legal_holds(layout, SUBSCRIBERS, ACCOUNTS)
    assert refused.value.problems == [
        "line 2: subscriber SUB9 is not in the CRM",
        "line 3: scope 'everyone' is not one of subscriber, account, all",
        "line 4: a hold of scope all names no subject_id",
        "line 5: a hold of scope account needs a subject_id",
        "line 6: to_date 2025-02-01 is before from_date 2025-03-01",
        "line 7: case_reference is empty",
        "line 7: from_date '1 March' is not a date (YYYY-MM-DD)",
        "line 7: released_on 2025-01-01 is before placed_on 2026-01-05",
    ]


def test_a_repeated_hold_id_is_a_problem(tmp_path):
    line = "LH-1,subscriber,SUB1,2025-01-01,,CASE,counsel,2026-01-05,"
    with pytest.raises(LegalHoldsError, match="line 3: hold_id LH-1 is repeated"):
        read_legal_holds(write_holds(tmp_path, line, line), SUBSCRIBERS, ACCOUNTS)


def test_a_wrong_header_is_refused(tmp_path):
    layout = write_holds(tmp_path, header="hold_id,subscriber_id,from,to")
    with pytest.raises(LegalHoldsError, match="the header must be hold_id,scope,subject_id"):
        read_legal_holds(layout)


def test_a_hold_binds_from_its_placement_until_its_release_over_its_dates(tmp_path):
    layout = write_holds(
        tmp_path, "LH-1,account,ACC1,2025-02-01,2025-02-28,CASE,counsel,2026-01-05,2026-06-30"
    )
    (hold,) = read_legal_holds(layout)
    assert not hold.active_on(date(2026, 1, 4))
    assert hold.active_on(date(2026, 1, 5)) and hold.active_on(date(2026, 6, 29))
    assert not hold.active_on(date(2026, 6, 30))
    assert hold.covers_day(date(2025, 2, 1)) and hold.covers_day(date(2025, 2, 28))
    assert not hold.covers_day(date(2025, 1, 31)) and not hold.covers_day(date(2025, 3, 1))
