"""The lake's table schemas and code lists: the contract between stages.

Every stage writes exactly these columns, in this order, with these types; the dbt sources
read them by name. docs/data-contracts.md explains each column.
"""

from __future__ import annotations

from enum import StrEnum

import pyarrow as pa

UTC_TS = pa.timestamp("us", tz="UTC")


class Feed(StrEnum):
    """A kind of switch output, one parser each."""

    ASTERISK_CDR_CSV = "asterisk_cdr_csv"
    TS32298_BER = "ts32298_ber"
    FREESWITCH_CDR_CSV = "freeswitch_cdr_csv"
    CISCO_CUCM_CDR = "cisco_cucm_cdr"
    TAP3 = "tap3"
    OPENSIPS_FLATSTORE = "opensips_flatstore"


class RejectReason(StrEnum):
    """Why mediation refused a record (or a whole file, with record_number 0)."""

    MALFORMED_ROW = "malformed_row"
    UNKNOWN_COLUMN_LAYOUT = "unknown_column_layout"
    MISSING_FIELD = "missing_field"
    INVALID_NUMBER = "invalid_number"
    INVALID_TIMESTAMP = "invalid_timestamp"
    FUTURE_TIMESTAMP = "future_timestamp"
    ANCIENT_TIMESTAMP = "ancient_timestamp"
    INVALID_DURATION = "invalid_duration"
    INVALID_ENCODING = "invalid_encoding"
    UNDECODABLE_RECORD = "undecodable_record"
    TRUNCATED_RECORD = "truncated_record"
    UNSUPPORTED_RECORD_TYPE = "unsupported_record_type"
    EMPTY_FILE = "empty_file"
    UNREADABLE_FILE = "unreadable_file"
    AUDIT_MISMATCH = "audit_mismatch"
    INVALID_VOLUME = "invalid_volume"
    UNPAIRED_INVITE = "unpaired_invite"
    UNPAIRED_BYE = "unpaired_bye"
    UNPLACEABLE_FILE_NAME = "unplaceable_file_name"


class FileStatus(StrEnum):
    PROCESSED = "processed"
    DUPLICATE_FILE = "duplicate_file"
    EMPTY = "empty"
    UNREADABLE = "unreadable"


class RatingStatus(StrEnum):
    RATED = "rated"
    ZERO_RATED = "zero_rated"
    NOT_BILLABLE = "not_billable"
    SUSPENSE = "suspense"


class LegDirection(StrEnum):
    """Which way an interconnect leg crossed to a carrier, and so who pays whom."""

    OUTBOUND = "outbound"  # we handed the call to the carrier: it bills us (payable)
    INBOUND = "inbound"  # the carrier handed the call to us: we bill it (receivable)


class SuspenseReason(StrEnum):
    UNKNOWN_SUBSCRIBER = "unknown_subscriber"
    NO_PLAN_AT_EVENT_TIME = "no_plan_at_event_time"
    NO_RATE_FOR_DESTINATION = "no_rate_for_destination"
    NO_CARRIER_FOR_TRUNK = "no_carrier_for_trunk"
    NO_ROAMING_ZONE = "no_roaming_zone"  # usage abroad, on a network in no roaming zone


USAGE_SCHEMA = pa.schema(
    [
        ("usage_id", pa.string()),
        ("file_id", pa.string()),
        ("file_name", pa.string()),
        ("record_number", pa.int32()),
        ("feed", pa.string()),
        ("switch_id", pa.string()),
        ("file_date", pa.date32()),
        ("event_date", pa.date32()),
        ("record_key", pa.string()),
        ("record_type", pa.string()),
        ("service", pa.string()),
        ("direction", pa.string()),
        ("served_msisdn", pa.string()),
        ("served_imsi", pa.string()),
        ("served_imei", pa.string()),
        ("other_party_number", pa.string()),
        ("other_party_region", pa.string()),
        ("other_party_number_type", pa.string()),
        ("started_at", UTC_TS),
        ("answered_at", UTC_TS),
        ("ended_at", UTC_TS),
        ("duration_seconds", pa.int64()),
        ("uplink_bytes", pa.int64()),
        ("downlink_bytes", pa.int64()),
        ("data_volume_bytes", pa.int64()),
        ("is_answered", pa.bool_()),
        ("release_cause", pa.string()),
        ("outgoing_trunk_group", pa.string()),
        ("incoming_trunk_group", pa.string()),
        ("cell_id", pa.string()),
        ("session_key", pa.string()),
        ("partial_sequence", pa.int32()),
        ("is_last_partial", pa.bool_()),
    ]
)

REJECT_SCHEMA = pa.schema(
    [
        ("file_id", pa.string()),
        ("file_name", pa.string()),
        ("feed", pa.string()),
        ("switch_id", pa.string()),
        ("file_date", pa.date32()),
        ("record_number", pa.int32()),
        ("reason_code", pa.string()),
        ("reason_detail", pa.string()),
        ("raw_text", pa.string()),
    ]
)

FILE_REGISTRY_SCHEMA = pa.schema(
    [
        ("file_id", pa.string()),
        ("file_name", pa.string()),
        ("feed", pa.string()),
        ("switch_id", pa.string()),
        ("file_date", pa.date32()),
        ("file_sequence_number", pa.int64()),
        ("file_bytes", pa.int64()),
        ("file_status", pa.string()),
        ("duplicate_of_file_id", pa.string()),
        ("records_in", pa.int64()),
        ("records_accepted", pa.int64()),
        ("records_rejected", pa.int64()),
        ("records_duplicate", pa.int64()),
        ("records_fixed", pa.int64()),
    ]
)

#: A landing file mediation cannot place in a partition (its name breaks the contract):
#: quarantined here, whole, until it is renamed; nothing of it is mediated meanwhile.
LANDING_REJECT_SCHEMA = pa.schema(
    [
        ("feed", pa.string()),
        ("switch_id", pa.string()),
        ("file_name", pa.string()),
        ("file_id", pa.string()),
        ("file_bytes", pa.int64()),
        ("reason_code", pa.string()),
        ("reason_detail", pa.string()),
    ]
)

