"""The reference data of an operator at benchmark scale: ``write_volume_reference``.

Writes under ``layout.reference`` every file ``generate_operator`` writes there, with the
same columns and rules (docs/data-contracts.md), for any number of lines up to a few
million, in seconds to a minute: the tables that grow with the customer base are drawn as
columns (``reference_customers``, ``reference_numbers``, ``reference_billing``); the fixed
ones (catalog, rate decks, time bands, holidays, carriers, trunks, switches, roaming, tax
rules, fees, promotions, credit authority) are the generator's own rows. No anomaly is
injected: no HLR mismatches, no leakage credits, no fraud lines.

Tables of number ranges stay bounded whatever the scale: ``number_blocks.csv`` lists the
blocks (``1`` + NPA + NXX) of the numbers called, at most the 15,000 or so of the 19 area
codes, ``ported_numbers.csv`` a tenth of those numbers (which stop growing at
``reference_numbers.DOMESTIC_POOL_MAX``), ``interconnect_rates.csv`` a row per mobile
network block, ``cell_sites.csv`` a cell per 400 mobile lines.

What traffic draws on (the volume traffic generator reads the reference files only, so it
runs over either generator's reference):

- **on-net numbers**: ``subscribers.csv`` ``msisdn`` of the ``mobile`` and ``fixed_voip``
  lines; a line has usage on a day when ``activated_date`` <= day < ``cancelled_date``
  (empty: open) and its ``status`` is not ``suspended`` (``customers.Subscriber.is_active_on``);
- **domestic numbers**: any number of a ``number_blocks.csv`` block (``prefix`` + 4
  digits: every number of a listed block is valid and none is ours) and the
  ``ported_numbers.csv`` numbers; the network serving one on a day is the ``spid`` of its
  porting row in force then, else its block's ``spid`` (as interconnect rating finds it),
  and its trunk groups are that network's (``porting.NETWORKS``);
- **toll-free and international numbers**: the ``toll_free`` and ``international``
  prefixes of ``rate_deck.csv``, i.e. ``catalog.TOLL_FREE_CODES`` and the
  ``catalog.DESTINATIONS`` of positive ``weight`` (numbers drawn valid with
  ``numbering.random_nanp_number`` and ``traffic.destination_party``);
- **cells**: the ``cell_sites.csv`` cells of the line's city (``service_addresses.csv`` of
  its account); IMSIs are in ``subscribers.csv`` and ``hlr_snapshot.csv``, IMEIs in no
  reference file (the traffic draws the handsets).
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from datetime import date

import numpy as np
import polars as pl

from pipelines.billing.policy import BillingPolicy
from pipelines.config import Layout
from pipelines.generate import catalog, roaming
from pipelines.generate.billing_refs import one_time_fee_rows
from pipelines.generate.customers import CITIES
from pipelines.generate.fraud import cell_site_rows
from pipelines.generate.leakage import credit_authority_rows
from pipelines.generate.legal_holds import legal_hold_rows
from pipelines.generate.porting import MOBILE as MOBILE_NETWORK
from pipelines.generate.promotions import promotion_rows
from pipelines.generate.tables import write_reference_csv
from pipelines.generate.volume import reference_billing as billing
from pipelines.generate.volume.reference_columns import write_reference_frame
from pipelines.generate.volume.reference_customers import (
    ACTIVE,
    CANCELLED,
    FIXED_VOIP,
    MOBILE,
    SUSPENDED,
    Customers,
    account_frame,
    address_frame,
    draw_customers,
    subscriber_frame,
)
from pipelines.generate.volume.reference_numbers import (
    assign_own_numbers,
    cell_ids,
    draw_imsis,
    number_portability,
)
from pipelines.periods import parse_period
from pipelines.reference import TARIFF_CATALOG_DIR, TAX_RULES_DIR
from pipelines.tariffs.catalog_files import write_catalog
from pipelines.taxes.rules_files import write_ruleset
from pipelines.taxes.us_rules import us_ruleset

#: Random streams of one seed (``default_rng([seed, stream])``), apart from the
#: per-object generator's 1-10, so each part keeps its draws when another changes.
CUSTOMER_STREAM = 101
NUMBER_STREAM = 102
PORTING_STREAM = 103
BILLING_STREAM = 104
NETWORK_STREAM = 105


@dataclass(frozen=True)
class VolumeReference:
    """What ``write_volume_reference`` wrote."""

    accounts: int
    subscribers: int
    rows: dict[str, int] = field(default_factory=dict)  # rows per reference CSV


def _stream(seed: int, stream: int) -> np.random.Generator:
    return np.random.default_rng([seed, stream])


def _area_codes(rng: np.random.Generator, customers: Customers) -> np.ndarray:
    """Per line, an area code of its account's city (uniformly), 0 for broadband and TV."""
    city = customers.city[customers.owner]
    counts = np.array([len(c.area_codes) for c in CITIES])
    codes = np.zeros((len(CITIES), counts.max()), dtype=np.int64)
    for row, c in enumerate(CITIES):
        codes[row, : len(c.area_codes)] = [int(code) for code in c.area_codes]
    chosen = codes[city, (rng.random(len(city)) * counts[city]).astype(np.int64)]
    numbered = np.isin(customers.service_type, [MOBILE, FIXED_VOIP])
    return np.where(numbered, chosen, 0)


