"""The rate stage on an operator whose reference folder holds a tariff catalog.

tests/rating/tiny_catalog.py describes the catalog; every expected number below is worked
out by hand beside it. Local times are America/Chicago (CDT). A rate "60/1 at 0.12" costs
2_000 micros a second; "30/6 at 1.23" 20_500 a second.
"""

from __future__ import annotations

import csv
import json
from dataclasses import replace
from datetime import date

import pytest
from rating_bucket_files import period_part_files
from tiny_catalog import CATALOG_LABEL, build_operator, call, data, roaming_call

from pipelines import lake
from pipelines.rating.buckets import read_period_table
from pipelines.rating.rerate import close_period, read_version, rerate_period
from pipelines.rating.sample import write_rated_sample
from pipelines.rating.stage import rate_period
from pipelines.tariffs.catalog_files import catalog_checksum, load_catalog, write_catalog
from pipelines.tariffs.events import rate_events_file
from pipelines.tariffs.model import Allowance, DestinationGroup, Offer
from pipelines.taxes.stage import tax_period

US = "13125559999"
UK = "447700900123"
FR = "33142685300"

USAGE = [
    # --- S1 (PBAND: no allowance) -----------------------------------------------------
    # Tue 18:59:00, 150 s: peak until 19:00. Span 1: 60 s in slot 0 (60 s) of R_DOM_PEAK
    # = 60 x 2_000 = 120_000; span 2 from 19:00 off-peak, slot 1 (per second) of
    # R_DOM_OFF: 90 s x 1_000 = 90_000. Total 210_000 (unsplit at peak: 300_000).
    call("u01", "S1", US, "2024-07-02T18:59:00", 150),
    # Fri 23:59:00, 90 s: off-peak to midnight, then Saturday's weekend band.
    # 60 s x 1_000 (R_DOM_OFF slot 0) + 30 s x 500 (R_DOM_WKND slot 1) = 75_000.
    call("u02", "S1", US, "2024-07-05T23:59:00", 90),
    # Thu 07-04 10:00 is Independence Day: peak never on holidays, so off-peak:
    # 60 s x 1_000 = 60_000 (a weekday at peak would be 120_000, see u04).
    call("u03", "S1", US, "2024-07-04T10:00:00", 60),
    # Wed 10:00 peak, 60/1: 60 s x 2_000 + 1 s x 2_000 = 122_000.
    call("u04", "S1", US, "2024-07-03T10:00:00", 61),
    # UK 30/6: 100_000 connect + 30 x 20_500 + 6 x 20_500 = 838_000 -> up to 0.84.
    call("u05", "S1", UK, "2024-07-03T12:00:00", 31),
    # France 60/60 at 0.2345: 10 s -> 60 s = 234_500, raised to the 500_000 minimum.
    call("u06", "S1", FR, "2024-07-03T13:00:00", 10),
    # 1200 s = 20 min x 234_500 = 4_690_000, capped at 3_000_000 (free).
    call("u07", "S1", FR, "2024-07-03T14:00:00", 1200),
    # 150 s -> 180 s = 3 x 234_500 = 703_500, rounded up to 2 decimals: 710_000.
    call("u08", "S1", FR, "2024-07-03T14:30:00", 150),
    # To S2's active number: on-net, R_ONNET 1/1 at 0.01: 90 x 10_000 / 60 = 15_000.
    call("u09", "S1", "13125550002", "2024-07-03T15:00:00", 90),
    # The same number after S2's cancellation (07-20): off-net US, Mon 10:00 peak:
    # 60 x 2_000 + 30 x 2_000 = 180_000.
    call("u10", "S1", "13125550002", "2024-07-22T10:00:00", 90),
    # 911 and toll-free: their rate (0.50/min + 0.25 connect) is ignored; 60/60 billing.
    call("u11", "S1", "911", "2024-07-08T10:00:00", 30),
    call("u12", "S1", "18005550100", "2024-07-08T11:00:00", 200),
    # China: no destination of RP_VOICE holds 86 and there is no *any entry.
    call("u13", "S1", "8613800000000", "2024-07-08T12:00:00", 60),
    # --- S3 (PALLOW: 300 s of voice) ----------------------------------------------------
    call("u20", "S3", US, "2024-07-09T10:00:00", 120),  # 120 covered, 180 left
    call("u21", "S3", US, "2024-07-09T11:00:00", 150),  # billed 150, covered, 30 left
    # billed 61: 30 covered; span 1 (60 s) has 30 charged, span 2 1 s: 31 x 2_000 = 62_000
    call("u22", "S3", US, "2024-07-10T10:00:00", 61),
    # --- S4 (PINTL: 120 s, international only) ------------------------------------------
    call("u23", "S4", US, "2024-07-09T10:00:00", 60),  # domestic: not covered, 120_000
    # 100 s -> 30 + ceil(70 / 6) x 6 = 102 billed, all covered: no connect fee, 0.
    call("u24", "S4", UK, "2024-07-09T12:00:00", 100),
    # 31 s -> 36 billed, 18 left to cover. Span 1 (30): 12 charged, span 2 (6): 6 charged.
    # 100_000 + 18 x 20_500 = 469_000 -> up to 2 decimals: 470_000.
    call("u25", "S4", UK, "2024-07-10T12:00:00", 31),
    # --- S5 (PFR: 300 s to destination FR only) -----------------------------------------
    call("u26", "S5", FR, "2024-07-09T10:00:00", 150),  # 180 billed, covered
    call("u27", "S5", UK, "2024-07-09T11:00:00", 31),  # not FR: 840_000 as u05
    # 180 billed, 120 left: 60 charged = 234_500, raised to the 500_000 minimum.
    call("u28", "S5", FR, "2024-07-10T10:00:00", 150),
    # --- S6 and S7 (PPOOL: 1_000_000 B of data each, into account A6's pool) ------------
    data("u30", "S6", "2024-07-02T09:00:00", 400_000),
    data("u31", "S7", "2024-07-03T09:00:00", 500_000),
    data("u32", "S6", "2024-07-04T09:00:00", 700_000),
    # 2_000_000 - 1_600_000 = 400_000 left: 200_000 B x 10_000 / 1_000_000 = 2_000.
    data("u33", "S7", "2024-07-05T09:00:00", 600_000),
    # --- S8 (PROLL: 300 s, rollover cap 100) -------------------------------------------
    call("u40", "S8", US, "2024-07-09T10:00:00", 120),  # July: 180 unused, 100 roll over
    # August: 250 s billed 250 = 100 rolled in + 150 of the grant.
    call("u41", "S8", US, "2024-08-01T10:00:00", 250),
    # 200 billed, 150 of the grant left: span 1 (60) covered, span 2 (140): 90 covered,
    # 50 x 2_000 = 100_000.
    call("u42", "S8", US, "2024-08-02T10:00:00", 200),
    # --- S10 (PBAND, account A10 billed in EUR) -----------------------------------------
    call("u60", "S10", US, "2024-07-10T10:00:00", 61),  # 122_000 USD x 0.90 = 109_800
    # Sun 23:30 (Mon 04:30 UTC): weekend 60 x 500 = 30_000 USD; the local date is 07-14,
    # before the 07-15 quote: x 0.90 = 27_000.
    call("u61", "S10", US, "2024-07-14T23:30:00", 60),
    # on-net to S1: 15_000 USD x 0.9125 = 13_687.5 -> 13_688 (half away from zero)
    call("u62", "S10", "13125550001", "2024-07-16T10:00:00", 90),
    # --- S11 (PBAND) abroad: TAP records of the visited network -------------------------
    # DEUD2 is in zone eu by its country DEU: voice@eu, R_ROAM 60/60 at 0.25:
    # 100 s -> 120 s = 500_000.
    roaming_call("u70", "S11", "4930123456", "2024-07-10T10:00:00", 100, "DEUD2:USA01:1:1"),
    roaming_call("u71", "S11", "41441234567", "2024-07-10T11:00:00", 60, "CHEC1:USA01:1:2"),
    # FRAF1 is in zone eu by its own code (60 s = 250_000); FRAF2 is in no zone.
    roaming_call("u72", "S11", "33142685300", "2024-07-11T10:00:00", 60, "FRAF1:USA01:2:1"),
    roaming_call("u73", "S11", "33142685300", "2024-07-11T11:00:00", 60, "FRAF2:USA01:3:1"),
    # --- S12 (PCHG: version 2 from 07-15, rated with RP_VOICE_B, 60 s included) ---------
    # Version 1, RP_VOICE peak: 60 x 2_000 + 30 x 2_000 = 180_000.
    call("u80", "S12", US, "2024-07-10T10:00:00", 90),
    # Version 2, RP_VOICE_B 60/60 at 0.08: 120 billed, 60 covered, 60 x 80_000/60 = 80_000.
    call("u81", "S12", US, "2024-07-17T10:00:00", 90),
    # --- S13 (PSUBJ, whose offer is rated with subject retail-basic: RP_VOICE) ----------
    call("u90", "S13", US, "2024-07-10T10:00:00", 90),  # 180_000 (RP_VOICE_B: 160_000)
    # --- S14 (PMIX: 300 s for any group and 120 s international only, two buckets) ------
    # UK 100 s -> 102 billed: the narrower (international) bucket pays it all; 18 left.
    call("u95", "S14", UK, "2024-07-09T12:00:00", 100),
    # US 300 s -> 60 + 240 = 300 billed: the general bucket still holds its 300: all covered.
    call("u96", "S14", US, "2024-07-10T10:00:00", 300),
    # US 61 s: the general bucket is empty and the international one does not cover it:
    # 61 x 2_000 = 122_000.
    call("u97", "S14", US, "2024-07-11T10:00:00", 61),
]