#: An operator's correction of a quarantined record: the record's text as it should have
#: been, applied whenever its file is mediated (docs/mediation.md, Quarantine and replay).
QUARANTINE_FIX_SCHEMA = pa.schema(
    [
        ("file_id", pa.string()),
        ("file_name", pa.string()),
        ("feed", pa.string()),
        ("switch_id", pa.string()),
        ("file_date", pa.date32()),
        ("record_number", pa.int32()),
        ("fixed_text", pa.string()),
        ("fixed_by", pa.string()),
        ("fix_reason", pa.string()),
        ("fixed_at", UTC_TS),
    ]
)

RATED_USAGE_SCHEMA = pa.schema(
    [
        *USAGE_SCHEMA,
        ("billing_period", pa.string()),
        ("subscriber_id", pa.string()),
        ("account_id", pa.string()),
        ("plan_id", pa.string()),
        ("rate_deck_id", pa.string()),
        ("destination_prefix", pa.string()),
        ("destination_name", pa.string()),
        ("destination_group", pa.string()),
        ("time_band", pa.string()),
        ("billable_units", pa.int64()),
        ("allowance_units", pa.int64()),
        ("chargeable_units", pa.int64()),
        ("charge_micros", pa.int64()),
        ("rating_status", pa.string()),
        ("suspense_reason", pa.string()),
        ("tariff_version", pa.string()),
        # What priced the record: the catalog's rating plan and rate, and its version.
        ("rating_plan_id", pa.string()),
        ("rate_id", pa.string()),
        ("catalog_version", pa.string()),
        ("currency", pa.string()),  # of charge_micros: the account's billing currency
    ]
)

#: Usage priced on aggregate (graduated, volume, package tiers): one row per subscriber,
#: offer version and service in the period. Its rated_usage records carry charge 0.
USAGE_AGGREGATE_CHARGE_SCHEMA = pa.schema(
    [
        ("billing_period", pa.string()),
        ("subscriber_id", pa.string()),
        ("account_id", pa.string()),
        ("plan_id", pa.string()),
        ("offer_effective_from", pa.date32()),
        ("service", pa.string()),
        ("pricing_model", pa.string()),
        ("records", pa.int64()),
        ("chargeable_units", pa.int64()),
        ("priced_units", pa.int64()),  # chargeable units in the price's unit, rounded up
        ("charge_micros", pa.int64()),
        ("tiers", pa.string()),  # JSON: each reached tier's units, quantity and amount
        ("currency", pa.string()),  # of charge_micros: the account's billing currency
    ]
)

#: One row per allowance bucket (a line's own, or an account's pool) and service that
#: rating drew from in the period: the cycle's closing balance and what rolls over.
ALLOWANCE_BALANCE_SCHEMA = pa.schema(
    [
        ("owner_kind", pa.string()),  # line (owner_id: subscriber) or account (pool)
        ("owner_id", pa.string()),
        ("service", pa.string()),  # the rating category: the service, or service@zone abroad
        ("scope", pa.string()),  # what its allowances cover: any, groups:..., destinations:...
        ("granted_at_close", pa.int64()),
        ("rolled_in", pa.int64()),
        ("used_from_rollover", pa.int64()),
        ("used_from_grant", pa.int64()),
        ("unused", pa.int64()),
        ("rolled_out", pa.int64()),
    ]
)

RECURRING_CHARGE_SCHEMA = pa.schema(
    [
        ("billing_period", pa.string()),
        ("subscriber_id", pa.string()),
        ("account_id", pa.string()),
        ("plan_id", pa.string()),
        ("offer_kind", pa.string()),  # plan or addon
        ("service_type", pa.string()),
        ("recurring_kind", pa.string()),  # advance, reversed or adjusted (docs/billing.md)
        ("period_start_date", pa.date32()),  # the service period the fee belongs to
        ("period_end_date", pa.date32()),
        ("service_from", pa.date32()),  # the days charged or reversed, both inclusive
        ("service_to", pa.date32()),
        ("active_days", pa.int32()),
        ("period_days", pa.int32()),
        ("monthly_fee_micros", pa.int64()),
        ("charge_micros", pa.int64()),  # signed, whole cents
    ]
)

INTERCONNECT_LEG_SCHEMA = pa.schema(
    [
        ("usage_id", pa.string()),
        ("billing_period", pa.string()),
        ("event_date", pa.date32()),  # local date of started_at: the carrier's traffic date
        ("started_at", UTC_TS),
        ("leg_direction", pa.string()),  # LegDirection
        ("trunk_group", pa.string()),
        ("carrier_id", pa.string()),
        ("served_msisdn", pa.string()),
        ("other_party_number", pa.string()),
        ("rated_number", pa.string()),  # the LRN of a ported domestic number, else the number
        ("ported", pa.bool_()),
        ("terminating_spid", pa.string()),
        ("destination_prefix", pa.string()),
        ("destination_name", pa.string()),
        ("destination_group", pa.string()),
        ("duration_seconds", pa.int64()),
        ("billable_seconds", pa.int64()),
        ("price_micros", pa.int64()),  # the deck's price per 60 seconds
        ("amount_micros", pa.int64()),  # rounded as the carrier's agreement says
        ("currency", pa.string()),
        ("rating_status", pa.string()),
        ("suspense_reason", pa.string()),
        ("tariff_version", pa.string()),
    ]
)


#: One billed charge of a period as the tax engine sees it (docs/taxes.md, "The bill run"):
#: a recurring charge, or a subscriber's usage charges of one tax category.
BILLED_CHARGE_SCHEMA = pa.schema(
    [
        ("billing_period", pa.string()),
        ("charge_id", pa.string()),
        # recurring, usage, one_time, installment, late_fee or adjustment
        ("charge_source", pa.string()),
        ("account_id", pa.string()),
        ("subscriber_id", pa.string()),
        ("plan_id", pa.string()),  # recurring charges: the plan or add-on; else null
        ("service_type", pa.string()),
        ("category", pa.string()),  # the tax charge category
        ("description", pa.string()),  # the invoice line's text
        ("quantity", pa.int64()),
        ("quantity_unit", pa.string()),
        ("service_from", pa.date32()),  # the service days charged, both inclusive
        ("service_to", pa.date32()),
        ("charge_date", pa.date32()),
        ("customer_class", pa.string()),
        ("tax_area_id", pa.string()),
        ("currency", pa.string()),  # the account's billing currency
        ("lines", pa.int64()),
        ("minutes_micros", pa.int64()),
        ("records", pa.int64()),  # usage: rated records in the charge
        ("amount_micros", pa.int64()),
        # The interstate and international share (safe harbor or call class) and its amount:
        # the revenue FUSF assesses, and the cap on the USF line item.
        ("interstate_share_ppm", pa.int64()),
        ("interstate_micros", pa.int64()),
        ("net_micros", pa.int64()),
        ("tax_status", pa.string()),  # ok, or why the engine could not tax it
        ("ruleset_version", pa.string()),
    ]
)

