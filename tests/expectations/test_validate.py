"""The validate stage on a tiny warehouse: clean marts pass, corrupted marts fail loudly."""

from __future__ import annotations

import json
import re
from pathlib import Path

import duckdb
import pytest

from pipelines.config import Layout, layout
from pipelines.validate import (
    ValidationFailed,
    ValidationSummary,
    raise_for_failures,
    validate_warehouse,
)

MARTS_SQL = """
create table dim_subscribers (
    subscriber_id varchar, account_id varchar, service_type varchar, msisdn varchar,
    imsi varchar, plan_id varchar, status varchar, activated_date date, cancelled_date date
);
insert into dim_subscribers values
    ('S1', 'A1', 'mobile', '13125550101', '310150000000001', 'P1', 'active',
        '2024-06-01', null),
    ('S2', 'A2', 'fixed_voip', '13125550102', null, 'P2', 'active', '2024-03-10', null),
    -- cancelled before the period: no monthly fee expected
    ('S3', 'A2', 'mobile', '13125550103', '310150000000003', 'P1', 'cancelled',
        '2024-01-01', '2024-12-15');

-- Cycle day 1: the January bill charges February in advance.
create table fct_invoices (
    invoice_id varchar, account_id varchar, billing_period varchar, usage_from date,
    usage_to date, advance_from date, invoice_date date, due_date date, line_count integer,
    recurring_micros bigint, usage_micros bigint, subtotal_micros bigint, tax_micros bigint,
    total_micros bigint
);
insert into fct_invoices values
    ('INV-202501-A1', 'A1', '2025-01', '2025-01-01', '2025-01-31', '2025-02-01',
        '2025-02-01', '2025-02-22', 3, 30000000, 110000, 30110000, 3011000, 33121000),
    ('INV-202501-A2', 'A2', '2025-01', '2025-01-01', '2025-01-31', '2025-02-01',
        '2025-02-01', '2025-02-22', 2, 45000000, 0, 45000000, 6750000, 51750000),
    -- A broadband line cancelled (its untaxed $40 advance fee reversed) and a $45 mobile
    -- line: 6.75 of tax on a 5.00 subtotal, yet 15% of the charge it taxes.
    ('INV-202501-A3', 'A3', '2025-01', '2025-01-01', '2025-01-31', '2025-02-01',
        '2025-02-01', '2025-02-22', 3, 5000000, 0, 5000000, 6750000, 11750000);

-- Percentage tax lines per charge (the tax share's source); C4 is A1's credit, C7 A3's
-- untaxed reversal (no tax line).
create table fct_tax_lines (
    invoice_id varchar, charge_id varchar, tax_id varchar, method varchar,
    charge_amount_micros bigint, tax_micros bigint, is_billable boolean
);
insert into fct_tax_lines values
    ('INV-202501-A1', 'C1', 'T1', 'percent', 30000000, 3000000, true),
    ('INV-202501-A1', 'C5', 'T1', 'percent', 110000, 11000, true),
    ('INV-202501-A1', 'C4', 'T1', 'percent', -20000000, -2000000, true),
    ('INV-202501-A2', 'C2', 'T1', 'percent', 45000000, 6750000, true),
    ('INV-202501-A3', 'C6', 'T1', 'percent', 45000000, 6750000, true);

create table fct_invoice_lines (
    invoice_line_id varchar, invoice_id varchar, account_id varchar, billing_period varchar,
    subscriber_id varchar, line_type varchar, category varchar, plan_id varchar,
    description varchar, quantity bigint, quantity_unit varchar, service_from date,
    service_to date, tax_id varchar, amount_micros bigint
);
insert into fct_invoice_lines values
    ('L1', 'INV-202501-A1', 'A1', '2025-01', 'S1', 'recurring', 'wireless_access', 'P1',
        'Mobile plan', 28, 'days', '2025-02-01', '2025-02-28', null, 30000000),
    ('L2', 'INV-202501-A1', 'A1', '2025-01', 'S1', 'usage', 'wireless_usage', null,
        'Calls', 1, 'records', '2025-01-01', '2025-01-31', null, 110000),
    ('L3', 'INV-202501-A1', 'A1', '2025-01', null, 'tax', null, null, 'State tax',
        null, null, null, null, 'T1', 3011000),
    ('L4', 'INV-202501-A2', 'A2', '2025-01', 'S2', 'recurring', 'voip_access', 'P2',
        'Voice line', 28, 'days', '2025-02-01', '2025-02-28', null, 45000000),
    ('L5', 'INV-202501-A2', 'A2', '2025-01', null, 'tax', null, null, 'State tax',
        null, null, null, null, 'T1', 6750000);

-- USF at the FCC cap on both invoices: floor(36.3% x 37.1% x 30 000 000) = 4 040 190 and
-- floor(36.3% x 64.9% x 45 000 000) = 10 601 415.
create table fct_billed_charges (
    billing_period varchar, charge_id varchar, invoice_id varchar, category varchar,
    interstate_micros bigint, tax_status varchar, usf_billed_micros bigint,
    has_usf_line boolean, usf_factor_ppm bigint
);
insert into fct_billed_charges values
    ('2025-01', 'C1', 'INV-202501-A1', 'wireless_access', 11130000, 'ok', 4040190, true,
        363000),
    ('2025-01', 'C2', 'INV-202501-A2', 'voip_access', 29205000, 'ok', 10601415, true,
        363000),
    ('2025-01', 'C3', 'INV-202501-A2', 'internet_access', 0, 'ok', 0, false, 363000),
    -- A credit outweighing A1's charges, reversing less USF than the factor times its
    -- interstate amount: the invoice refunds 3,209,810 of USF, while 0.363 x -8,870,000 is
    -- -3,219,810. A refund recovers nothing: within the cap (0), though above -3,219,810.
    ('2025-01', 'C4', 'INV-202501-A1', 'wireless_access', -20000000, 'ok', -7250000, true,
        363000);

create table fct_rated_usage (
    usage_id varchar, billing_period varchar, file_id varchar, file_name varchar,
    record_number integer, feed varchar, record_type varchar, service varchar,
    direction varchar, subscriber_id varchar, account_id varchar, plan_id varchar,
    served_msisdn varchar, other_party_number varchar, started_at timestamptz,
    duration_seconds bigint, data_volume_bytes bigint, destination_prefix varchar,
    destination_name varchar, destination_group varchar, time_band varchar,
    billable_units bigint, allowance_units bigint, chargeable_units bigint,
    charge_micros bigint, rating_status varchar, suspense_reason varchar,
    tariff_version varchar
);
insert into fct_rated_usage values
    ('U1', '2025-01', 'f1', 'Master.csv', 1, 'asterisk_cdr_csv', 'voice_mo', 'voice',
        'outbound', 'S1', 'A1', 'P1', '13125550101', '442079460000',
        '2025-01-05 10:00:00+00', 115, 0, '44', 'United Kingdom', 'international', 'peak',
        120, 0, 120, 110000, 'rated', null, 'v1'),
    ('U2', '2025-01', 'f1', 'Master.csv', 2, 'asterisk_cdr_csv', 'voice_mo', 'voice',
        'outbound', 'S2', 'A2', 'P2', '13125550102', '13125550199',
        '2025-01-05 11:00:00+00', 60, 0, '1', 'Domestic', 'domestic', 'peak',
        60, 60, 0, 0, 'zero_rated', null, 'v1'),
    ('U3', '2025-01', 'f2', 'MSC1.ber', 1, 'ts32298_ber', 'sms_mo', 'sms',
        'outbound', null, null, null, '13125550999', '13125550101',
        '2025-01-05 12:00:00+00', 0, 0, null, null, null, null,
        0, 0, 0, 0, 'suspense', 'unknown_subscriber', 'v1');

create table fct_interconnect_settlement (
    carrier_id varchar, carrier_name varchar, billing_period varchar, leg_direction varchar,
    destination_prefix varchar, destination_name varchar, calls bigint,
    billable_seconds bigint, amount_micros bigint
);
insert into fct_interconnect_settlement values
    ('CAR1', 'Atlantic Transit', '2025-01', 'outbound', '44', 'United Kingdom', 3, 600, 105000),
    ('CAR2', 'Pacific Voice', '2025-01', 'outbound', '52', 'Mexico', 1, 120, 40000),
    ('CAR2', 'Pacific Voice', '2025-01', 'inbound', '52', 'Mexico', 2, 120, 6000);

create table rpt_usage_e2e_reconciliation (
    billing_period varchar, feed varchar, file_date date, switch_records bigint,
    mediated_records bigint, rated_records bigint, billed_records bigint,
    unexplained_records bigint
);
insert into rpt_usage_e2e_reconciliation values
    ('2025-01', 'asterisk_cdr_csv', '2025-01-05', 100, 98, 96, 90, 0),
    ('2025-01', 'ts32298_ber', '2025-01-05', 50, 50, 49, 48, 0),
    ('2025-02', 'ts32298_ber', '2025-02-01', 10, 10, 10, 10, 0);

create table rpt_rerating_sample (
    billing_period varchar, billed_currency varchar, sample_size bigint,
    records_sampled bigint, records_matched bigint, records_mismatched bigint,
    absolute_difference_micros bigint
);
insert into rpt_rerating_sample values ('2025-01', 'USD', 1000, 94, 94, 0, 0);

create table rpt_usage_reconciliation (
    feed varchar, file_date date, files bigint, duplicate_files bigint, records_in bigint,
    records_accepted bigint, records_rejected bigint, records_duplicate bigint,
    records_rated bigint, records_zero_rated bigint, records_not_billable bigint,
    records_suspense bigint, records_unexplained bigint, charge_micros bigint
);
insert into rpt_usage_reconciliation values
    ('asterisk_cdr_csv', '2025-01-05', 4, 0, 100, 98, 1, 1, 90, 4, 2, 2, 0, 900000),
    ('ts32298_ber', '2025-01-05', 2, 0, 50, 50, 0, 0, 48, 0, 1, 1, 0, 400000),
    -- next period: outside a January validation
    ('ts32298_ber', '2025-02-01', 1, 0, 10, 10, 0, 0, 10, 0, 0, 0, 0, 1000);

create table fct_leakage_findings (
    finding_id varchar, billing_period varchar, category varchar, subject_type varchar,
    subject_id varchar, record_count bigint, amount_at_risk_micros bigint,
    estimation_method varchar, evidence varchar, finding_status varchar
);
insert into fct_leakage_findings values
    ('F1', '2025-01', 'usage_in_suspense', 'msisdn', '13125550999', 1, 10000,
        'sms retail price', '{"suspense_reason": "unknown_subscriber", "sample_usage_ids": ["U3"]}',
        'open');

create table fct_fraud_alerts (
    alert_id varchar, billing_period varchar, detector varchar, score integer,
    subject_type varchar, subject_id varchar, lines_affected bigint, affected_lines varchar,
    first_event_at timestamptz, last_event_at timestamptz, record_count bigint,
    amount_at_risk_micros bigint, evidence varchar, alert_status varchar
);
insert into fct_fraud_alerts values
    ('AL1', '2025-01', 'pbx_hacking', 50, 'line', '13125550102', 1, '13125550102',
        '2025-01-05 10:00:00+00', '2025-01-05 11:00:00+00', 2, 5000,
        '{"local_date": "2025-01-05", "sample_usage_ids": ["U1", "U2"]}', 'open');
"""