#: S9 (PAGG: data priced on aggregate, graduated), on an operator of its own.
AGGREGATE_USAGE = [
    data("u50", "S9", "2024-07-09T09:00:00", 1_200_000),
    data("u51", "S9", "2024-07-10T09:00:00", 2_300_001),
]

JULY, AUGUST = "2024-07", "2024-08"


def read(layout, table: str, period: str = JULY) -> list[dict]:
    return read_period_table(layout, table, period).to_pylist()


def by_usage(layout, period: str = JULY) -> dict[str, dict]:
    return {row["usage_id"]: row for row in read(layout, "rated_usage", period)}


def balances(layout, period: str = JULY) -> dict[tuple[str, str, str], tuple[int, ...]]:
    return {
        (r["owner_kind"], r["owner_id"], r["service"]): (
            r["granted_at_close"],
            r["rolled_in"],
            r["used_from_rollover"],
            r["used_from_grant"],
            r["unused"],
            r["rolled_out"],
        )
        for r in read(layout, "allowance_balances", period)
    }


@pytest.fixture(scope="module")
def rated(tmp_path_factory):
    layout = build_operator(tmp_path_factory.mktemp("catalog_lake"), USAGE, (JULY, AUGUST))
    rate_period(layout, JULY)
    rate_period(layout, AUGUST)
    return layout