#: What a usage charge of ``billed_charges`` is made of (tax stage; docs/lineage.md): one row
#: per rated record it bills (link_source rated_usage, usage_id set) and per aggregate-priced
#: charge it adds (usage_aggregate_charges: plan_id, offer_effective_from and service name
#: the row). The charge's amount is the sum of charge_micros rounded to the cent.
BILLED_CHARGE_USAGE_SCHEMA = pa.schema(
    [
        ("billing_period", pa.string()),
        ("charge_id", pa.string()),
        ("link_source", pa.string()),  # rated_usage or usage_aggregate_charges
        ("usage_id", pa.string()),
        ("plan_id", pa.string()),
        ("offer_effective_from", pa.date32()),
        ("service", pa.string()),
        ("charge_micros", pa.int64()),
    ]
)

#: One invoice per account and bill run (pipelines/billing/invoices.py): its dates on the
#: account's cycle, its total, and the account's balance around it.
INVOICE_SCHEMA = pa.schema(
    [
        ("invoice_id", pa.string()),
        ("billing_period", pa.string()),
        # The version of the period's rated tables the invoice was issued from: a re-rating
        # writes a new version, and the invoice keeps showing this one (docs/billing.md).
        ("rating_version", pa.int32()),
        ("account_id", pa.string()),
        ("currency", pa.string()),
        ("bill_cycle_day", pa.int32()),
        ("time_zone", pa.string()),
        ("usage_from", pa.date32()),  # the usage billed: the billing period
        ("usage_to", pa.date32()),
        ("advance_from", pa.date32()),  # the service period billed in advance
        ("advance_to", pa.date32()),
        ("invoice_date", pa.date32()),  # the bill date
        ("due_date", pa.date32()),
        ("charges_micros", pa.int64()),
        ("tax_micros", pa.int64()),  # billable taxes, as invoiced (docs/billing.md, Rounding)
        ("total_micros", pa.int64()),
        # Credit (negative) and debit notes issued with this bill for earlier invoices.
        ("corrections_micros", pa.int64()),
        # Open before this invoice on its date (a credit balance is negative), the payments
        # received since the previous bill date, and what the customer owes now.
        ("previous_balance_micros", pa.int64()),
        ("payments_micros", pa.int64()),
        ("amount_due_micros", pa.int64()),
    ]
)

#: A credit or debit note correcting an issued invoice, issued with a later bill
#: (pipelines/billing/corrections.py).
CREDIT_NOTE_SCHEMA = pa.schema(
    [
        ("billing_period", pa.string()),  # the bill run that issued the note
        ("note_id", pa.string()),
        ("note_type", pa.string()),  # credit_note or debit_note
        ("account_id", pa.string()),
        ("corrected_period", pa.string()),
        ("corrected_invoice_id", pa.string()),
        ("note_date", pa.date32()),
        ("due_date", pa.date32()),
        ("charges_delta_micros", pa.int64()),
        ("tax_delta_micros", pa.int64()),
        ("amount_micros", pa.int64()),
    ]
)

#: Payments accepted from payments.csv, as known at the bill run (pipelines/billing/receivables.py).
PAYMENT_LAKE_SCHEMA = pa.schema(
    [
        ("billing_period", pa.string()),
        ("payment_id", pa.string()),
        ("account_id", pa.string()),
        ("received_date", pa.date32()),
        ("amount_micros", pa.int64()),
        ("method", pa.string()),
        ("invoice_id", pa.string()),
    ]
)

#: Rows of payments.csv not allocated, each with its reason.
PAYMENT_REJECT_SCHEMA = pa.schema(
    [
        ("billing_period", pa.string()),
        ("payment_id", pa.string()),
        ("account_id", pa.string()),
        ("received_date", pa.string()),
        ("amount_micros", pa.string()),
        ("method", pa.string()),
        ("invoice_id", pa.string()),
        ("reject_reason", pa.string()),
    ]
)

#: Rows of opening_balances.csv not brought forward, each with its reason.
OPENING_BALANCE_REJECT_SCHEMA = pa.schema(
    [
        ("billing_period", pa.string()),
        ("account_id", pa.string()),
        ("invoice_id", pa.string()),
        ("invoice_date", pa.string()),
        ("due_date", pa.string()),
        ("amount_micros", pa.string()),
        ("reject_reason", pa.string()),
    ]
)

#: Each payment or credit note applied to an invoice, as of the account's bill date.
PAYMENT_ALLOCATION_SCHEMA = pa.schema(
    [
        ("billing_period", pa.string()),
        ("payment_id", pa.string()),
        ("allocation_source", pa.string()),
        ("invoice_id", pa.string()),
        ("account_id", pa.string()),
        ("applied_date", pa.date32()),
        ("allocated_micros", pa.int64()),
    ]
)

#: Each invoice's paid and open amounts as of the account's bill date.
INVOICE_BALANCE_SCHEMA = pa.schema(
    [
        ("billing_period", pa.string()),
        ("invoice_id", pa.string()),
        ("account_id", pa.string()),
        ("invoice_date", pa.date32()),
        ("due_date", pa.date32()),
        ("amount_micros", pa.int64()),
        ("paid_micros", pa.int64()),
        ("open_micros", pa.int64()),
        ("paid_date", pa.date32()),
        ("as_of_date", pa.date32()),
    ]
)

#: Per account: open receivables by days past due, as of its bill date.
AR_AGING_SCHEMA = pa.schema(
    [
        ("billing_period", pa.string()),
        ("account_id", pa.string()),
        ("as_of_date", pa.date32()),
        ("current_micros", pa.int64()),
        ("past_due_1_30_micros", pa.int64()),
        ("past_due_31_60_micros", pa.int64()),
        ("past_due_61_90_micros", pa.int64()),
        ("past_due_over_90_micros", pa.int64()),
        ("total_open_micros", pa.int64()),
        ("unapplied_credit_micros", pa.int64()),
        ("net_balance_micros", pa.int64()),
    ]
)