CORRUPTIONS_SQL = """
update rpt_usage_e2e_reconciliation set unexplained_records = 2, billed_records = 88
    where feed = 'asterisk_cdr_csv';
update rpt_rerating_sample set records_matched = 93, records_mismatched = 1,
    absolute_difference_micros = 370000;
update rpt_usage_reconciliation set records_unexplained = 3
    where feed = 'ts32298_ber' and file_date = '2025-01-05';
update fct_invoices set tax_micros = 36000000, total_micros = 81000000
    where invoice_id = 'INV-202501-A2';
update fct_tax_lines set tax_micros = 36000000 where charge_id = 'C2';
delete from fct_invoice_lines where invoice_line_id = 'L4';
update fct_billed_charges set usf_billed_micros = 10601416 where charge_id = 'C2';
update fct_billed_charges set tax_status = 'NO_TAX_AREA' where charge_id = 'C3';
update fct_leakage_findings set evidence = null;
update fct_fraud_alerts set evidence = '{"sample_usage_ids": ["U1", "U9"]}';
update fct_interconnect_settlement set amount_micros = 80000
    where carrier_id = 'CAR2' and leg_direction = 'outbound';
"""

REFERENCE = {
    "carriers.csv": "carrier_id,carrier_name,country,spid,currency,settlement_period,"
    "rounding_method,rounding_decimals,dispute_tolerance_micros,dispute_tolerance_bp\n"
    "CAR1,Atlantic Transit,GB,,USD,monthly,half_up,4,500000,100\n"
    "CAR2,Pacific Voice,MX,,USD,monthly,half_up,4,500000,100\n",
    "interconnect_rates.csv": "carrier_id,direction,prefix,destination_name,"
    "destination_group,price_micros,first_increment,increment,effective_from,effective_to\n"
    "CAR1,termination,44,United Kingdom,international,10000,60,1,2024-01-01,2025-01-14\n"
    "CAR1,termination,44,United Kingdom,international,11000,60,1,2025-01-15,\n"
    "CAR2,termination,52,Mexico,international,20000,60,60,2024-01-01,\n"
    "CAR2,origination,52,From Mexico,international,3000,60,60,2024-01-01,\n",
}