@pytest.fixture(scope="module")
def rows(rated):
    return by_usage(rated)


def charges(rows, *usage_ids):
    return {u: rows[u]["charge_micros"] for u in usage_ids}


def test_calls_split_at_band_changes_and_midnight(rated, rows):
    assert charges(rows, "u01", "u02") == {"u01": 210_000, "u02": 75_000}
    assert rows["u01"]["billable_units"] == 150
    # The first span's band, plan, table and rate describe the record.
    version = f"{CATALOG_LABEL}+{catalog_checksum(rated.reference / 'tariff_catalog')[:12]}"
    first = rows["u01"]
    assert (first["time_band"], first["rating_plan_id"], first["rate_id"]) == (
        "peak",
        "RP_VOICE",
        "R_DOM_PEAK",
    )
    assert first["catalog_version"] == version
    assert first["tariff_version"] == f"{version}|RP_VOICE|DR_PEAK|R_DOM_PEAK"
    assert first["rate_deck_id"] == "DR_PEAK"
    assert (first["destination_prefix"], first["destination_name"]) == ("1", "United States")
    assert rows["u02"]["tariff_version"] == f"{version}|RP_VOICE|DR_OFF|R_DOM_OFF"
    assert rows["u02"]["time_band"] == "*any"


def test_rate_groups_connect_fee_minimum_maximum_and_rounding(rows):
    assert charges(rows, "u04", "u05", "u06", "u07", "u08") == {
        "u04": 122_000,  # 60/1
        "u05": 840_000,  # 30/6 with connect fee, rounded up to 2 decimals
        "u06": 500_000,  # minimum charge
        "u07": 3_000_000,  # maximum cost, free
        "u08": 710_000,  # rounded up
    }
    units = {u: rows[u]["billable_units"] for u in ("u04", "u05", "u06", "u07", "u08")}
    assert units == {"u04": 61, "u05": 36, "u06": 60, "u07": 1200, "u08": 180}
    assert {rows[u]["rating_status"] for u in units} == {"rated"}