#: Every dunning stage of every invoice left open past its due date.
DUNNING_EVENT_SCHEMA = pa.schema(
    [
        ("billing_period", pa.string()),
        ("account_id", pa.string()),
        ("invoice_id", pa.string()),
        ("stage", pa.string()),
        ("trigger_date", pa.date32()),
        ("open_micros_at_trigger", pa.int64()),
        ("dunning_status", pa.string()),
    ]
)

#: Every device installment agreement after the bill run.
DEVICE_RECEIVABLE_SCHEMA = pa.schema(
    [
        ("billing_period", pa.string()),
        ("agreement_id", pa.string()),
        ("account_id", pa.string()),
        ("subscriber_id", pa.string()),
        ("device_name", pa.string()),
        ("financed_micros", pa.int64()),
        ("installment_count", pa.int64()),
        ("installment_number", pa.int64()),
        ("billed_micros", pa.int64()),
        ("billed_to_date_micros", pa.int64()),
        ("remaining_balance_micros", pa.int64()),
        ("financed_recognised_micros", pa.int64()),
        ("agreement_status", pa.string()),
    ]
)

#: A credit granted to an account for a period (reference adjustments.csv), applied to the
#: invoice or held with the reason (pipelines/billing/adjustments.py).
ADJUSTMENT_SCHEMA = pa.schema(
    [
        ("adjustment_id", pa.string()),
        ("billing_period", pa.string()),
        ("account_id", pa.string()),
        ("subscriber_id", pa.string()),
        ("adjustment_type", pa.string()),
        ("category", pa.string()),
        ("amount_micros", pa.int64()),  # the credit, > 0 when valid
        ("description", pa.string()),
        ("approved_by", pa.string()),
        ("approval_limit_micros", pa.int64()),
        ("adjustment_status", pa.string()),  # applied or held
        ("hold_reason", pa.string()),
    ]
)

#: One tax, surcharge or fee on one billed charge: what the tax engine wrote.
TAX_LINE_SCHEMA = pa.schema(
    [
        ("billing_period", pa.string()),
        ("charge_id", pa.string()),
        ("account_id", pa.string()),
        ("tax_id", pa.string()),
        ("rule_effective_from", pa.date32()),
        ("jurisdiction_id", pa.string()),
        ("jurisdiction_level", pa.string()),
        ("jurisdiction_code", pa.string()),
        ("jurisdiction_name", pa.string()),
        ("tax_type", pa.string()),
        ("tax_name", pa.string()),
        ("kind", pa.string()),
        ("method", pa.string()),
        ("taxable_base_micros", pa.int64()),
        ("rate_ppm", pa.int64()),
        ("amount_per_unit_micros", pa.int64()),
        ("tax_micros", pa.int64()),
        ("is_billable", pa.bool_()),
        ("calc_order", pa.int64()),
        ("ruleset_version", pa.string()),
    ]
)


class CorrelationStatus(StrEnum):
    """Where a session cut into partial records stands (docs/mediation.md, Correlation)."""

    COMPLETE = "complete"  # partials 1..n present, the last one closed the session
    INCOMPLETE = "incomplete"  # a partial still missing after the time-out: sent on as is
    HELD = "held"  # a partial still missing, within the time-out: not rated yet


#: A usage row that repeats one accepted from an earlier file date within the dedup window.
USAGE_REPEAT_SCHEMA = pa.schema(
    [
        ("usage_id", pa.string()),
        ("repeat_of_usage_id", pa.string()),
        ("feed", pa.string()),
        ("switch_id", pa.string()),
        ("record_key", pa.string()),
        ("file_name", pa.string()),
        ("file_date", pa.date32()),
        ("record_number", pa.int32()),
        ("original_file_date", pa.date32()),
        ("event_date", pa.date32()),
        ("billing_period", pa.string()),
    ]
)

#: One session joined from its partial records: a usage row (rating reads it like any
#: other) plus how it was joined; usage_id is ``session:<switch_id>:<session_key>``.
SESSION_SCHEMA = pa.schema(
    [
        *USAGE_SCHEMA,
        ("billing_period", pa.string()),
        ("correlation_status", pa.string()),
        ("partials", pa.int32()),
        ("missing_partials", pa.int32()),
        ("partial_usage_ids", pa.list_(pa.string())),
    ]
)

#: A billing period's billable usage set aside per rating bucket by its rating plan
#: (pipelines/rating/stage.py, plan_rating): the usage rows, consolidated (no repeats,
#: sessions and calls in place of their partials and legs), and their period.
RATING_INPUT_SCHEMA = pa.schema([*USAGE_SCHEMA, ("billing_period", pa.string())])

#: Partition keys of the tables rating writes per bucket of a billing period.
RATING_BUCKET_KEYS = ("billing_period", "bucket")

#: Lake tables: name -> (schema, partition column names in path order).
LAKE_TABLES: dict[str, tuple[pa.Schema, tuple[str, ...]]] = {
    # line_bucket (pipelines/mediation/line_buckets.py) is in the path only, not in the rows:
    # a usage row is the same whichever bucket count the lake was mediated with.
    "usage": (USAGE_SCHEMA, ("feed", "event_date", "file_date", "line_bucket")),
    "rejects": (REJECT_SCHEMA, ("feed", "file_date")),
    "file_registry": (FILE_REGISTRY_SCHEMA, ("feed", "file_date")),
    "quarantine_fixes": (QUARANTINE_FIX_SCHEMA, ("feed", "file_date")),
    "landing_rejects": (LANDING_REJECT_SCHEMA, ("feed",)),
    "usage_repeats": (USAGE_REPEAT_SCHEMA, ("feed", "billing_period", "line_bucket")),
    "sessions": (SESSION_SCHEMA, ("feed", "billing_period", "line_bucket")),
    # The shuffle from line buckets (mediation's split) to rating buckets (accounts').
    "rating_input": (RATING_INPUT_SCHEMA, (*RATING_BUCKET_KEYS, "line_bucket")),
    # Rated per rating bucket (a stable hash of the billing key, pipelines/rating/buckets.py);
    # recurring charges follow the CRM's lines, not usage, and stay one per period.
    "rated_usage": (RATED_USAGE_SCHEMA, RATING_BUCKET_KEYS),
    "allowance_balances": (ALLOWANCE_BALANCE_SCHEMA, RATING_BUCKET_KEYS),
    "usage_aggregate_charges": (USAGE_AGGREGATE_CHARGE_SCHEMA, RATING_BUCKET_KEYS),
    "recurring_charges": (RECURRING_CHARGE_SCHEMA, ("billing_period",)),
    "interconnect_legs": (INTERCONNECT_LEG_SCHEMA, RATING_BUCKET_KEYS),
    "billed_charges": (BILLED_CHARGE_SCHEMA, ("billing_period",)),
    "billed_charge_usage": (BILLED_CHARGE_USAGE_SCHEMA, ("billing_period",)),
    "tax_lines": (TAX_LINE_SCHEMA, ("billing_period",)),
    "adjustments": (ADJUSTMENT_SCHEMA, ("billing_period",)),
    "invoices": (INVOICE_SCHEMA, ("billing_period",)),
    "credit_notes": (CREDIT_NOTE_SCHEMA, ("billing_period",)),
    "payments": (PAYMENT_LAKE_SCHEMA, ("billing_period",)),
    "payment_rejects": (PAYMENT_REJECT_SCHEMA, ("billing_period",)),
    "opening_balance_rejects": (OPENING_BALANCE_REJECT_SCHEMA, ("billing_period",)),
    "payment_allocations": (PAYMENT_ALLOCATION_SCHEMA, ("billing_period",)),
    "invoice_balances": (INVOICE_BALANCE_SCHEMA, ("billing_period",)),
    "ar_aging": (AR_AGING_SCHEMA, ("billing_period",)),
    "dunning_events": (DUNNING_EVENT_SCHEMA, ("billing_period",)),
    "device_receivables": (DEVICE_RECEIVABLE_SCHEMA, ("billing_period",)),
}


