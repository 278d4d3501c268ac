"""The analyst store of a billed operator: masked, joinable, and free of raw identifiers
(dbt_project/models/analyst/, pipelines/privacy/dbt_plugin.py)."""

from __future__ import annotations

import csv

import duckdb
import pytest

from pipelines.privacy.access_log import read_access_log
from pipelines.privacy.call_detail import subscriber_call_detail
from pipelines.privacy.keys import KEY_ENV, key_id
from pipelines.privacy.masking import token
from pipelines.privacy.stores import Role, analyst_store_path, connect

pytestmark = pytest.mark.slow

#: What analysts get: the RA, fraud and billing marts they query, masked, and nothing else.
ANALYST_TABLES = {
    "cpni_masking",
    "dim_accounts",
    "dim_subscribers",
    "fct_adjustments",
    "fct_case_status_history",
    "fct_fraud_alerts",
    "fct_interconnect_disputes",
    "fct_interconnect_reconciliation",
    "fct_interconnect_settlement",
    "fct_invoice_lines",
    "fct_invoices",
    "fct_leakage_findings",
    "fct_roaming_settlement",
    "rpt_customer_360",
    "rpt_file_conservation",
    "rpt_file_sequence_gaps",
    "rpt_interconnect_negative_margin_routes",
    "rpt_interconnect_route_margin",
    "rpt_ra_recovered_by_month",
    "rpt_rerating_sample",
    "rpt_usage_e2e_reconciliation",
    "rpt_usage_e2e_waterfall",
    "rpt_usage_reconciliation",
}


def restricted_identifiers(operator) -> set[str]:
    """Every subscriber identifier the restricted side holds: numbers, IMSIs, IMEIs, cells
    and record ids of the call detail, the CRM's lines, names and street addresses."""
    layout = operator.layout
    with connect(layout, Role.AUDITOR) as con:
        found = {
            value
            for (value,) in con.execute(
                "select distinct unnest([served_msisdn, served_imsi, served_imei, "
                "other_party_number, cell_id, usage_id]) from restricted.call_detail "
                "union select distinct unnest([msisdn, imsi]) from main.dim_subscribers "
                "union select distinct account_name from main.dim_accounts"
            ).fetchall()
            if value
        }
    with open(layout.reference / "service_addresses.csv", newline="") as addresses:
        found |= {row["street"] for row in csv.DictReader(addresses)}
    return found


def analyst_text_values(operator) -> dict[str, set[str]]:
    """Every text value of the analyst store, by table.column (list elements included)."""
    values: dict[str, set[str]] = {}
    with connect(operator.layout, Role.ANALYST) as con:
        columns = con.execute(
            "select table_name, column_name, data_type from information_schema.columns "
            "where data_type like 'VARCHAR%'"
        ).fetchall()
        for table, column, data_type in columns:
            select = f"unnest({column})" if data_type.endswith("[]") else column
            rows = con.execute(f"select distinct {select} from {table}").fetchall()
            values[f"{table}.{column}"] = {value for (value,) in rows if value is not None}
    return values


def test_the_analyst_store_holds_the_masked_marts_and_no_call_detail(billed_cpni_operator):
    with connect(billed_cpni_operator.layout, Role.ANALYST) as con:
        tables = {
            name
            for (name,) in con.execute(
                "select table_name from information_schema.tables"
            ).fetchall()
        }
        masking = con.execute(
            "select algorithm, token_hex_chars, key_id from cpni_masking"
        ).fetchall()
    assert tables == ANALYST_TABLES
    assert masking == [("HMAC-SHA-256", 20, key_id(billed_cpni_operator.cpni_key.encode()))]


def test_no_raw_identifier_of_the_restricted_side_appears_in_the_analyst_store(
    billed_cpni_operator,
):
    identifiers = restricted_identifiers(billed_cpni_operator)
    # Values of fewer than seven characters are service codes (911, 611), not subscribers.
    identifiers = {identifier for identifier in identifiers if len(identifier) >= 7}
    lengths = sorted({len(identifier) for identifier in identifiers})
    leaks = []
    for column, values in analyst_text_values(billed_cpni_operator).items():
        for value in values:
            pieces = {value[i : i + n] for n in lengths for i in range(len(value) - n + 1)}
            leaks += [(column, value, piece) for piece in pieces & identifiers]
    assert len(identifiers) > 500  # numbers, IMSIs, IMEIs, record ids, names, streets
    assert leaks == []