def _identities(
    rng: np.random.Generator, customers: Customers
) -> tuple[pl.Series, pl.Series, np.ndarray]:
    """Per line its number (null for broadband and TV) and IMSI (null but for mobile
    lines), and the blocks we hold."""
    numbers, own_blocks = assign_own_numbers(rng, _area_codes(rng, customers))
    msisdn = pl.Series("msisdn", numbers)
    msisdn = pl.select(pl.when(msisdn > 0).then(msisdn.cast(pl.String))).to_series()
    mobile = np.flatnonzero(customers.service_type == MOBILE)
    imsi = pl.Series("imsi", [None] * customers.lines, dtype=pl.String)
    return msisdn, imsi.scatter(mobile, draw_imsis(rng, len(mobile))), own_blocks


def _hlr_snapshot(
    customers: Customers, imsi: pl.Series, msisdn: pl.Series, day: date
) -> pl.DataFrame:
    """hlr_snapshot.csv: every mobile line not cancelled, suspended ones barred, by IMSI."""
    lines = np.flatnonzero((customers.service_type == MOBILE) & (customers.status != CANCELLED))
    rows = pl.Series(lines)
    return pl.DataFrame(
        {
            "imsi": imsi.gather(rows),
            "msisdn": msisdn.gather(rows),
            "provisioning_status": pl.Series(
                np.where(customers.status[lines] == SUSPENDED, "barred", "active")
            ),
            "snapshot_date": pl.repeat(day, len(lines), eager=True),
        }
    ).sort("imsi")


def write_volume_reference(
    layout: Layout, *, subscribers: int, seed: int = 7, month: str = "2026-10"
) -> VolumeReference:
    """Write the reference data of an operator with ``subscribers`` lines, exported at the
    last day of ``month`` (``YYYY-MM``). Wipes and rewrites ``reference/`` (nothing else);
    the same arguments write byte-identical files."""
    month_start, month_end = parse_period(month)
    customer_rng = _stream(seed, CUSTOMER_STREAM)
    customers = draw_customers(customer_rng, subscribers, month_start, month_end)
    msisdn, imsi, own_blocks = _identities(_stream(seed, NUMBER_STREAM), customers)
    number_blocks, ported_numbers = number_portability(
        _stream(seed, PORTING_STREAM), subscribers, own_blocks, month_start
    )
    mobile = customers.service_type == MOBILE
    city_lines = np.bincount(customers.city[customers.owner[mobile]], minlength=len(CITIES))
    billing_rng = _stream(seed, BILLING_STREAM)
    opening = billing.opening_balances(
        billing_rng, customers, month, BillingPolicy().payment_terms_days
    )
    credits = billing.adjustments(customers, month_start, month_end, month)
    retained = {str(row["account_id"]) for row in credits if row["adjustment_type"] == "retention"}
    # Counsel holds the month's records of one line in service (the generator's IRSF line).
    in_service = np.flatnonzero(mobile & (customers.status == ACTIVE))
    held = customers.subscriber_ids[int(in_service[billing_rng.integers(len(in_service))])]
    frames = {
        "accounts.csv": account_frame(customer_rng, customers),
        "service_addresses.csv": address_frame(customer_rng, customers),
        "subscribers.csv": subscriber_frame(customers, msisdn, imsi),
        "hlr_snapshot.csv": _hlr_snapshot(customers, imsi, msisdn, month_end),
        "crm_orders.csv": billing.crm_orders(billing_rng, customers, month_start, month_end),
        "opening_balances.csv": opening,
        "payments.csv": billing.payments(billing_rng, opening, month),
        "device_installments.csv": billing.device_installments(billing_rng, customers, month),
        "port_requests.csv": billing.port_requests(billing_rng, customers, msisdn, month),
        "churn_scores.csv": billing.churn_scores(billing_rng, customers, retained, month_end),
        "number_blocks.csv": number_blocks,
        "ported_numbers.csv": ported_numbers,
    }
    mobile_blocks = number_blocks.filter(pl.col("spid") == MOBILE_NETWORK.spid)["prefix"]
    tables: dict[str, list[dict[str, object]]] = {
        "plans.csv": catalog.plan_rows(),
        "rate_deck.csv": catalog.rate_deck_rows(),
        "time_bands.csv": catalog.time_band_rows(),
        "holidays.csv": catalog.holiday_rows([month_start.year]),
        "carriers.csv": catalog.carrier_rows(),
        "trunk_groups.csv": catalog.trunk_group_rows(),
        "interconnect_rates.csv": catalog.interconnect_rows(month_start, mobile_blocks.to_list()),
        "switches.csv": catalog.switch_rows() + roaming.tap_switch_rows(),
        "adjustments.csv": credits,
        "one_time_fees.csv": one_time_fee_rows(),
        "promotions.csv": promotion_rows(month),
        "credit_authority.csv": credit_authority_rows(),
        "legal_holds.csv": legal_hold_rows(held, month_start, month_end),
        "cell_sites.csv": cell_site_rows(cell_ids(_stream(seed, NETWORK_STREAM), city_lines)),
    }

    if layout.reference.exists():
        shutil.rmtree(layout.reference)
    layout.reference.mkdir(parents=True)
    rows = {name: write_reference_frame(layout.reference, name, f) for name, f in frames.items()}
    rows |= {name: write_reference_csv(layout.reference, name, r) for name, r in tables.items()}
    roaming.write_reference(layout.reference, month_start)
    write_catalog(catalog.tariff_catalog(), layout.reference / TARIFF_CATALOG_DIR)
    write_ruleset(us_ruleset(usf_through=month_start), layout.reference / TAX_RULES_DIR)
    return VolumeReference(accounts=customers.accounts, subscribers=customers.lines, rows=rows)
