"""End-to-end reconciliation and invoice-line lineage on a generated operator (seed 7, 40
subscribers, 4 days of 2026-10), checked against the generator's ground truth
(manifest/anomalies.json) and against the raw landing files themselves."""

from __future__ import annotations

import csv
import json
from collections import Counter
from datetime import datetime
from zoneinfo import ZoneInfo

import duckdb
import pytest
from generated_operator import mediate_period

from pipelines.build import build_warehouse
from pipelines.config import OPERATOR_TIMEZONE, Layout
from pipelines.generate import generate_operator
from pipelines.mediation.records import FileContext
from pipelines.mediation.ts32298_ber import parse_file
from pipelines.rating.stage import rate_period
from pipelines.taxes.stage import tax_period

PERIOD = "2026-10"


@pytest.fixture(scope="module")
def billed(tmp_path_factory: pytest.TempPathFactory) -> Layout:
    layout = Layout(tmp_path_factory.mktemp("generated") / "data")
    generate_operator(layout, seed=7, subscribers=40, month=PERIOD, days=4)
    mediate_period(layout, PERIOD)
    rate_period(layout, PERIOD)
    tax_period(layout, PERIOD)
    build_warehouse(layout)
    return layout


def _query(layout: Layout, sql: str) -> list[tuple]:
    with duckdb.connect(str(layout.duckdb_path), read_only=True) as con:
        return con.execute(sql).fetchall()


def _manifest(layout: Layout) -> dict:
    return json.loads((layout.root / "manifest" / "anomalies.json").read_text())


@pytest.mark.slow
def test_injected_anomalies_are_the_explained_gaps(billed: Layout) -> None:
    truth = _manifest(billed)
    for kind in ("lost_files", "truncated_files", "duplicate_files", "duplicate_records"):
        assert truth[kind], f"the generator injected no {kind}: the test would prove nothing"
    gaps = dict(
        _query(
            billed,
            "select coalesce(reason, step), records from rpt_usage_e2e_waterfall"
            f" where billing_period = '{PERIOD}'",
        )
    )
    # Each truncated file loses its broken record to the rejects (its later records are
    # beyond the break: not in the file any more); every malformed record is rejected.
    assert gaps["rejected"] == len(truth["malformed_records"]) + len(truth["truncated_files"])
    assert gaps["duplicate_record"] == len(truth["duplicate_records"])
    assert gaps["duplicate_file"] == sum(f["records"] for f in truth["duplicate_files"])
    assert gaps["repeated"] == len(truth["replayed_records"])
    assert gaps["unexplained"] == 0
    # The truncated record is a reject of its own file, under its own reason.
    for truncated in truth["truncated_files"]:
        assert _query(
            billed,
            "select record_number, reason_code from stg_lake__rejected_records"
            f" where file_name = '{truncated['file_name']}'",
        ) == [(truncated["truncated_record_number"], "truncated_record")]
    # A lost file never arrived: the feed's reconciliation counts it as a missing file.
    missing = dict(
        _query(
            billed,
            "select feed, sum(missing_files) from rpt_usage_e2e_reconciliation group by feed",
        )
    )
    lost = Counter(f["feed"] for f in truth["lost_files"])
    assert {feed: missing[feed] for feed in lost} == dict(lost)
    assert _query(
        billed, "select count(*) from rpt_usage_e2e_reconciliation where not is_explained"
    ) == [(0,)]


@pytest.mark.slow
def test_usage_lines_trace_to_the_raw_records(billed: Layout) -> None:
    rows = _query(
        billed,
        "select lineage.invoice_line_id, lineage.feed, lineage.switch_id, lineage.file_name,"
        " lineage.record_number, lineage.served_msisdn, lineage.started_at,"
        " lineage.partial_records"
        " from fct_invoice_line_lineage as lineage"
        " where lineage.lineage_source = 'rated_usage'"
        " and lineage.feed in ('ts32298_ber', 'asterisk_cdr_csv')"
        " and lineage.invoice_line_id in ("
        "   select invoice_line_id from fct_invoice_lines where line_type = 'usage'"
        "   order by hash(invoice_line_id) limit 12)",
    )
    assert {row[1] for row in rows} == {"ts32298_ber", "asterisk_cdr_csv"}
    local = ZoneInfo(OPERATOR_TIMEZONE)
    for _, feed, switch_id, file_name, number, msisdn, started_at, partials in rows:
        path = billed.root / "landing" / feed / switch_id / file_name
        if feed == "asterisk_cdr_csv":
            # Master.csv has no header: record n is line n. src (1) or dst (2) is the line's
            # number without its country code; start (9) is the switch's local time.
            record = list(csv.reader(path.open(newline="")))[number - 1]
            assert msisdn.endswith(record[1]) or msisdn.endswith(record[2]), (path, number)
            start = datetime.strptime(record[9], "%Y-%m-%d %H:%M:%S").replace(tzinfo=local)
            assert start == started_at, (path, number)
            continue
        parsed = {
            record.record_number: record
            for record in parse_file(path.read_bytes(), FileContext(file_name, switch_id, "UTC"))
        }
        values = parsed[number].values
        assert (values["served_msisdn"], values["started_at"]) == (msisdn, started_at)
        for partial in json.loads(partials or "[]"):
            partial_path = billed.root / "landing" / feed / switch_id / partial["file_name"]
            records = parse_file(
                partial_path.read_bytes(), FileContext(partial["file_name"], switch_id, "UTC")
            )
            match = next(r for r in records if r.record_number == partial["record_number"])
            assert match.values["served_msisdn"] == msisdn


@pytest.mark.slow
def test_every_usage_line_sums_its_rated_charges(billed: Layout) -> None:
    lines = _query(
        billed,
        "select lines.invoice_line_id, lines.amount_micros, sum(lineage.rated_charge_micros)"
        " from fct_invoice_lines as lines"
        " left join fct_invoice_line_lineage as lineage"
        "   on lines.invoice_line_id = lineage.invoice_line_id"
        " where lines.line_type = 'usage'"
        " group by lines.invoice_line_id, lines.amount_micros",
    )
    assert lines
    for line_id, amount, traced in lines:
        # Half away from zero to the cent (10 000 micros), as the bill run rounds a charge.
        magnitude = (abs(traced) + 5_000) // 10_000 * 10_000
        assert amount == (magnitude if traced >= 0 else -magnitude), line_id