def test_public_holiday_makes_a_weekday_off_peak(rows):
    assert (rows["u03"]["time_band"], rows["u03"]["charge_micros"]) == ("*any", 60_000)
    assert (rows["u04"]["time_band"], rows["u04"]["charge_micros"]) == ("peak", 122_000)


def test_on_net_only_while_the_called_line_is_active(rows):
    on, off = rows["u09"], rows["u10"]
    assert (on["destination_group"], on["destination_name"], on["rate_id"]) == (
        "on_net",
        "On net",
        "R_ONNET",
    )
    assert on["charge_micros"] == 15_000
    assert (off["destination_group"], off["rate_id"], off["charge_micros"]) == (
        "domestic",
        "R_DOM_PEAK",
        180_000,
    )


def test_zero_rated_groups_and_unpriced_numbers(rows):
    got = {
        u: (
            rows[u]["rating_status"],
            rows[u]["suspense_reason"],
            rows[u]["destination_group"],
            rows[u]["billable_units"],
            rows[u]["charge_micros"],
        )
        for u in ("u11", "u12", "u13")
    }
    assert got == {
        "u11": ("zero_rated", None, "emergency", 60, 0),  # 30 s -> 60 s at 60/60
        "u12": ("zero_rated", None, "toll_free", 240, 0),  # 200 s -> 240 s
        "u13": ("suspense", "no_rate_for_destination", None, 0, 0),
    }
    assert rows["u13"]["tariff_version"] is None


def _allowance_view(rows, *usage_ids):
    return {
        u: (rows[u]["billable_units"], rows[u]["allowance_units"], rows[u]["charge_micros"])
        for u in usage_ids
    }


def test_own_allowance_drawn_in_event_order_with_overage_priced(rated, rows):
    assert _allowance_view(rows, "u20", "u21", "u22") == {
        "u20": (120, 120, 0),
        "u21": (150, 150, 0),
        "u22": (61, 30, 62_000),
    }
    assert rows["u22"]["chargeable_units"] == 31
    # granted 300, used 300 of it: nothing unused, nothing rolls over
    assert balances(rated)[("line", "S3", "voice")] == (300, 0, 0, 300, 0, 0)


def test_pooled_allowance_shared_by_the_account_lines(rated, rows):
    assert _allowance_view(rows, "u30", "u31", "u32", "u33") == {
        "u30": (400_000, 400_000, 0),
        "u31": (500_000, 500_000, 0),
        "u32": (700_000, 700_000, 0),
        "u33": (600_000, 400_000, 2_000),
    }
    got = balances(rated)
    assert got[("account", "A6", "data")] == (2_000_000, 0, 0, 2_000_000, 0, 0)
    assert not [key for key in got if key[1] in ("S6", "S7")]  # no line buckets


def test_allowances_restricted_to_groups_or_destinations(rated, rows):
    assert _allowance_view(rows, "u23", "u24", "u25") == {
        "u23": (60, 0, 120_000),
        "u24": (102, 102, 0),
        "u25": (36, 18, 470_000),
    }
    assert _allowance_view(rows, "u26", "u27", "u28") == {
        "u26": (180, 180, 0),
        "u27": (36, 0, 840_000),
        "u28": (180, 120, 500_000),
    }
    got = balances(rated)
    assert got[("line", "S4", "voice")] == (120, 0, 0, 120, 0, 0)
    assert got[("line", "S5", "voice")] == (300, 0, 0, 300, 0, 0)