def build_warehouse(root: Path, *, corrupt: bool) -> Layout:
    data = layout(root)
    data.warehouse.mkdir(parents=True)
    data.reference.mkdir(parents=True)
    for name, text in REFERENCE.items():
        (data.reference / name).write_text(text)
    with duckdb.connect(str(data.duckdb_path)) as con:
        con.execute(MARTS_SQL)
        if corrupt:
            con.execute(CORRUPTIONS_SQL)
    return data


@pytest.fixture(scope="module")
def clean(tmp_path_factory: pytest.TempPathFactory) -> ValidationSummary:
    data = build_warehouse(tmp_path_factory.mktemp("clean"), corrupt=False)
    return validate_warehouse(data, "2025-01")


@pytest.fixture(scope="module")
def corrupted(tmp_path_factory: pytest.TempPathFactory) -> ValidationSummary:
    data = build_warehouse(tmp_path_factory.mktemp("corrupted"), corrupt=True)
    return validate_warehouse(data, "2025-01")


def failed_checks(summary: ValidationSummary) -> set[str]:
    return {failure.check for failure in summary.failures}


def test_clean_warehouse_passes_every_suite(clean: ValidationSummary) -> None:
    assert clean.failures == ()
    assert clean.success
    assert {suite.suite for suite in clean.suites} == {
        "billing.invoices",
        "billing.recurring_coverage",
        "billing.rated_usage",
        "billing.billed_charges",
        "billing.usf_recovery",
        "interconnect.settlement",
        "revenue_assurance.usage_reconciliation",
        "revenue_assurance.e2e_reconciliation",
        "revenue_assurance.rerating_sample",
        "revenue_assurance.leakage_findings",
        "revenue_assurance.leakage_by_category",
        "fraud.alerts",
    }
    assert all(suite.evaluated > 0 for suite in clean.suites)
    raise_for_failures(clean)