class SuspenseState(StrEnum):
    """Where a usage record that rating suspended stands (docs/rating.md, Suspense)."""

    OPEN = "open"  # still in suspense in the period's current rated_usage
    RECYCLED = "recycled"  # priced by `telcolake recycle`
    RERATED = "rerated"  # priced by `telcolake rerate` of the closed period
    RATED = "rated"  # priced when the open period was rated again
    WITHDRAWN = "withdrawn"  # no longer billable usage of the period (e.g. a late repeat)


class PeriodState(StrEnum):
    """Whether rating may rewrite a billing period's priced records."""

    OPEN = "open"
    CLOSED = "closed"


#: One row per usage record rating has ever suspended in the period, kept after it leaves
#: suspense. The record's fields are as of its last rating attempt.
RATING_SUSPENSE_SCHEMA = pa.schema(
    [
        ("usage_id", pa.string()),
        ("billing_period", pa.string()),
        ("event_date", pa.date32()),
        ("started_at", UTC_TS),
        ("record_type", pa.string()),
        ("service", pa.string()),
        ("served_msisdn", pa.string()),
        ("other_party_number", pa.string()),
        ("subscriber_id", pa.string()),
        ("account_id", pa.string()),
        ("plan_id", pa.string()),
        ("suspense_reason", pa.string()),
        ("suspense_state", pa.string()),
        ("first_suspended_at", UTC_TS),
        ("last_attempt_at", UTC_TS),
        ("attempts", pa.int32()),
        ("reference_checksum", pa.string()),
        ("resolved_at", UTC_TS),
        ("resolved_run_id", pa.string()),
        ("resolved_status", pa.string()),
        ("resolved_charge_micros", pa.int64()),
    ]
)

#: A billing period's rating state: open or closed, the version of its rated partitions,
#: and the reference data (JSON: file -> sha256) of the last run that wrote them.
RATING_PERIOD_SCHEMA = pa.schema(
    [
        ("billing_period", pa.string()),
        ("period_state", pa.string()),
        ("rating_version", pa.int32()),
        ("reference_checksums", pa.string()),
        # How many buckets the period's rated tables are split into (its last rating plan).
        ("rating_buckets", pa.int32()),
        ("closed_at", UTC_TS),
        ("closed_by", pa.string()),
        ("close_reason", pa.string()),
    ]
)

#: One row per re-rating of a closed period: who, when, why, and what it changed.
RERATE_RUN_SCHEMA = pa.schema(
    [
        ("rerate_run_id", pa.string()),
        ("billing_period", pa.string()),
        ("previous_version", pa.int32()),
        ("rating_version", pa.int32()),
        ("rerated_by", pa.string()),
        ("rerated_at", UTC_TS),
        ("reason", pa.string()),
        ("usage_records_before", pa.int64()),
        ("usage_records_after", pa.int64()),
        ("records_changed", pa.int64()),
        ("accounts_changed", pa.int64()),
        ("usage_charge_before_micros", pa.int64()),
        ("usage_charge_after_micros", pa.int64()),
        ("recurring_charge_before_micros", pa.int64()),
        ("recurring_charge_after_micros", pa.int64()),
        ("interconnect_cost_before_micros", pa.int64()),
        ("interconnect_cost_after_micros", pa.int64()),
        # Billable taxes: the tax stage taxes the new version too.
        ("tax_before_micros", pa.int64()),
        ("tax_after_micros", pa.int64()),
        ("suspense_records_before", pa.int64()),
        ("suspense_records_after", pa.int64()),
        ("reference_checksums_before", pa.string()),
        ("reference_checksums_after", pa.string()),
    ]
)

#: Per account, what one re-rating changed: usage and recurring charges before and after
#: (difference_micros is theirs) and the billable taxes on them.
RERATE_ACCOUNT_DIFFERENCE_SCHEMA = pa.schema(
    [
        ("rerate_run_id", pa.string()),
        ("billing_period", pa.string()),
        ("rating_version", pa.int32()),
        ("account_id", pa.string()),
        ("usage_charge_before_micros", pa.int64()),
        ("usage_charge_after_micros", pa.int64()),
        ("recurring_charge_before_micros", pa.int64()),
        ("recurring_charge_after_micros", pa.int64()),
        ("charge_before_micros", pa.int64()),
        ("charge_after_micros", pa.int64()),
        ("difference_micros", pa.int64()),
        ("tax_before_micros", pa.int64()),
        ("tax_after_micros", pa.int64()),
        ("records_changed", pa.int64()),
    ]
)


def _versioned(schema: pa.Schema) -> pa.Schema:
    return schema.append(pa.field("rating_version", pa.int32()))


