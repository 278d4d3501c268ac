"""The reference CSV headers of docs/data-contracts.md and the one way they are written."""

from __future__ import annotations

import csv
from collections.abc import Iterable, Mapping
from pathlib import Path

from pipelines.generate.ports import PORT_REQUEST_COLUMNS
from pipelines.privacy.legal_holds import COLUMNS as LEGAL_HOLD_COLUMNS

#: Column order of every reference file, exactly as docs/data-contracts.md lists it.
REFERENCE_COLUMNS: dict[str, tuple[str, ...]] = {
    "accounts.csv": (
        "account_id", "account_name", "account_class", "bill_cycle_day", "currency",
        "service_address_id", "created_date",
    ),
    "service_addresses.csv": (
        "service_address_id", "street", "city", "county", "state", "postal_code", "country",
    ),
    "subscribers.csv": (
        "subscriber_id", "account_id", "service_type", "msisdn", "imsi", "plan_id",
        "service_address_id", "activated_date", "cancelled_date", "status",
    ),
    "plans.csv": (
        "plan_id", "plan_name", "service_type", "monthly_fee_micros", "included_voice_seconds",
        "included_sms", "included_data_bytes", "rate_deck_id", "effective_from", "effective_to",
    ),
    "rate_deck.csv": (
        "rate_deck_id", "service", "prefix", "destination_name", "destination_group",
        "time_band", "connect_fee_micros", "price_micros", "price_unit", "first_increment",
        "increment", "is_in_bundle", "effective_from",
    ),
    "time_bands.csv": ("time_band", "day_type", "start_time", "end_time", "weight"),
    "holidays.csv": ("holiday_date", "holiday_name", "country"),
    "carriers.csv": (
        "carrier_id", "carrier_name", "country", "spid", "currency", "settlement_period",
        "rounding_method", "rounding_decimals", "dispute_tolerance_micros",
        "dispute_tolerance_bp",
    ),
    "trunk_groups.csv": ("trunk_group", "carrier_id", "direction"),
    "interconnect_rates.csv": (
        "carrier_id", "direction", "prefix", "destination_name", "destination_group",
        "price_micros", "first_increment", "increment", "effective_from", "effective_to",
    ),
    "ported_numbers.csv": ("number", "lrn", "spid", "effective_from", "effective_to"),
    "number_blocks.csv": ("prefix", "spid"),
    "hlr_snapshot.csv": ("imsi", "msisdn", "provisioning_status", "snapshot_date"),
    "crm_orders.csv": (
        "order_id", "account_id", "subscriber_id", "order_type", "plan_id", "ordered_date",
        "completed_date", "order_status",
    ),
    "switches.csv": ("switch_id", "feed", "timezone", "description"),
    "adjustments.csv": (
        "adjustment_id", "account_id", "subscriber_id", "billing_period", "adjustment_type",
        "category", "amount_micros", "description", "approved_by", "approval_limit_micros",
        "promotion_id",
    ),
    "credit_authority.csv": (
        "approved_by", "approver_role", "max_credit_micros", "adjustment_types",
    ),
    "churn_scores.csv": ("account_id", "scored_on", "churn_score"),
    "one_time_fees.csv": (
        "fee_id", "fee_name", "order_type", "service_type", "category", "amount_micros",
        "effective_from", "effective_to",
    ),
    "device_installments.csv": (
        "agreement_id", "account_id", "subscriber_id", "device_name", "device_price_micros",
        "down_payment_micros", "installment_count", "first_billing_period",
    ),
    "promotions.csv": (
        "promotion_id", "promotion_name", "credit_micros", "category", "plan_ids",
        "service_type", "account_classes", "activated_from", "activated_to", "credit_months",
        "first_period", "last_period", "approved_by", "approval_limit_micros",
    ),
    "opening_balances.csv": (
        "account_id", "invoice_id", "invoice_date", "due_date", "amount_micros",
    ),
    "payments.csv": (
        "payment_id", "account_id", "received_date", "amount_micros", "method", "invoice_id",
    ),
    "port_requests.csv": PORT_REQUEST_COLUMNS,
    "cell_sites.csv": ("cell_id", "latitude", "longitude", "city"),
    "legal_holds.csv": LEGAL_HOLD_COLUMNS,
}  # fmt: skip

Row = Mapping[str, object]


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def write_reference_csv(directory: Path, name: str, rows: Iterable[Row]) -> int:
    """Write one reference file with its documented header; returns the row count.

    A row missing a documented column, or carrying an undocumented one, is a bug in the
    generator, so it fails here rather than in a later stage.
    """
    columns = REFERENCE_COLUMNS[name]
    count = 0
    with (directory / name).open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(columns)
        for row in rows:
            if set(row) != set(columns):
                raise ValueError(f"{name}: row columns {sorted(row)} differ from {columns}")
            writer.writerow([_cell(row[column]) for column in columns])
            count += 1
    return count