def test_frames_are_cut_to_the_billing_period(clean: ValidationSummary) -> None:
    assert clean.run_name == "2025-01"
    # the February feed-day is left out; S3 was cancelled before January
    assert clean.suite("revenue_assurance.usage_reconciliation").rows == 2
    assert clean.suite("billing.recurring_coverage").rows == 2


def test_results_file_is_machine_readable(clean: ValidationSummary) -> None:
    results = json.loads(clean.results_path.read_text())
    assert results["success"] is True
    assert results["billing_period"] == "2025-01"
    by_suite = {suite["suite"]: suite for suite in results["suites"]}
    reconciliation = by_suite["revenue_assurance.usage_reconciliation"]
    assert reconciliation["evaluated_expectations"] == 5
    assert reconciliation["successful_expectations"] == 5
    assert reconciliation["failed_expectations"] == 0
    assert reconciliation["failures"] == []


def test_data_docs_index_links_every_suite_and_its_validation_page(
    clean: ValidationSummary,
) -> None:
    index = clean.data_docs_index
    assert index.name == "audit_index.html"
    html = index.read_text()
    # Offline-safe: no script, every link a page GX wrote.
    assert "<script" not in html
    links = re.findall(r'href="([^"]+)"', html)
    for suite in clean.suites:
        domain, name = suite.suite.split(".", 1)
        assert f"expectations/{domain}/{name}.html" in links
        validations = [link for link in links if link.startswith(f"validations/{domain}/{name}/")]
        assert len(validations) == 1, suite.suite
    for link in links:
        assert (index.parent / link).is_file(), link