#: The tables a re-rating replaces; each superseded version is kept in ``<table>_versions``.
VERSIONED_RATING_TABLES = (
    "rated_usage",
    "allowance_balances",
    "usage_aggregate_charges",
    "recurring_charges",
    "interconnect_legs",
    "billed_charges",
    "billed_charge_usage",
    "tax_lines",
    "adjustments",
    "rating_periods",
)

VERSION_KEYS = ("billing_period", "rating_version")

LAKE_TABLES.update(
    {
        "rating_suspense": (RATING_SUSPENSE_SCHEMA, ("billing_period",)),
        "rating_periods": (RATING_PERIOD_SCHEMA, ("billing_period",)),
        "rerate_runs": (RERATE_RUN_SCHEMA, VERSION_KEYS),
        "rerate_account_differences": (RERATE_ACCOUNT_DIFFERENCE_SCHEMA, VERSION_KEYS),
        # Superseded versions; rating_periods rows carry their version already.
        "rated_usage_versions": (_versioned(RATED_USAGE_SCHEMA), VERSION_KEYS),
        "allowance_balances_versions": (_versioned(ALLOWANCE_BALANCE_SCHEMA), VERSION_KEYS),
        "usage_aggregate_charges_versions": (
            _versioned(USAGE_AGGREGATE_CHARGE_SCHEMA),
            VERSION_KEYS,
        ),
        "recurring_charges_versions": (_versioned(RECURRING_CHARGE_SCHEMA), VERSION_KEYS),
        "interconnect_legs_versions": (_versioned(INTERCONNECT_LEG_SCHEMA), VERSION_KEYS),
        "billed_charges_versions": (_versioned(BILLED_CHARGE_SCHEMA), VERSION_KEYS),
        "billed_charge_usage_versions": (_versioned(BILLED_CHARGE_USAGE_SCHEMA), VERSION_KEYS),
        "tax_lines_versions": (_versioned(TAX_LINE_SCHEMA), VERSION_KEYS),
        "adjustments_versions": (_versioned(ADJUSTMENT_SCHEMA), VERSION_KEYS),
        "rating_periods_versions": (RATING_PERIOD_SCHEMA, VERSION_KEYS),
    }
)


#: Every accepted row of the carriers' invoices of a period (pipelines/interconnect/
#: carrier_invoices.py), as billed: the decimal texts beside their exact micro-unit values.
CARRIER_INVOICE_LINE_SCHEMA = pa.schema(
    [
        ("billing_period", pa.string()),
        ("carrier_id", pa.string()),
        ("file_name", pa.string()),  # <carrier_id>/<carrier_id>_<YYYY-MM>.csv
        ("line_number", pa.int32()),  # physical line of the file, the header being line 1
        ("record_type", pa.string()),  # detail, summary or total
        ("invoice_number", pa.string()),
        ("invoice_date", pa.date32()),
        ("currency", pa.string()),
        ("traffic_date", pa.date32()),  # detail rows only
        ("destination_code", pa.string()),  # null on the total row
        ("destination_name", pa.string()),
        ("batch_id", pa.string()),  # detail rows only
        ("calls", pa.int64()),
        ("minutes", pa.string()),  # as billed
        ("billable_seconds", pa.int64()),  # the whole seconds the minutes round from
        ("rate", pa.string()),  # as billed, per minute; detail rows only
        ("rate_micros", pa.int64()),
        ("amount", pa.string()),  # as billed
        ("amount_micros", pa.int64()),
        ("amount_decimals", pa.int32()),  # decimals the carrier wrote in amount
        # invoice_arithmetic on a summary or total row that is not the sum of its rows
        ("finding", pa.string()),
        ("finding_detail", pa.string()),
    ]
)

#: Invoice rows refused, each with its reason (a whole-file reason repeats on every row).
CARRIER_INVOICE_REJECT_SCHEMA = pa.schema(
    [
        ("billing_period", pa.string()),
        ("carrier_id", pa.string()),
        ("file_name", pa.string()),
        ("line_number", pa.int32()),
        ("reason_code", pa.string()),
        ("reason_detail", pa.string()),
        ("raw_text", pa.string()),
    ]
)

#: One row per carrier x destination_code x traffic_date of a period: our rated outbound
#: legs against the carrier's invoice detail rows, and how the difference is classified
#: (pipelines/interconnect/reconcile.py).
INTERCONNECT_RECONCILIATION_SCHEMA = pa.schema(
    [
        ("billing_period", pa.string()),
        ("carrier_id", pa.string()),
        ("invoice_number", pa.string()),  # null when the carrier sent no invoice
        ("destination_code", pa.string()),
        ("destination_name", pa.string()),
        ("traffic_date", pa.date32()),
        ("currency", pa.string()),
        ("our_calls", pa.int64()),
        ("our_billable_seconds", pa.int64()),
        ("our_amount_micros", pa.int64()),
        ("our_prices_micros", pa.list_(pa.int64())),  # deck prices per 60 s applied
        ("their_lines", pa.int64()),
        ("their_calls", pa.int64()),  # everything billed, repeated batches included
        ("their_billable_seconds", pa.int64()),
        ("their_amount_micros", pa.int64()),
        ("their_rates_micros", pa.list_(pa.int64())),  # rates per minute billed
        ("duplicate_batches", pa.list_(pa.string())),  # batch_ids whose rows repeat
        ("duplicate_amount_micros", pa.int64()),  # billed by the repeated copies
        # Our amounts with each invoice line rounded to the invoice's decimals the
        # agreement's way: what a correct invoice says.
        ("expected_amount_micros", pa.int64()),
        ("rounding_allowance_micros", pa.int64()),
        ("difference_micros", pa.int64()),  # their amount - our amount
        ("difference_class", pa.string()),  # match, rounding, rate, volume or timing
        ("cause", pa.string()),  # null on a match
        ("paired_traffic_date", pa.date32()),  # timing: the other day of the pair
        ("detail", pa.string()),
    ]
)

#: Differences the carrier bills above its agreement's tolerance, grouped per invoice,
#: destination and cause: what we dispute with the carrier.
INTERCONNECT_DISPUTE_SCHEMA = pa.schema(
    [
        ("dispute_id", pa.string()),  # <carrier_id>-<YYYY-MM>-<destination_code>-<cause>
        ("carrier_id", pa.string()),
        ("billing_period", pa.string()),
        ("invoice_number", pa.string()),
        ("destination_code", pa.string()),
        ("destination_name", pa.string()),
        ("currency", pa.string()),
        ("difference_class", pa.string()),
        ("cause", pa.string()),
        ("traffic_dates", pa.list_(pa.date32())),
        ("our_amount_micros", pa.int64()),
        ("their_amount_micros", pa.int64()),
        ("disputed_amount_micros", pa.int64()),  # their - ours over the traffic dates
        ("tolerance_micros", pa.int64()),
        ("evidence", pa.string()),  # the text an analyst sends the carrier
        ("status", pa.string()),  # open
    ]
)