def test_restricted_and_general_allowances_are_separate_buckets(rows):
    # docs/allowances-and-pricing.md rules 2 and 5: a restricted allowance pays what it
    # covers first and never shares its units with (or borrows from) the general one.
    assert _allowance_view(rows, "u95", "u96", "u97") == {
        "u95": (102, 102, 0),
        "u96": (300, 300, 0),
        "u97": (61, 0, 122_000),
    }


def test_rollover_into_the_next_period_is_drawn_first(rated):
    # July: 300 granted, 120 used: 180 unused, min(180, 100) = 100 rolls out.
    assert balances(rated)[("line", "S8", "voice")] == (300, 0, 0, 120, 180, 100)
    august = by_usage(rated, AUGUST)
    assert sorted(august) == ["u41", "u42"]
    assert _allowance_view(august, "u41", "u42") == {
        "u41": (250, 250, 0),
        "u42": (200, 150, 100_000),
    }
    # August: 100 rolled in and all used first, then 150 + 150 of the 300 granted.
    assert balances(rated, AUGUST) == {("line", "S8", "voice"): (300, 100, 100, 300, 0, 0)}


def test_aggregate_priced_data_charged_per_cycle(tmp_path):
    layout = build_operator(tmp_path, AGGREGATE_USAGE, (JULY,))
    rate_period(layout, JULY)
    rows = by_usage(layout)
    assert _allowance_view(rows, "u50", "u51") == {
        "u50": (1_200_000, 0, 0),
        "u51": (2_300_001, 0, 0),
    }
    assert {rows[u]["rating_status"] for u in ("u50", "u51")} == {"rated"}
    [charge] = read(layout, "usage_aggregate_charges")
    tiers = json.loads(charge.pop("tiers"))
    # 3_500_001 B -> 4 MB (rounded up once). Tier 1 (to 2 MB): 2 x 500_000 = 1_000_000;
    # tier 2: 2 x 100_000 + 1_000_000 flat fee = 1_200_000. Total 2_200_000.
    assert charge == {
        "billing_period": JULY,
        "subscriber_id": "S9",
        "account_id": "A9",
        "plan_id": "PAGG",
        "offer_effective_from": date(2024, 1, 1),
        "service": "data",
        "pricing_model": "graduated",
        "records": 2,
        "chargeable_units": 3_500_001,
        "priced_units": 4,
        "charge_micros": 2_200_000,
        "currency": "USD",
    }
    assert tiers == [
        {"tier": 1, "units": 2, "quantity": 2, "amount_micros": 1_000_000},
        {"tier": 2, "units": 2, "quantity": 2, "amount_micros": 1_200_000},
    ]


def test_charges_in_the_account_currency_at_the_rate_of_the_event_date(rows):
    got = {u: (rows[u]["currency"], rows[u]["charge_micros"]) for u in ("u60", "u61", "u62")}
    assert got == {"u60": ("EUR", 109_800), "u61": ("EUR", 27_000), "u62": ("EUR", 13_688)}
    assert (rows["u04"]["currency"], rows["u04"]["charge_micros"]) == ("USD", 122_000)


def test_roaming_rated_by_the_zone_category(rated, rows):
    got = {
        u: (
            rows[u]["rating_status"],
            rows[u]["suspense_reason"],
            rows[u]["rating_plan_id"],
            rows[u]["charge_micros"],
        )
        for u in ("u70", "u71", "u72", "u73")
    }
    assert got == {
        "u70": ("rated", None, "RP_ROAM_EU", 500_000),
        "u71": ("suspense", "no_roaming_zone", None, 0),
        "u72": ("rated", None, "RP_ROAM_EU", 250_000),
        "u73": ("suspense", "no_roaming_zone", None, 0),
    }
    assert rows["u70"]["tariff_version"].endswith("|RP_ROAM_EU|DR_ROAM|R_ROAM")
    assert rows["u70"]["feed"] == "tap3"