def test_corrupted_warehouse_names_the_broken_expectations(
    corrupted: ValidationSummary,
) -> None:
    assert not corrupted.success
    assert failed_checks(corrupted) == {
        "no_unexplained_records",
        "e2e_no_unexplained_records",
        "rerating_agrees_with_billing",
        "tax_share_plausible",
        "one_recurring_line_per_subscriber",
        "finding_has_evidence",
        "amount_at_most_deck_max",
        "every_charge_taxed",
        "usf_line_item_within_cap",
        "evidence_usage_exists",
    }
    by_check = {failure.check: failure for failure in corrupted.failures}
    assert by_check["evidence_usage_exists"].unexpected_keys == ("pbx_hacking/13125550102/AL1",)
    unexplained = by_check["no_unexplained_records"]
    assert unexplained.suite == "revenue_assurance.usage_reconciliation"
    assert unexplained.column == "records_unexplained"
    assert unexplained.unexpected_count == 1
    assert unexplained.unexpected_keys == ("ts32298_ber/2025-01-05",)
    assert by_check["e2e_no_unexplained_records"].unexpected_keys == (
        "2025-01/asterisk_cdr_csv/2025-01-05",
    )
    assert by_check["rerating_agrees_with_billing"].unexpected_keys == ("2025-01/USD",)
    assert by_check["tax_share_plausible"].unexpected_keys == ("INV-202501-A2",)
    assert by_check["one_recurring_line_per_subscriber"].unexpected_keys == ("2025-01/S2",)
    assert by_check["amount_at_most_deck_max"].unexpected_keys == ("CAR2/2025-01/outbound/52",)
    # One micro above the cap is caught; so is a charge billed untaxed.
    assert by_check["usf_line_item_within_cap"].unexpected_keys == ("INV-202501-A2",)
    assert by_check["every_charge_taxed"].unexpected_keys == ("C3",)


def test_corrupted_results_file_reports_observations(corrupted: ValidationSummary) -> None:
    results = json.loads(corrupted.results_path.read_text())
    assert results["success"] is False
    by_suite = {suite["suite"]: suite for suite in results["suites"]}
    invoices = by_suite["billing.invoices"]
    assert invoices["success"] is False
    assert invoices["failed_expectations"] == 1
    [failure] = invoices["failures"]
    assert failure["check"] == "tax_share_plausible"
    assert failure["expectation_type"] == "expect_column_values_to_be_between"
    assert failure["unexpected_keys"] == ["INV-202501-A2"]
    assert by_suite["interconnect.settlement"]["failed_expectations"] == 1


def test_raise_for_failures_fails_loudly(corrupted: ValidationSummary) -> None:
    with pytest.raises(ValidationFailed) as raised:
        raise_for_failures(corrupted)
    message = str(raised.value)
    assert "10 expectation(s) failed" in message
    assert "no_unexplained_records" in message
    assert "ts32298_ber/2025-01-05" in message
    assert "tax_share_plausible" in message
    assert raised.value.summary is corrupted


def test_whole_warehouse_run_covers_every_period(tmp_path: Path) -> None:
    data = build_warehouse(tmp_path, corrupt=False)
    summary = validate_warehouse(data)
    assert summary.run_name == "all-periods"
    assert summary.success
    assert summary.suite("revenue_assurance.usage_reconciliation").rows == 3


def test_rejects_a_malformed_billing_period(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="YYYY-MM"):
        validate_warehouse(layout(tmp_path), "2025-1")


def test_rate_thresholds_warn_without_failing_the_run(tmp_path: Path) -> None:
    data = build_warehouse(tmp_path, corrupt=False)
    with duckdb.connect(str(data.duckdb_path)) as con:
        # 20 of 100 records rejected on one feed-day: unusual, reported, not fatal.
        con.execute(
            "update rpt_usage_reconciliation set records_rejected = 20, records_accepted = 79 "
            "where feed = 'asterisk_cdr_csv' and file_date = '2025-01-05'"
        )
    summary = validate_warehouse(data, "2025-01")
    assert summary.success
    assert summary.failures == ()
    assert {warning.check for warning in summary.warnings} == {"reject_rate_below_5pct"}
    assert summary.warnings[0].severity == "warning"
    raise_for_failures(summary)


def test_flat_per_line_fees_do_not_count_toward_the_tax_share(tmp_path: Path) -> None:
    data = build_warehouse(tmp_path, corrupt=False)
    with duckdb.connect(str(data.duckdb_path)) as con:
        # A $30 flat fee on a $45 line: 67% of the subtotal, but no percentage tax is wrong.
        con.execute(
            "insert into fct_invoice_lines values ('L6', 'INV-202501-A2', 'A2', '2025-01', "
            "null, 'tax', null, null, '911 fee', 1, 'lines', null, null, 'T9', 30000000)"
        )
        con.execute(
            "update fct_invoices set tax_micros = tax_micros + 30000000, "
            "total_micros = total_micros + 30000000 where invoice_id = 'INV-202501-A2'"
        )
        con.execute(
            "insert into fct_tax_lines values ('INV-202501-A2', 'C2', 'T9', 'per_line', "
            "45000000, 30000000, true)"
        )
    assert validate_warehouse(data, "2025-01").success