LAKE_TABLES.update(
    {
        "carrier_invoice_lines": (CARRIER_INVOICE_LINE_SCHEMA, ("billing_period",)),
        "carrier_invoice_rejects": (CARRIER_INVOICE_REJECT_SCHEMA, ("billing_period",)),
        "interconnect_reconciliation": (INTERCONNECT_RECONCILIATION_SCHEMA, ("billing_period",)),
        "interconnect_disputes": (INTERCONNECT_DISPUTE_SCHEMA, ("billing_period",)),
    }
)


# --- roaming (pipelines/roaming, docs/roaming.md) -------------------------------------


class RoamingFileStatus(StrEnum):
    """What became of a TAP file in roaming settlement."""

    SETTLED = "settled"  # a partner's batch that reconciled: its charges are payable
    RETURNED = "returned"  # a partner's batch returned whole with a RAP (audit mismatch)
    NOT_RETURNABLE = "not_returnable"  # unreadable as a TAP batch: no RAP can name it
    ALREADY_SETTLED = "already_settled"  # a batch (sender, sequence) settled before
    NOT_ADDRESSED_TO_US = "not_addressed_to_us"  # its recipient is another network's TADIG
    EMPTY = "empty"  # a notification (no traffic) or an empty file
    SENT = "sent"  # our TAP file to a partner


#: One row per TAP file of the period, in (payable: the partners' files, by the date
#: mediation filed them) and out (receivable: ours, one per partner and period).
ROAMING_FILE_SCHEMA = pa.schema(
    [
        ("billing_period", pa.string()),
        ("direction", pa.string()),  # payable (theirs) or receivable (ours)
        ("tadig", pa.string()),  # the partner
        ("sender", pa.string()),
        ("recipient", pa.string()),
        ("file_name", pa.string()),  # the landing name (in) or the TD.57 name (out)
        ("file_path", pa.string()),  # under the data root
        ("file_id", pa.string()),  # SHA-256 of the bytes
        ("file_sequence_number", pa.string()),  # 5 digits; null when unreadable
        ("file_kind", pa.string()),  # transfer_batch or notification (null: unreadable)
        ("file_date", pa.date32()),  # in: mediation's file date; out: the creation date
        ("file_created_at", UTC_TS),
        ("events", pa.int64()),
        ("total_charge_micros", pa.int64()),  # its events' charges, TAP currency
        ("tap_currency", pa.string()),
        ("tap_decimal_places", pa.int32()),
        ("file_status", pa.string()),  # RoamingFileStatus
    ]
)

#: One row per call event of a settled TAP file (payable), and per visitor usage record of
#: the period (receivable: sent in our TAP file, or excluded with the reason).
ROAMING_EVENT_SCHEMA = pa.schema(
    [
        ("billing_period", pa.string()),
        ("direction", pa.string()),
        ("tadig", pa.string()),
        ("file_name", pa.string()),  # the TAP file (null: excluded from TAP out)
        ("file_sequence_number", pa.string()),
        ("record_number", pa.int32()),  # position in the file's callEventDetails
        ("usage_id", pa.string()),  # the lake usage (payable: null if mediation refused it)
        ("record_type", pa.string()),  # voice_mo ... data; payable: the TAP kind if unmapped
        ("service", pa.string()),  # the IOT service (record type), or other
        ("served_imsi", pa.string()),
        ("served_msisdn", pa.string()),
        ("other_party_number", pa.string()),
        ("started_at", UTC_TS),  # start of charging (a call's answer)
        ("event_date", pa.date32()),  # operator-local date of started_at
        ("units", pa.int64()),  # seconds, messages or bytes used
        ("billed_units", pa.int64()),  # after the IOT's increments (receivable)
        ("charge_micros", pa.int64()),  # TAP currency
        ("tax_micros", pa.int64()),
        ("discount_micros", pa.int64()),
        ("tap_currency", pa.string()),
        ("iot_version", pa.string()),  # receivable: the IOT row that priced it
        ("is_settled", pa.bool_()),
        ("exclusion_reason", pa.string()),  # receivable, not sent: unanswered, no_iot_rate
        ("reject_reason", pa.string()),  # payable: mediation refused the event (still paid)
    ]
)

#: Per partner, direction and service: what the period settles, in the TAP currency and
#: its operator-currency (USD) equivalent.
ROAMING_SETTLEMENT_SCHEMA = pa.schema(
    [
        ("billing_period", pa.string()),
        ("tadig", pa.string()),
        ("partner_name", pa.string()),
        ("direction", pa.string()),
        ("service", pa.string()),
        ("unit", pa.string()),  # seconds, messages, bytes or events
        ("files", pa.int64()),
        ("events", pa.int64()),
        ("units", pa.int64()),
        ("charge_micros", pa.int64()),
        ("tap_currency", pa.string()),
        ("settlement_currency", pa.string()),
        ("exchange_rate", pa.string()),  # USD per TAP currency unit, exact decimal or p/q
        ("exchange_rate_date", pa.date32()),
        ("usd_equivalent_micros", pa.int64()),
    ]
)

#: One row per partner TAP file of the period that mediation refused whole: returned with a
#: RAP (audit mismatch), or not returnable (unreadable: no batch to name).
RAP_RETURN_SCHEMA = pa.schema(
    [
        ("billing_period", pa.string()),
        ("tadig", pa.string()),
        ("file_name", pa.string()),
        ("file_id", pa.string()),
        ("file_date", pa.date32()),
        ("file_sequence_number", pa.string()),
        ("reason_code", pa.string()),  # the mediation reject reason
        ("reason_detail", pa.string()),
        ("returned_events", pa.int64()),
        ("returned_charge_micros", pa.int64()),  # its events' charges (computed), TAP currency
        ("tap_currency", pa.string()),
        ("rap_status", pa.string()),  # returned or not_returnable
        ("rap_file_name", pa.string()),  # RC<sender><recipient><sequence>; null if none
        ("rap_file_sequence_number", pa.string()),
        ("rap_created_at", UTC_TS),
    ]
)