def test_plan_change_mid_month_rates_by_the_version_at_the_event(rated, rows):
    got = {
        u: (
            rows[u]["rating_plan_id"],
            rows[u]["billable_units"],
            rows[u]["allowance_units"],
            rows[u]["charge_micros"],
        )
        for u in ("u80", "u81")
    }
    assert got == {"u80": ("RP_VOICE", 90, 0, 180_000), "u81": ("RP_VOICE_B", 120, 60, 80_000)}
    # version 2's 60 s, all used by u81
    assert balances(rated)[("line", "S12", "voice")] == (60, 0, 0, 60, 0, 0)


def test_offer_rated_with_its_subject(rows):
    # PSUBJ's offer names subject retail-basic, whose voice profile is RP_VOICE (peak):
    # 60 x 2_000 + 30 x 2_000 = 180_000. The plan id's own profile (RP_VOICE_B) must not price it.
    assert (rows["u90"]["rating_plan_id"], rows["u90"]["charge_micros"]) == ("RP_VOICE", 180_000)


def test_rerun_writes_identical_partitions(tmp_path):
    layout = build_operator(tmp_path, USAGE, (JULY, AUGUST))
    tables = ("rated_usage", "allowance_balances", "usage_aggregate_charges")
    rate_period(layout, JULY)
    paths = [path for table in tables for path in period_part_files(layout, table, JULY)]
    first = [path.read_bytes() for path in paths]
    rate_period(layout, JULY)
    assert [path.read_bytes() for path in paths] == first
    assert len(read(layout, "rated_usage")) == len([r for r in USAGE if r["event_date"].month == 7])


def _sample_against_costs(layout, tmp_path, catalog_folder) -> list[dict]:
    """A rating-sample of July re-rated by rate-events against ``catalog_folder``."""
    sample = tmp_path / "sample.csv"
    costs = tmp_path / "costs.csv"
    written = write_rated_sample(layout, JULY, 10_000, 7, sample)
    rate_events_file(load_catalog(catalog_folder), sample, costs)
    with sample.open() as s, costs.open() as c:
        billed = {r["event_id"]: r for r in csv.DictReader(s)}
        rerated = {r["event_id"]: r for r in csv.DictReader(c)}
    assert written == len(billed) == len(rerated)
    return [{**billed[k], **{f"re_{n}": v for n, v in rerated[k].items()}} for k in billed]


def test_a_billed_sample_re_rated_independently_matches(rated, tmp_path):
    # Every priced record of July (allowances, pools, on-net, roaming, splits, caps): the
    # reference engine prices each with the units the pipeline's allowances covered.
    pairs = _sample_against_costs(rated, tmp_path, rated.reference / "tariff_catalog")
    in_usd = [p for p in pairs if p["billed_currency"] == "USD"]
    assert len(in_usd) > 30 and not any(p["re_error"] for p in pairs)
    assert [p["event_id"] for p in in_usd if p["billed_cost_micros"] != p["re_cost_micros"]] == []
    # EUR accounts are billed the USD cost at the day's rate: 0.90 before 07-15, 0.9125 after.
    eur = {p["event_id"]: (p["billed_cost_micros"], p["re_cost_micros"]) for p in pairs}
    assert eur["u60"] == ("109800", "122000")  # 122_000 x 0.90


def test_a_re_rating_with_another_price_finds_the_records_it_changes(rated, tmp_path):
    # Peak US calls at 0.15 a minute instead of 0.12 (2_500 a second, not 2_000): exactly
    # the USD records whose spans used R_DOM_PEAK differ, e.g. u04 61 s = 152_500.
    corrected = tmp_path / "corrected"
    catalog = load_catalog(rated.reference / "tariff_catalog")
    peak = catalog.rates["R_DOM_PEAK"]
    slots = tuple(replace(slot, price_micros=150_000) for slot in peak.slots)
    write_catalog(
        replace(catalog, rates={**catalog.rates, "R_DOM_PEAK": replace(peak, slots=slots)}),
        corrected,
    )
    pairs = _sample_against_costs(rated, tmp_path, corrected)
    changed = {
        p["event_id"]: p["re_cost_micros"]
        for p in pairs
        if p["billed_currency"] == "USD" and p["billed_cost_micros"] != p["re_cost_micros"]
    }
    peak_priced = {
        p["event_id"]
        for p in pairs
        if p["billed_currency"] == "USD"
        and "R_DOM_PEAK" in p["re_rate"].split(";")
        and p["billed_cost_micros"] != "0"
    }
    assert changed.keys() == peak_priced and "u04" in changed
    assert changed["u04"] == "152500"


