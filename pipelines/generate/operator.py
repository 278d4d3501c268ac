"""Generate a whole synthetic operator: reference exports, switch files, anomaly manifest."""

from __future__ import annotations

import calendar
import json
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import date
from zoneinfo import ZoneInfo

import numpy as np

from pipelines.billing.policy import BillingPolicy
from pipelines.config import OPERATOR_TIMEZONE, Layout
from pipelines.generate import catalog, roaming
from pipelines.generate.adjustments import adjustment_rows
from pipelines.generate.anomalies import (
    add_empty_file,
    anomaly_traffic,
    build_manifest,
    choose_lost_file,
    choose_network_anomalies,
    choose_truncation,
    deliver_late,
    drop_last_partial,
    inject_corrupted_record,
    inject_duplicate_records,
    inject_replayed_records,
    land_redeliveries,
    plan_redeliveries,
    truncate_ber_file,
    withhold_file,
)
from pipelines.generate.billing_refs import device_installment_rows, one_time_fee_rows
from pipelines.generate.carrier_invoices import (
    carried_calls,
    unread_records,
    write_carrier_invoices,
)
from pipelines.generate.customers import (
    HlrLine,
    account_rows,
    bill_cycle_day,
    build_customer_base,
    hlr_rows,
    subscriber_rows,
)
from pipelines.generate.failover import add_failover_retries
from pipelines.generate.fraud import (
    cell_site_rows,
    fraud_manifest,
    fraud_traffic,
    plan_fraud,
    session_cells,
)
from pipelines.generate.landing import (
    assign_sequences,
    plan_asterisk_files,
    plan_mobile_files,
    plan_voip_files,
    write_file,
)
from pipelines.generate.leakage import ground_truth as leakage_ground_truth
from pipelines.generate.leakage import leakage_reference, leakage_traffic, negative_margin_routes
from pipelines.generate.legal_holds import legal_hold_rows
from pipelines.generate.lifecycle_orders import suspension_order_rows
from pipelines.generate.porting import MOBILE as MOBILE_NETWORK
from pipelines.generate.porting import port_numbers
from pipelines.generate.ports import port_request_rows
from pipelines.generate.promotions import promotion_rows
from pipelines.generate.receivables import opening_balance_rows, payment_rows
from pipelines.generate.tables import write_reference_csv
from pipelines.generate.traffic import (
    TrafficBuilder,
    build_number_pools,
    build_traffic,
    number_asterisk_calls,
    number_mobile_sessions,
    traffic_days,
)
from pipelines.generate.voip_writers import FIXED_SWITCH_FEEDS, line_switches, route_calls
from pipelines.reference import TARIFF_CATALOG_DIR, TAX_RULES_DIR
from pipelines.schema import Feed
from pipelines.storage import mirror_directory
from pipelines.tariffs.catalog_files import write_catalog
from pipelines.taxes.rules_files import write_ruleset
from pipelines.taxes.us_rules import us_ruleset

#: Independent random streams of one seed: each part of the operator draws from its own,
#: so adding draws to one part never shifts another.
CUSTOMER_STREAM = 1
TRAFFIC_STREAM = 2
ANOMALY_STREAM = 3
FAILOVER_STREAM = 4
BILLING_STREAM = 5
PORTING_STREAM = 6
ROAMING_STREAM = 7
CARRIER_INVOICE_STREAM = 8
LEAKAGE_STREAM = 9
FRAUD_STREAM = 10

Progress = Callable[[str, int, int], None]


@dataclass(frozen=True)
class GenerationSummary:
    """What one generation wrote."""

    accounts: int
    subscribers: int
    files: dict[str, int] = field(default_factory=dict)  # landed files per feed
    records: dict[str, int] = field(default_factory=dict)  # records in them per feed
    anomalies: dict[str, int] = field(default_factory=dict)  # the manifest's counts


def parse_month(month: str) -> tuple[date, date]:
    """First and last day of a ``YYYY-MM`` billing period."""
    try:
        year, number = (int(part) for part in month.split("-"))
        first = date(year, number, 1)
    except ValueError as error:
        raise ValueError(f"month must be YYYY-MM, got {month!r}") from error
    return first, first.replace(day=calendar.monthrange(year, number)[1])


def _stream(seed: int, stream: int) -> np.random.Generator:
    return np.random.default_rng([seed, stream])


