"""``telcolake bench`` end to end on a tiny generated operator: the report's record counts
are the lake's, the operator is left as it was, a failed stage skips the ones that need it,
and the baselines measure the run's own data."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest

from pipelines import lake
from pipelines.bench import baselines, cache
from pipelines.bench.scales import BENCH_PERIOD
from pipelines.cli import main
from pipelines.config import Layout
from pipelines.generate import generate_operator
from pipelines.rating.buckets import read_period_table

#: The feed kept of the generated operator's: mobile usage in BER (two file dates, so two
#: mediate tasks side by side); every other feed would add a task of its own.
FEEDS = ("ts32298_ber",)
STAGES = ("mediate", "consolidate", "rate", "tax")


def _bench(*args: str, data: Path) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, TELCOLAKE_DATA=str(data), TELCOLAKE_RATING_BUCKETS="1", COLUMNS="200")
    return subprocess.run(
        [sys.executable, "-m", "pipelines.cli", "bench", *args],
        env=env,
        capture_output=True,
        text=True,
    )


@pytest.fixture(scope="module")
def tiny_operator(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A generated operator's day, its landing area cut to FEEDS (fewer partitions to run)."""
    root = tmp_path_factory.mktemp("tiny-operator")
    generate_operator(Layout(root), seed=11, subscribers=30, month=BENCH_PERIOD, days=1)
    for feed in (root / "landing").iterdir():
        if feed.name not in FEEDS:
            shutil.rmtree(feed)
    return root


@pytest.fixture(scope="module")
def benched(tiny_operator: Path, tmp_path_factory: pytest.TempPathFactory) -> dict:
    work = tmp_path_factory.mktemp("bench-work")
    before = cache.snapshot(tiny_operator)
    done = _bench(
        "--data-root",
        str(tiny_operator),
        "--stages",
        ",".join(STAGES),
        "--work",
        str(work),
        "--no-baselines",
        data=work / "data",
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert cache.changed_files(tiny_operator, before) == []
    report = json.loads((work / "runs" / "data-root" / "bench.json").read_text())
    return {"work": work, "report": report, "stdout": done.stdout}


@pytest.mark.slow
def test_every_stage_asked_ran_and_is_measured(benched):
    stages = benched["report"]["stages"]
    assert [stage["stage"] for stage in stages] == list(STAGES)
    for stage in stages:
        assert stage["status"] == "ok", stage
        assert stage["seconds"] > 0 and stage["peak_rss_bytes"] > 0
        assert stage["read_bytes"] > 0 and stage["records"] > 0
    by_name = {stage["stage"]: stage for stage in stages}
    assert by_name["rate"]["tasks"] == 3  # plan, one bucket, finish
    assert by_name["rate"]["detail"]["bucket_count"] == 1
    partitions = by_name["mediate"]["detail"]["partitions"]
    assert {p["feed"] for p in partitions} == set(FEEDS)
    assert by_name["mediate"]["tasks"] == 1 + len(partitions)
    assert "the operator's files were left unchanged" in benched["report"]["run"]["notes"]
    assert benched["report"]["targets"]["day_missing_stages"] == ["build", "validate"]
    run_folder = benched["work"] / "runs" / "data-root"
    assert (run_folder / "bench.md").is_file()
    assert (benched["work"] / "scaling.md").is_file()
    assert (run_folder / "reference").is_symlink()


@pytest.mark.slow
def test_the_reported_records_are_the_lakes(benched):
    layout = Layout(benched["work"] / "runs" / "data-root")
    by_name = {stage["stage"]: stage for stage in benched["report"]["stages"]}
    registry = pl.from_arrow(lake.read_table(layout, "file_registry"))
    usage = pl.from_arrow(lake.read_table(layout, "usage"))
    mediate = by_name["mediate"]
    assert mediate["records"] == registry["records_in"].sum() > 0
    assert mediate["detail"]["accepted"] == registry["records_accepted"].sum() == usage.height
    assert mediate["detail"]["rejected"] == registry["records_rejected"].sum()
    in_period = usage.filter(pl.col("event_date").dt.strftime("%Y-%m") == BENCH_PERIOD)
    assert by_name["consolidate"]["records"] == in_period.height
    rated = read_period_table(layout, "rated_usage", BENCH_PERIOD)
    assert by_name["rate"]["records"] == rated.num_rows > 0
    charges = lake.read_partition(layout, "billed_charges", {"billing_period": BENCH_PERIOD})
    assert by_name["tax"]["records"] == charges.num_rows > 0


@pytest.mark.slow
def test_the_baselines_measure_the_runs_own_data(benched):
    layout = Layout(benched["work"] / "runs" / "data-root")
    priced = read_period_table(layout, "rated_usage", BENCH_PERIOD, columns=["rating_status"])
    reference = baselines.reference_rating(layout, BENCH_PERIOD, records=100)
    assert reference.records == 100 and reference.seconds > 0
    # Each engine prices the stage's priced records as the stage did (the same allowance
    # units drawn): a baseline that rated another tariff would not agree.
    detail = reference.detail
    assert detail["agreeing_with_stage"] >= 0.95 * detail["compared_with_stage"] > 0
    sql = baselines.duckdb_sql_rating(layout, BENCH_PERIOD, memory_limit="1GB")
    assert 0 < sql.records <= priced.num_rows
    assert sql.detail["agreeing_with_stage"] >= 0.95 * sql.detail["compared_with_stage"] > 0
    ber = baselines.pycrate_ber(layout, BENCH_PERIOD, records=50)
    assert ber.records == 50 and ber.seconds > 0


def test_a_failed_stage_is_reported_and_the_stages_needing_it_skipped(tmp_path: Path):
    operator = tmp_path / "operator"
    (operator / "landing" / "not_a_feed" / "SW1").mkdir(parents=True)
    (operator / "landing" / "not_a_feed" / "SW1" / "x_2026100100_1.csv").write_text("x\n")
    done = _bench(
        "--data-root",
        str(operator),
        "--stages",
        "mediate,consolidate",
        "--work",
        str(tmp_path / "work"),
        "--no-baselines",
        data=tmp_path / "data",
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    report = json.loads((tmp_path / "work" / "runs" / "data-root" / "bench.json").read_text())
    mediate, consolidate = report["stages"]
    assert mediate["status"] == "failed" and "not a known feed" in mediate["error"]
    assert consolidate == {**consolidate, "status": "skipped", "error": "needs mediate failed"}
    assert report["targets"]["day_met"] is None


def test_stages_without_mediation_need_an_earlier_runs_lake(tmp_path: Path, capsys):
    work = tmp_path / "work"
    assert main(["bench", "--data-root", str(tmp_path), "--stages", "rate", "--work", str(work)])
    assert "include mediate" in capsys.readouterr().out
    assert main(["bench", "--stages", "rate,nonsense", "--work", str(work)]) == 2
    assert "unknown stage(s) nonsense" in capsys.readouterr().out