def test_rerating_aggregate_priced_usage_shows_in_the_account_difference(tmp_path):
    # July closed at 2_200_000 (test above). A corrected tier 2 at 0.15 per MB instead of
    # 0.10: 2 x 150_000 + 1_000_000 = 1_300_000, so tier 2 rises by 100_000 to 2_300_000.
    layout = build_operator(tmp_path, AGGREGATE_USAGE, (JULY,))
    rate_period(layout, JULY)
    tax_period(layout, JULY)
    close_period(layout, JULY, by="finance", reason="July invoiced")
    folder = layout.reference / "tariff_catalog"
    catalog = load_catalog(folder)
    offers = []
    for offer in catalog.offers:
        prices = tuple(
            replace(p, tiers=(p.tiers[0], replace(p.tiers[1], price_micros=150_000)))
            for p in offer.aggregate_prices
        )
        offers.append(replace(offer, aggregate_prices=prices))
    write_catalog(replace(catalog, offers=tuple(offers)), folder)
    result = rerate_period(layout, JULY, reason="tier 2 price", by="pricing")
    assert (result.usage_charge_before_micros, result.usage_charge_after_micros) == (
        2_200_000,
        2_300_000,
    )
    [difference] = lake.read_partition(
        layout, "rerate_account_differences", {"billing_period": JULY, "rating_version": 2}
    ).to_pylist()
    assert (difference["account_id"], difference["difference_micros"]) == ("A9", 100_000)
    kept = read_version(layout, "usage_aggregate_charges", JULY, 1).to_pylist()
    assert [row["charge_micros"] for row in kept] == [2_200_000]


def test_an_addon_adds_its_allowance_and_its_prorated_fee(tmp_path):
    # S1 (PBAND, no allowance of its own) takes add-on VOICE30 (1_800 s of domestic voice,
    # 5.00 a month) from Tue 07-16. Wed 07-10 10:00 peak 61 s: 60 x 2_000 + 1 x 2_000 =
    # 122_000; Wed 07-17 10:00, the same call: 61 billed seconds all covered -> 0.
    usage = [
        call("a1", "S1", US, "2024-07-10T10:00:00", 61),
        call("a2", "S1", US, "2024-07-17T10:00:00", 61),
    ]
    layout = build_operator(tmp_path, usage, (JULY,))
    folder = layout.reference / "tariff_catalog"
    catalog = load_catalog(folder)
    voice30 = Offer(
        offer_id="VOICE30",
        name="30 minutes",
        kind="addon",
        service_type="mobile",
        monthly_fee_micros=5_000_000,
        subject="VOICE30",
        effective_from=date(2024, 1, 1),
        allowances=(
            Allowance("voice", 1_800, destination_groups=frozenset({DestinationGroup.DOMESTIC})),
        ),
    )
    write_catalog(replace(catalog, offers=(*catalog.offers, voice30)), folder)
    (layout.reference / "subscriber_addons.csv").write_text(
        "subscriber_id,offer_id,added_date,removed_date\nS1,VOICE30,2024-07-16,\n"
    )
    rate_period(layout, JULY)
    rows = by_usage(layout)
    assert charges(rows, "a1", "a2") == {"a1": 122_000, "a2": 0}
    assert (rows["a2"]["allowance_units"], rows["a2"]["chargeable_units"]) == (61, 0)
    # 07-16..07-31 is 16 of 31 days: 5_000_000 x 16 / 31 = 2_580_645.16 -> 2.58 to the
    # cent; August is billed in advance for both offers.
    fees = {
        (r["subscriber_id"], r["plan_id"], r["recurring_kind"]): (
            r["active_days"],
            r["charge_micros"],
        )
        for r in read(layout, "recurring_charges")
        if r["subscriber_id"] == "S1"
    }
    assert fees == {
        ("S1", "VOICE30", "adjusted"): (16, 2_580_000),
        ("S1", "VOICE30", "advance"): (31, 5_000_000),
        ("S1", "PBAND", "advance"): (31, 10_000_000),
    }