LAKE_TABLES.update(
    {
        "roaming_files": (ROAMING_FILE_SCHEMA, ("billing_period",)),
        "roaming_events": (ROAMING_EVENT_SCHEMA, ("billing_period",)),
        "roaming_settlement": (ROAMING_SETTLEMENT_SCHEMA, ("billing_period",)),
        "rap_returns": (RAP_RETURN_SCHEMA, ("billing_period",)),
    }
)


# --- validation results (pipelines/validate.py, docs/expectations.md) -----------------

#: One row per validation run x suite x expectation, kept for every run: a rerun of the same
#: run id replaces its own partition and leaves the other runs' rows alone.
VALIDATION_RESULT_SCHEMA = pa.schema(
    [
        ("run_id", pa.string()),  # the Airflow DAG run id, or the one given to validate
        ("billing_period", pa.string()),  # null for a whole-warehouse run
        ("validated_at", UTC_TS),  # when the run validated (wall clock)
        ("domain", pa.string()),  # audit domain: billing, interconnect, ...
        ("suite", pa.string()),  # <domain>.<frame>
        ("check_name", pa.string()),  # the expectation's stable business name (meta.check)
        ("severity", pa.string()),  # critical (fails the run) or warning
        ("success", pa.bool_()),
        ("observed_value", pa.string()),  # JSON text of what GX observed; null if none
        ("unexpected_count", pa.int64()),  # offending rows; null for frame-level checks
    ]
)

LAKE_TABLES["validation_results"] = (VALIDATION_RESULT_SCHEMA, ("run_id",))


#: Append-only history of analyst case status (pipelines/assurance/cases.py): one row per
#: change of a leakage finding or fraud alert. Each change is a partition of its own, so
#: recording one adds a file and never rewrites another change (docs/cases.md).
CASE_STATUS_CHANGE_SCHEMA = pa.schema(
    [
        ("change_id", pa.string()),  # <case_id>-<change_seq>
        ("case_id", pa.string()),  # fct_leakage_findings.finding_id or fct_fraud_alerts.alert_id
        ("case_kind", pa.string()),  # finding | alert
        ("billing_period", pa.string()),  # of the case
        ("change_seq", pa.int32()),  # 1 for the case's first change
        ("from_status", pa.string()),
        ("to_status", pa.string()),
        ("changed_at", UTC_TS),
        ("change_month", pa.string()),  # YYYY-MM of changed_at (UTC)
        ("changed_by", pa.string()),
        ("note", pa.string()),
        ("recovered_micros", pa.int64()),  # what was recovered; null unless to_status recovered
    ]
)

#: One row per sampled priced record of a period re-rated independently by the reference
#: engine (pipelines/assurance/rerating.py); amounts in the record's billing currency.
RERATING_CHECK_SCHEMA = pa.schema(
    [
        ("billing_period", pa.string()),
        ("usage_id", pa.string()),
        ("subscriber_id", pa.string()),
        ("account_id", pa.string()),
        ("service", pa.string()),
        ("event_date", pa.date32()),
        ("catalog_version", pa.string()),
        ("billed_currency", pa.string()),
        ("billed_charge_micros", pa.int64()),
        ("rerated_charge_micros", pa.int64()),  # null when the reference engine refused it
        ("difference_micros", pa.int64()),  # re-rated - billed; null when not re-rated
        ("check_status", pa.string()),  # match | mismatch
        ("mismatch_reason", pa.string()),  # null on a match
        ("rerated_rates", pa.string()),  # the rates the reference engine applied, ';'-separated
        ("sample_seed", pa.int64()),
        ("sample_size", pa.int32()),  # the size asked for; the period may have fewer records
    ]
)

LAKE_TABLES.update(
    {
        "case_status_changes": (CASE_STATUS_CHANGE_SCHEMA, ("change_month", "change_id")),
        "rerating_checks": (RERATING_CHECK_SCHEMA, ("billing_period",)),
    }
)


# --- CPNI (pipelines/privacy, docs/privacy.md) ----------------------------------------

#: Append-only log of every read of raw call detail through the product's commands: one
#: partition per access under its UTC date, so an entry is never rewritten by another.
CPNI_ACCESS_LOG_SCHEMA = pa.schema(
    [
        ("access_id", pa.string()),  # random, unique
        ("access_date", pa.string()),  # YYYY-MM-DD of accessed_at (UTC)
        ("accessed_at", UTC_TS),
        ("accessed_by", pa.string()),  # TELCOLAKE_USER, else the OS login
        ("command", pa.string()),  # e.g. call-detail
        ("arguments", pa.string()),  # JSON object, identifiers as tokens
        ("reason", pa.string()),  # as given, numbers in it masked; null if not asked
        ("rows_returned", pa.int64()),
        ("key_id", pa.string()),  # fingerprint of the key that made the tokens
    ]
)

#: One row per lake partition or landing file a retention purge looked at: what it deleted
#: and what legal holds kept. A run's rows are one partition; a rerun adds its own.
RETENTION_PURGE_SCHEMA = pa.schema(
    [
        ("purge_id", pa.string()),  # <UTC time>-<random>: one run of the purge
        ("purge_date", pa.string()),  # YYYY-MM-DD of purged_at (UTC)
        ("purged_at", UTC_TS),
        ("as_of_date", pa.date32()),  # records of months before keep_from_month are due
        ("keep_from_month", pa.string()),  # YYYY-MM: the oldest month still kept
        ("table_name", pa.string()),  # a lake table, or "landing" for raw files
        ("event_month", pa.string()),  # YYYY-MM the partition holds (a file: its file date's)
        ("partition", pa.string()),  # key=value/... of the partition, or the file's path
        ("records_before", pa.int64()),
        ("records_purged", pa.int64()),
        ("records_held", pa.int64()),  # past retention, kept by a legal hold
        # Past retention but kept with a raw file that has records of a month still kept.
        ("records_not_due", pa.int64()),
        ("hold_ids", pa.list_(pa.string())),  # the holds that kept them
    ]
)

LAKE_TABLES.update(
    {
        "cpni_access_log": (CPNI_ACCESS_LOG_SCHEMA, ("access_date", "access_id")),
        "retention_purges": (RETENTION_PURGE_SCHEMA, ("purge_date", "purge_id")),
    }
)