def generate_operator(
    layout: Layout,
    *,
    seed: int = 7,
    subscribers: int = 200,
    month: str = "2026-10",
    days: int | None = None,
    progress: Progress | None = None,
) -> GenerationSummary:
    """Write a synthetic operator's reference data, raw usage files and anomaly manifest.

    Wipes and rewrites ``reference/``, ``landing/``, ``manifest/`` and ``carrier_invoices/``
    under the layout root (nothing else); a landing area in a bucket is made to hold the
    landing files, and nothing else, too. ``days`` limits traffic to the first days of
    ``month``; reference data is always exported as at the month's last day. The same
    arguments write byte-identical files. ``progress(stage, done, total)`` is called as work
    advances.
    """
    report = progress or (lambda stage, done, total: None)
    month_start, month_end = parse_month(month)
    month_days = (month_end - month_start).days + 1
    day_count = month_days if days is None else days
    if not 1 <= day_count <= month_days:
        raise ValueError(f"days must be between 1 and {month_days}, got {days}")
    tz = ZoneInfo(OPERATOR_TIMEZONE)
    window = traffic_days(month_start, day_count)
    anomaly_rng = _stream(seed, ANOMALY_STREAM)

    report("reference", 0, 1)
    base = build_customer_base(_stream(seed, CUSTOMER_STREAM), subscribers, month_start, month_end)
    network = choose_network_anomalies(anomaly_rng, base, window)
    for directory in (layout.reference, layout.landing, layout.manifest, layout.carrier_invoices):
        if directory.exists():
            shutil.rmtree(directory)
        directory.mkdir(parents=True)
    # Billing references draw from their own stream, after the customers they bill.
    billing_rng = _stream(seed, BILLING_STREAM)
    opening = opening_balance_rows(
        billing_rng,
        [(a.account_id, a.created_date, bill_cycle_day(a)) for a in base.accounts],
        month,
        BillingPolicy().payment_terms_days,
    )
    # The numbers our subscribers call are the traffic stream's first draws; porting (its
    # own stream) moves some to another network, which the reference data records.
    traffic_rng = _stream(seed, TRAFFIC_STREAM)
    porting = port_numbers(
        _stream(seed, PORTING_STREAM), build_number_pools(traffic_rng, subscribers), month_start
    )
    # Fraud adds its own accounts and lines (subscription fraud, hacked enterprises), so
    # its cases are chosen before the reference files that list them are written.
    fraud_rng = _stream(seed, FRAUD_STREAM)
    fraud = plan_fraud(
        fraud_rng,
        base,
        window,
        month_end,
        frozenset(s.subscriber_id for s in (*network.missing_from_hlr, network.fraud_line)),
        frozenset(
            date.fromisoformat(str(row["holiday_date"]))
            for row in catalog.holiday_rows([month_start.year])
        ),
    )
    extra_hlr = tuple(HlrLine(w.imsi, w.msisdn, "active") for w in network.unbilled_lines)
    extra_hlr += fraud.hlr_lines()
    tables: dict[str, list[dict[str, object]]] = {
        "accounts.csv": account_rows(base) + fraud.account_rows(),
        "service_addresses.csv": [*base.address_rows, *fraud.address_rows],
        "subscribers.csv": subscriber_rows(base) + fraud.subscriber_rows(),
        "plans.csv": catalog.plan_rows(),
        "rate_deck.csv": catalog.rate_deck_rows(),
        "time_bands.csv": catalog.time_band_rows(),
        "holidays.csv": catalog.holiday_rows([month_start.year]),
        "carriers.csv": catalog.carrier_rows(),
        "trunk_groups.csv": catalog.trunk_group_rows(),
        "interconnect_rates.csv": catalog.interconnect_rows(
            month_start, porting.blocks_of(MOBILE_NETWORK)
        ),
        "ported_numbers.csv": porting.ported_numbers,
        "number_blocks.csv": porting.number_blocks,
        "hlr_snapshot.csv": hlr_rows(
            base,
            omitted_imsis=frozenset(s.imsi for s in network.missing_from_hlr),
            extra=extra_hlr,
            snapshot_date=month_end,
        ),
        "crm_orders.csv": [
            *base.order_rows,
            *suspension_order_rows(billing_rng, base, month_start, month_end),
            *fraud.order_rows,
        ],
        "switches.csv": catalog.switch_rows() + roaming.tap_switch_rows(),
        "adjustments.csv": adjustment_rows(base, month_start, month_end, month),
        "one_time_fees.csv": one_time_fee_rows(),
        "device_installments.csv": device_installment_rows(
            billing_rng,
            [
                (s.subscriber_id, s.account.account_id, s.activated_date, s.cancelled_date)
                for s in base.subscribers
                if s.service_type == "mobile"
            ],
            month,
        ),
        "promotions.csv": promotion_rows(month),
        "opening_balances.csv": opening,
        "payments.csv": payment_rows(billing_rng, opening, month),
        "port_requests.csv": port_request_rows(
            billing_rng,
            [
                (s.subscriber_id, s.msisdn, s.activated_date, s.cancelled_date, s.status)
                for s in base.subscribers
            ],
            month,
        ),
    }
    # Revenue-assurance reference data and the credits it must catch draw from their own
    # stream, after the normal credits and port requests they must agree with.
    leakage_rng = _stream(seed, LEAKAGE_STREAM)
    leakage = leakage_reference(
        leakage_rng,
        base,
        tables["adjustments.csv"],
        tables["port_requests.csv"],
        month_start,
        month_end,
        month,
    )
    tables["adjustments.csv"] = [*tables["adjustments.csv"], *(c.row for c in leakage.credits)]
    tables["credit_authority.csv"] = leakage.credit_authority
    tables["churn_scores.csv"] = leakage.churn_scores
    # Counsel holds the records of the month's first IRSF line (docs/privacy.md).
    held_line = fraud.irsf[0].line if fraud.irsf else base.subscribers[0]
    tables["legal_holds.csv"] = legal_hold_rows(held_line.subscriber_id, month_start, month_end)
    for name, rows in tables.items():
        write_reference_csv(layout.reference, name, rows)
    roaming.write_reference(layout.reference, month_start)
    write_catalog(catalog.tariff_catalog(), layout.reference / TARIFF_CATALOG_DIR)
    write_ruleset(us_ruleset(usf_through=month_start), layout.reference / TAX_RULES_DIR)
    report("reference", 1, 1)

    report("traffic", 0, 1)
    pools = porting.pools
    normal = build_traffic(TrafficBuilder(traffic_rng, tz, pools), base, window)
    injected = anomaly_traffic(TrafficBuilder(anomaly_rng, tz, pools), base, window, network)
    anomaly_lines = {
        network.fraud_line.subscriber_id,
        *(s.subscriber_id for s in network.missing_from_hlr),
    }
    abroad = roaming.build_roaming(
        _stream(seed, ROAMING_STREAM), tz, base, pools, window, month_end, frozenset(anomaly_lines)
    )
    home_sessions = abroad.at_home(normal.mobile_sessions, tz)
    frauds = fraud_traffic(TrafficBuilder(fraud_rng, tz, pools), fraud, base, window, home_sessions)
    # Usage of cancelled lines, zero-priced calls and a trip on the partner in no roaming
    # zone: the leakage stream's next draws, after its credits, on lines no other
    # injection uses and that do not travel already.
    leaked = leakage_traffic(
        leakage_rng,
        tz,
        pools,
        base,
        window,
        month_end,
        frozenset(
            {
                *anomaly_lines,
                *(trip.line.subscriber_id for trip in abroad.trips),
                *(case.line.subscriber_id for case in (*fraud.irsf, *fraud.pbx)),
                *(clone.line.subscriber_id for clone in fraud.clones),
            }
        ),
    )
    # The unzoned partner's traveller is abroad on its trip's days: no usage at home then.
    abroad = replace(
        abroad,
        trips=(*abroad.trips, *leaked.unzoned_trips),
        tap_files=[*abroad.tap_files, *leaked.unzoned_files],
    )
    home_sessions = abroad.at_home(home_sessions, tz)
    # Each line's calls go to its switch; injected anomalies all stay on Asterisk, and so
    # do failover retries (only the Asterisk writer writes a call as several legs). Fraud
    # goes to its line's switch, after the retries are drawn.
    fixed = route_calls(normal.asterisk_calls, line_switches(base.subscribers))
    retried = add_failover_retries(
        _stream(seed, FAILOVER_STREAM), fixed.pop(catalog.ASTERISK_SWITCH)
    )
    fraud_fixed = route_calls(frauds.fixed_calls, line_switches(base.subscribers))
    for switch, switch_calls in fraud_fixed.items():
        if switch != catalog.ASTERISK_SWITCH:
            fixed[switch] = fixed[switch] + switch_calls
    calls = number_asterisk_calls(
        retried + injected.asterisk_calls + fraud_fixed[catalog.ASTERISK_SWITCH]
    )
    voip = [plan_voip_files(switch_calls, switch, tz) for switch, switch_calls in fixed.items()]
    sessions = number_mobile_sessions(
        home_sessions
        + injected.mobile_sessions
        + abroad.visitor_sessions
        + frauds.mobile_sessions
        + leaked.mobile_sessions
    )
    asterisk = plan_asterisk_files(calls, catalog.ASTERISK_SWITCH, tz)
    mobile = plan_mobile_files(sessions, catalog.MOBILE_SWITCH, tz)
    inject_duplicate_records(anomaly_rng, asterisk, mobile, tz)
    inject_corrupted_record(anomaly_rng, mobile)
    add_empty_file(anomaly_rng, asterisk, window, tz, catalog.ASTERISK_SWITCH)
    assign_sequences(asterisk, tz)
    assign_sequences(mobile, tz)
    for switch_files in voip:
        assign_sequences(switch_files, tz)
    # Anomalies are chosen before any file is written, in the order they were added to the
    # generator: a new one draws after the older ones and never moves them.
    redeliveries = plan_redeliveries(anomaly_rng, [asterisk, mobile], tz)
    truncated = choose_truncation(anomaly_rng, mobile)
    lost = choose_lost_file(anomaly_rng, mobile)
    inject_replayed_records(anomaly_rng, asterisk, mobile, tz)
    late = deliver_late(anomaly_rng, asterisk, tz, month_end)
    lost_partial = drop_last_partial(anomaly_rng, mobile)
    report("traffic", 1, 1)

    planned = asterisk + [f for switch_files in voip for f in switch_files] + mobile
    for done, landing_file in enumerate(planned, start=1):
        write_file(layout.landing, landing_file, tz)
        report("files", done, len(planned))
    report("anomalies", 0, 1)
    copies = land_redeliveries(layout.landing, redeliveries)
    truncation = truncate_ber_file(layout.landing, truncated, tz)
    withhold_file(layout.landing, lost)
    roaming.write_tap_files(layout.landing, abroad.tap_files)
    if layout.landing_store.url != str(layout.landing):
        # The landing area is in a bucket (docs/storage.md): the switches deliver there.
        mirror_directory(layout.landing, layout.landing_store)
    manifest, counts = build_manifest(
        generator={
            "seed": seed,
            "subscribers": subscribers,
            "month": month,
            "days": day_count,
            "timezone": OPERATOR_TIMEZONE,
        },
        files=planned,
        copies=copies,
        truncation=truncation,
        lost=lost,
        late=late,
        lost_partial=lost_partial,
        network=network,
        tz=tz,
    )
    tap_rejects, manifest["roaming"] = roaming.manifest_entries(abroad)
    malformed = manifest["malformed_records"]
    assert isinstance(malformed, list)
    malformed.extend(tap_rejects)  # mediation rejects the batch that does not reconcile
    counts["malformed_records"] += len(tap_rejects)
    (layout.manifest / "anomalies.json").write_text(
        json.dumps(manifest, indent=2) + "\n", encoding="utf-8"
    )
    (layout.manifest / "fraud.json").write_text(
        json.dumps(
            fraud_manifest(
                generator=manifest["generator"],
                plan=fraud,
                traffic=frauds,
                files=planned,
                anomaly_line=network.fraud_line,
                interconnect_rows=tables["interconnect_rates.csv"],
                tz=tz,
            ),
            indent=2,
        )
        + "\n",
        encoding="utf-8",
    )
    # Every cell a record carries, and every cell a line is usually seen in, has a site.
    cells = session_cells(sessions)
    cells |= {c for s in (*base.subscribers, *fraud.fraudsters) for c in s.cells}
    cells |= {c for who in network.unbilled_lines for c in who.cells}
    write_reference_csv(layout.reference, "cell_sites.csv", cell_site_rows(cells))
    (layout.manifest / "leakage.json").write_text(
        json.dumps(
            leakage_ground_truth(
                leakage,
                manifest,
                negative_margin_routes(),
                month_end,
                leaked,
                mobile,
                unread_records(planned, lost, truncation),
            ),
            indent=2,
        )
        + "\n",
        encoding="utf-8",
    )
    report("anomalies", 1, 1)
    # Carriers bill the calls they carried, whatever reached us (data/carrier_invoices/).
    write_carrier_invoices(
        layout,
        _stream(seed, CARRIER_INVOICE_STREAM),
        period=month,
        days=window,
        reference=tables,
        calls=carried_calls(
            calls,
            fixed,
            sessions,
            tables["trunk_groups.csv"],
            unread_records(planned, lost, truncation),
        ),
        tz=tz,
    )

    generated_feeds = (*FIXED_SWITCH_FEEDS.values(), Feed.TS32298_BER)
    files = {feed.value: 0 for feed in generated_feeds}
    records = {feed.value: 0 for feed in generated_feeds}
    for landing_file in planned + copies:
        if landing_file is lost:
            continue
        files[landing_file.feed.value] += 1
        records[landing_file.feed.value] += len(landing_file.entries)
    # Records wholly cut off by the truncation never reached the landing zone; the one cut
    # in its middle is still there, as a broken record.
    cut = truncation.landing_file
    records[cut.feed.value] -= len(cut.entries) - truncation.truncated_record_number
    files[Feed.TAP3.value] = len(abroad.tap_files)
    records[Feed.TAP3.value] = sum(len(tap.events) for tap in abroad.tap_files)
    return GenerationSummary(
        accounts=len(base.accounts),
        subscribers=len(base.subscribers),
        files=files,
        records=records,
        anomalies=counts,
    )
