"""The retention purge DAG, run for real on a copy of the billed operator 18 months on: a
held subscriber's files survive whole, everything else of October 2026 goes, from the lake,
the landing area and, after the DAG's build, the warehouse and the analyst store."""

from __future__ import annotations

import csv
import shutil
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
from cpni_dag_runs import run_dag_test

from pipelines import lake
from pipelines.config import OPERATOR_TIMEZONE, Layout
from pipelines.privacy.retention import purge_toll_records, read_purge_log
from pipelines.privacy.stores import Role, connect

pytestmark = pytest.mark.slow

# The daily run of 1 May 2028 (its data interval ends 2 May): October 2026 is due.
PURGE_RUN = datetime(2028, 5, 1, 3, tzinfo=ZoneInfo(OPERATOR_TIMEZONE))


def read_csv(path) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as source:
        return list(csv.DictReader(source))


def held_files(layout: Layout) -> set[str]:
    """The raw files the generated hold keeps, worked out from the lake before the purge:
    files with a record of the held subscriber (by line or number) on the hold's dates, the
    files the partials of their sessions are in, and the files of the records they repeat
    or that repeat them."""
    (hold,) = read_csv(layout.reference / "legal_holds.csv")
    line = next(
        row
        for row in read_csv(layout.reference / "subscribers.csv")
        if row["subscriber_id"] == hold["subject_id"]
    )
    numbers = {line["msisdn"], line["imsi"]} - {""}
    first, last = date.fromisoformat(hold["from_date"]), date.fromisoformat(hold["to_date"])
    files = set()
    for table in ("usage", "sessions", "rated_usage"):
        for row in lake.read_table(layout, table).to_pylist():
            theirs = row.get("subscriber_id") == line["subscriber_id"] or numbers & {
                row["served_msisdn"],
                row["served_imsi"],
                row["other_party_number"],
            }
            if theirs and first <= row["event_date"] <= last:
                files.add(row["file_id"])
    file_of = {
        row["usage_id"]: row["file_id"] for row in lake.read_table(layout, "usage").to_pylist()
    }
    groups = [
        {
            session["file_id"],
            *(file_of[uid] for uid in session["partial_usage_ids"] if uid in file_of),
        }
        for session in lake.read_table(layout, "sessions").to_pylist()
    ] + [
        {file_of[repeat["usage_id"]], file_of[repeat["repeat_of_usage_id"]]}
        for repeat in lake.read_table(layout, "usage_repeats").to_pylist()
        if repeat["repeat_of_usage_id"] in file_of
    ]
    while grown := [group for group in groups if group & files and not group <= files]:
        for group in grown:
            files |= group
    return files


@pytest.fixture(scope="module")
def purged(billed_cpni_operator, tmp_path_factory):
    """(layout, held files, registry and landing files before) of the purged copy."""
    layout = Layout(tmp_path_factory.mktemp("cpni_purged") / "data")
    shutil.copytree(billed_cpni_operator.layout.root, layout.root)
    registry = lake.read_table(layout, "file_registry").to_pylist()
    landing = {item.key for item in layout.landing_store.objects()}
    held = held_files(layout)
    run_dag_test(
        layout,
        "telcolake_retention_purge",
        PURGE_RUN,
        {"TELCOLAKE_CPNI_KEY": billed_cpni_operator.cpni_key},
    )
    return layout, held, registry, landing


def test_only_the_held_files_records_are_left_in_the_lake(purged):
    layout, held, registry, _ = purged
    assert held and len(held) < len(registry)
    for table in ("usage", "rated_usage", "file_registry", "rejects"):
        left = set(lake.read_table(layout, table)["file_id"].to_pylist())
        assert left <= held, table
    assert set(lake.read_table(layout, "usage")["file_id"].to_pylist()) == held


def test_the_landing_area_keeps_the_held_files_and_what_was_never_mediated(purged):
    layout, held, registry, landing_before = purged
    deleted = {
        f"{row['feed']}/{row['switch_id']}/{row['file_name']}"
        for row in registry
        if row["file_id"] not in held
    }
    assert deleted
    assert {item.key for item in layout.landing_store.objects()} == landing_before - deleted


def test_every_record_looked_at_is_purged_or_held_and_logged(purged):
    layout, held, registry, _ = purged
    log = read_purge_log(layout)
    assert {row["keep_from_month"] for row in log} == {"2026-11"}
    for row in log:
        assert row["records_before"] == (
            row["records_purged"] + row["records_held"] + row["records_not_due"]
        ), row
    landing = [row for row in log if row["table_name"] == "landing"]
    assert len(landing) == len(registry)
    assert sum(row["records_held"] for row in landing) == sum(
        row["records_in"] for row in registry if row["file_id"] in held
    )
    assert {hold for row in log for hold in row["hold_ids"]} == {
        read_csv(layout.reference / "legal_holds.csv")[0]["hold_id"]
    }


def test_the_rebuilt_warehouse_and_analyst_store_have_only_the_held_records(purged):
    layout, held, _, _ = purged
    with connect(layout, Role.AUDITOR) as con:
        files = con.execute("select distinct file_id from main.fct_rated_usage").fetchall()
        purged_periods = con.execute("select * from int_call_detail_purged_periods").fetchall()
        detail = con.execute("select count(*) from restricted.call_detail").fetchone()
        rated = lake.read_table(layout, "rated_usage").num_rows
    assert {file_id for (file_id,) in files} <= held
    assert detail == (rated,)
    assert purged_periods == [("2026-10",)]
    with connect(layout, Role.ANALYST) as con:
        assert con.execute("select count(*) from cpni_masking").fetchone() == (1,)


def test_a_second_purge_deletes_nothing_more(purged):
    layout, _, _, _ = purged
    before = lake.read_table(layout, "usage").num_rows
    result = purge_toll_records(layout, PURGE_RUN.date())
    assert (result.records_purged, result.files_purged) == (0, 0)
    assert result.records_held > 0
    assert lake.read_table(layout, "usage").num_rows == before