def test_tokens_are_the_deployments_keyed_hash_of_the_raw_values(billed_cpni_operator):
    key = billed_cpni_operator.cpni_key.encode()
    with connect(billed_cpni_operator.layout, Role.AUDITOR) as con:
        raw = dict(
            con.execute(
                "select subscriber_id, msisdn from dim_subscribers where msisdn is not null"
            ).fetchall()
        )
    with connect(billed_cpni_operator.layout, Role.ANALYST) as con:
        masked = dict(
            con.execute(
                "select subscriber_id, msisdn from dim_subscribers where msisdn is not null"
            ).fetchall()
        )
    assert raw and masked == {sub: token(key, msisdn) for sub, msisdn in raw.items()}


JOINS = {
    "line alerts to their lines": (
        "select count(*) from fct_fraud_alerts as alerts inner join dim_subscribers as lines "
        "on alerts.subject_id = lines.msisdn where alerts.subject_type = 'line'"
    ),
    "IMSI alerts and findings to their lines": (
        "select count(*) from (select subject_id from fct_fraud_alerts where subject_type = "
        "'imsi' union all select subject_id from fct_leakage_findings where subject_type in "
        "('imsi', 'msisdn')) as subjects inner join dim_subscribers as lines "
        "on subjects.subject_id in (lines.imsi, lines.msisdn)"
    ),
    "numbers in service to their lines": (
        "select count(*) from (select trim(unnest(string_split(msisdns, ','))) as msisdn "
        "from rpt_customer_360) as numbers inner join dim_subscribers as lines using (msisdn)"
    ),
    "cases to their alerts and findings": (
        "select count(*) from fct_case_status_history as cases inner join (select alert_id "
        "as case_id from fct_fraud_alerts union all select finding_id from "
        "fct_leakage_findings) as subjects using (case_id)"
    ),
}


def test_joins_on_tokens_give_the_row_counts_of_joins_on_raw_keys(billed_cpni_operator):
    layout = billed_cpni_operator.layout
    with connect(layout, Role.AUDITOR) as raw, connect(layout, Role.ANALYST) as masked:
        counts = {
            name: (raw.execute(sql).fetchone(), masked.execute(sql).fetchone())
            for name, sql in JOINS.items()
        }
    assert all(on_raw == on_tokens for on_raw, on_tokens in counts.values()), counts
    assert counts["numbers in service to their lines"][0][0] > 0


def test_an_analyst_looking_up_a_raw_number_finds_nothing(billed_cpni_operator):
    layout = billed_cpni_operator.layout
    with connect(layout, Role.AUDITOR) as con:
        (number,) = con.execute(
            "select served_msisdn from restricted.call_detail where subscriber_id is not null "
            "group by 1 order by count(*) desc limit 1"
        ).fetchone()
    with connect(layout, Role.ANALYST) as con:
        by_number = con.execute("select count(*) from dim_subscribers where msisdn = ?", [number])
        assert by_number.fetchone() == (0,)
        by_token = con.execute(
            "select count(*) from dim_subscribers where msisdn = ?",
            [token(billed_cpni_operator.cpni_key.encode(), number)],
        )
        assert by_token.fetchone() == (1,)


@pytest.mark.parametrize("role", [Role.ANALYST, Role.AUDITOR])
def test_analysts_and_auditors_cannot_write(billed_cpni_operator, role):
    with (
        connect(billed_cpni_operator.layout, role) as con,
        pytest.raises(duckdb.Error, match="read-only"),
    ):
        con.execute("create table notes (note varchar)")
    assert analyst_store_path(billed_cpni_operator.layout).exists()


def test_an_analysts_token_gets_the_lines_call_detail_and_the_access_is_logged(
    billed_cpni_operator, monkeypatch
):
    layout = billed_cpni_operator.layout
    monkeypatch.setenv(KEY_ENV, billed_cpni_operator.cpni_key)
    with connect(layout, Role.AUDITOR) as con:
        subscriber, records = con.execute(
            "select subscriber_id, count(*) from restricted.call_detail "
            "where billing_period = '2026-10' and subscriber_id is not null "
            "group by 1 order by 2 desc, 1 limit 1"
        ).fetchone()
    with connect(layout, Role.ANALYST) as con:
        (line_token,) = con.execute(
            "select msisdn from dim_subscribers where subscriber_id = ?", [subscriber]
        ).fetchone()
    detail = subscriber_call_detail(layout, line_token, "2026-10", "test of the access log")
    assert len(detail.rows) == records
    assert {row[detail.columns.index("subscriber_id")] for row in detail.rows} == {subscriber}
    assert [entry["access_id"] for entry in read_access_log(layout)] == [detail.access_id]
