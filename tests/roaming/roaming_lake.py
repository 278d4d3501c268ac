"""A tiny roaming operator, every number worked out by hand (October 2026, America/Chicago,
CDT = UTC-5 until 11-01).

Partners (roaming_partners.csv):
  MEXZ1  USD, 3 TAP decimals (a TAP unit = 1_000 micros), PLMN 334990
  DEUZ1  EUR, 5 TAP decimals (a TAP unit = 10 micros), PLMN 26299
Our receivable IOT (roaming_iot_rates.csv; what we charge each partner for its visitors):
  MEXZ1 voice_mo "1" 0.06/min 60/60; voice_mo any 0.20/min 60/60; voice_mt 0.02/min 60/60;
        sms_mo 0.015; data 0.008 per MiB by KiB, 0.006 from 10-15 (no sms_mt row)
  DEUZ1 voice_mo any 0.18/min 30/6; data 0.007 per MiB by KiB
Exchange rate (tariff catalog): 1 EUR = 1.0925 USD from 2026-07-01.

Visitors' usage (rated_usage rows; ``VISITS`` gives each one's expected TAP charge):
  v1 MEXZ1 voice_mo 70 s to 13125550123: 120 s x 1_000 = 120_000 -> 120 TAP units
  v2 MEXZ1 voice_mo 61 s to 4930123456: 120 s x 200_000 / 60 = 400_000 -> 400
  v3 MEXZ1 voice_mt 200 s from 525512345678: 240 s x 20_000 / 60 = 80_000 -> 80
  v4 MEXZ1 sms_mo to 13125550123: 15_000 -> 15
  v5 MEXZ1 data 3_000_000 B on 10-10: 2_930 KiB = 3_000_320 B x 8_000 / 1_048_576
     = 22_890.625 -> half up to 3 decimals: 23_000 -> 23
  v6 MEXZ1 data 3_000_000 B on 10-20 at 0.006: 17_167.968... -> 17_000 -> 17
  v7 MEXZ1 voice_mo unanswered: not chargeable, not sent
  v8 MEXZ1 sms_mt: no IOT row, not sent
  d1 DEUZ1 voice_mo 31 s to 13125550123: 30 s + one 6 s step = 36 s x 3_000 = 108_000
     -> 10_800 TAP units
  d2 DEUZ1 data 1_000_000 B: 977 KiB = 1_000_448 B x 7_000 / 1_048_576 = 6_678.75 -> half
     up to 5 decimals: 6_680 -> 668
  Receivable: MEXZ1 655_000 micro-USD; DEUZ1 114_680 micro-EUR, settled per service line:
  voice 108_000 x 1.0925 = 117_990 USD, data 6_680 x 1.0925 = 7_297.9 -> 7_298 USD.

Partners' TAP files to us (landed and mediated for real):
  CDMEXZ1USAZ900001 (10-04): voice_mo 1_234 + data 5_678 TAP units = 6_912_000 micro-USD
  CDMEXZ1USAZ900002 (10-05): declares one event fewer than it holds: returned with a RAP
  CDDEUZ1USAZ900007 (10-06): sms_mo 98_765 TAP units = 987_650 micro-EUR
     = 1_079_007.625 -> 1_079_008 USD
  garbage_2026100700_00003.tap under DEUZ1: not TAP at all, not returnable
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from fractions import Fraction
from pathlib import Path
from zoneinfo import ZoneInfo

import pyarrow as pa

from pipelines import lake
from pipelines.config import OPERATOR_TADIG, Layout
from pipelines.mediation.stage import mediate_partition
from pipelines.roaming import tap_file
from pipelines.schema import RATED_USAGE_SCHEMA
from pipelines.tariffs.catalog_files import write_catalog
from pipelines.tariffs.model import ALWAYS, ANY, Catalog, ExchangeRate

PERIOD = "2026-10"
CHICAGO = ZoneInfo("America/Chicago")
EUR_USD = Fraction("1.0925")

PARTNERS_CSV = """tadig,partner_name,country,plmn_ids,tap_currency,tap_decimal_places,settlement_currency,settlement_period
MEXZ1,Meseta Movil,MX,334990,USD,3,USD,monthly
DEUZ1,Rheinland Funk,DE,26299,EUR,5,EUR,monthly
"""  # noqa: E501
IOT_CSV = """tadig,direction,service,prefix,destination_name,price_micros,price_unit,first_increment,increment,effective_from,effective_to
MEXZ1,receivable,voice_mo,1,NANP,60000,60,60,60,2019-01-01,
MEXZ1,receivable,voice_mo,,Other,200000,60,60,60,2019-01-01,
MEXZ1,receivable,voice_mt,,Incoming,20000,60,60,60,2019-01-01,
MEXZ1,receivable,sms_mo,,SMS,15000,1,1,1,2019-01-01,
MEXZ1,receivable,data,,Data,8000,1048576,1024,1024,2019-01-01,2026-10-14
MEXZ1,receivable,data,,Data,6000,1048576,1024,1024,2026-10-15,
MEXZ1,payable,voice_mo,,Other,150000,60,30,1,2019-01-01,
DEUZ1,receivable,voice_mo,,Other,180000,60,30,6,2019-01-01,
DEUZ1,receivable,data,,Data,7000,1048576,1024,1024,2019-01-01,
"""  # noqa: E501
SWITCHES_CSV = """switch_id,feed,timezone,description
msc-chi-01,ts32298_ber,America/Chicago,MSC
MEXZ1,tap3,America/Mexico_City,TAP from Meseta Movil
DEUZ1,tap3,Europe/Berlin,TAP from Rheinland Funk
"""

MEX_IMSI = "334990000000001"
DEU_IMSI = "262990000000002"


def _visit(usage_id, imsi, record_type, other, local_start, seconds=0, **extra) -> dict:
    started = datetime.fromisoformat(local_start).replace(tzinfo=CHICAGO).astimezone(UTC)
    service = record_type.split("_")[0]
    row: dict = dict.fromkeys(RATED_USAGE_SCHEMA.names)
    row.update(
        usage_id=usage_id,
        file_id="f" * 64,
        file_name="msc-chi-01_2026100100_000001.ber",
        record_number=1,
        feed="ts32298_ber",
        switch_id="msc-chi-01",
        file_date=started.astimezone(CHICAGO).date(),
        event_date=started.astimezone(CHICAGO).date(),
        record_key=usage_id,
        record_type=record_type,
        service=service,
        direction="none"
        if service == "data"
        else "inbound"
        if "_mt" in record_type
        else "outbound",
        served_msisdn="525598765432" if imsi == MEX_IMSI else "4915112345678",
        served_imsi=imsi,
        served_imei="490154203237518",
        other_party_number=other,
        started_at=started,
        # Answered 8 s after seizure; TAP starts charging there.
        answered_at=started + timedelta(seconds=8) if service == "voice" else None,
        ended_at=started + timedelta(seconds=8 + seconds),
        duration_seconds=seconds,
        uplink_bytes=0,
        downlink_bytes=0,
        data_volume_bytes=0,
        is_answered=service == "voice",
        release_cause="normalRelease",
        cell_id="310-260-1200-54321",
        billing_period=PERIOD,
        rating_status="not_billable",
        billable_units=0,
        allowance_units=0,
        chargeable_units=0,
        charge_micros=0,
    )
    row.update(extra)
    return row


def _data(usage_id, imsi, local_start, volume) -> dict:
    return _visit(
        usage_id,
        imsi,
        "data",
        None,
        local_start,
        600,
        uplink_bytes=volume // 6,
        downlink_bytes=volume - volume // 6,
        data_volume_bytes=volume,
        cell_id="310-260-1201-4242",
    )


#: usage_id -> (row, TAP units expected, or the exclusion reason).
VISITS: dict[str, tuple[dict, int | str]] = {
    "v1": (_visit("v1", MEX_IMSI, "voice_mo", "13125550123", "2026-10-03T09:00:00", 70), 120),
    "v2": (_visit("v2", MEX_IMSI, "voice_mo", "4930123456", "2026-10-03T10:00:00", 61), 400),
    "v3": (_visit("v3", MEX_IMSI, "voice_mt", "525512345678", "2026-10-04T11:00:00", 200), 80),
    "v4": (_visit("v4", MEX_IMSI, "sms_mo", "13125550123", "2026-10-04T12:00:00"), 15),
    "v5": (_data("v5", MEX_IMSI, "2026-10-10T20:00:00", 3_000_000), 23),
    "v6": (_data("v6", MEX_IMSI, "2026-10-20T20:00:00", 3_000_000), 17),
    "v7": (
        _visit(
            "v7",
            MEX_IMSI,
            "voice_mo",
            "13125550123",
            "2026-10-21T08:00:00",
            is_answered=False,
            answered_at=None,
        ),
        "unanswered",
    ),
    "v8": (_visit("v8", MEX_IMSI, "sms_mt", "525512345678", "2026-10-22T08:00:00"), "no_iot_rate"),
    "d1": (_visit("d1", DEU_IMSI, "voice_mo", "13125550123", "2026-10-05T23:59:40", 31), 10_800),
    "d2": (_data("d2", DEU_IMSI, "2026-10-06T07:00:00", 1_000_000), 668),
}
#: A customer's own record, which TAP out must leave alone.
CUSTOMER = _visit(
    "c1",
    "310260000000009",
    "voice_mo",
    "13125550123",
    "2026-10-03T09:00:00",
    60,
    served_msisdn="13125550100",
    rating_status="rated",
    charge_micros=100_000,
)


def partner_header(sender: str, sequence: int, created: datetime) -> tap_file.BatchHeader:
    mexico = sender == "MEXZ1"
    return tap_file.BatchHeader(
        sender=sender,
        recipient=OPERATOR_TADIG,
        file_sequence_number=sequence,
        created_at=created,
        available_at=created,
        cut_off_at=created - timedelta(hours=2),
        zone=ZoneInfo("America/Mexico_City" if mexico else "Europe/Berlin"),
        national_prefix="52" if mexico else "49",
        local_currency="MXN" if mexico else "EUR",
        tap_currency="USD" if mexico else "EUR",
        tap_decimal_places=3 if mexico else 5,
        exchange_rate=Fraction("18.25") if mexico else Fraction(1),
        recording_entities=(tap_file.RecordingEntity(1, tap_file.MSC_ENTITY, "MSC1"),),
    )


def our_subscriber_abroad(
    record_type: str, at: datetime, charge: int, **extra
) -> tap_file.TapCallEvent:
    values = dict(
        record_type=record_type,
        imsi="310260000000009",
        msisdn="13125550100",
        imei=None,
        other_party_number="525512345678" if record_type != "data" else None,
        started_at=at,
        duration_seconds=90 if record_type.startswith("voice") else 0,
        uplink_bytes=0,
        downlink_bytes=0,
        recording_entity=1,
        location_area=7,
        cell_id=8,
        charge=charge,
        chargeable_units=1,
        charged_units=1,
    )
    values.update(extra)
    return tap_file.TapCallEvent(**values)


def _land(layout: Layout, tadig: str, name: str, data: bytes) -> None:
    folder = layout.landing / "tap3" / tadig
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_bytes(data)


def faulty_batch(sequence: int, created: datetime) -> bytes:
    """A MEXZ1 batch of one 500-unit call whose AuditControlInfo counts no event."""
    events = [our_subscriber_abroad("voice_mo", created - timedelta(hours=8), 500)]
    value = tap_file.transfer_batch_value(partner_header("MEXZ1", sequence, created), events)
    value["auditControlInfo"]["callEventDetailsCount"] = 0
    return tap_file.encode("transferBatch", value)


def partner_files() -> dict[tuple[str, str], bytes]:
    """(TADIG, landing name) -> bytes of the partners' TAP files to us."""
    created = datetime(2026, 10, 4, 2, 0, tzinfo=UTC)
    good = tap_file.transfer_batch(
        partner_header("MEXZ1", 1, created),
        [
            our_subscriber_abroad("voice_mo", datetime(2026, 10, 2, 18, tzinfo=UTC), 1_234),
            our_subscriber_abroad(
                "data",
                datetime(2026, 10, 2, 19, tzinfo=UTC),
                5_678,
                downlink_bytes=4_000_000,
                uplink_bytes=1_000_000,
                duration_seconds=300,
            ),
        ],
    )
    german = tap_file.transfer_batch(
        partner_header("DEUZ1", 7, datetime(2026, 10, 6, 1, 0, tzinfo=UTC)),
        [
            our_subscriber_abroad(
                "sms_mo",
                datetime(2026, 10, 5, 12, tzinfo=UTC),
                98_765,
                other_party_number="4915112345678",
            )
        ],
    )
    return {
        ("MEXZ1", "CDMEXZ1USAZ900001_2026100320_00001.tap"): good,
        ("MEXZ1", "CDMEXZ1USAZ900002_2026100420_00002.tap"): faulty_batch(
            2, created + timedelta(days=1)
        ),
        ("DEUZ1", "CDDEUZ1USAZ900007_2026100603_00007.tap"): german,
        ("DEUZ1", "garbage_2026100700_00003.tap"): b"\x00\x01 not a TAP file",
    }


def build_operator(root: Path) -> Layout:
    """Reference files, mediated partner files and the visitors' rated usage of October."""
    layout = Layout(root)
    layout.reference.mkdir(parents=True)
    (layout.reference / "roaming_partners.csv").write_text(PARTNERS_CSV)
    (layout.reference / "roaming_iot_rates.csv").write_text(IOT_CSV)
    (layout.reference / "switches.csv").write_text(SWITCHES_CSV)
    write_catalog(
        Catalog(
            version="tiny",
            currency="USD",
            destinations={},
            timings={ANY: ALWAYS},
            rates={},
            destination_rates={},
            rating_plans={},
            profiles=(),
            exchange_rates=(ExchangeRate(date(2026, 7, 1), "EUR", "USD", EUR_USD),),
        ),
        layout.reference / "tariff_catalog",
    )
    for (tadig, name), data in partner_files().items():
        _land(layout, tadig, name, data)
    for day in (3, 4, 6, 7):
        mediate_partition(layout, "tap3", date(2026, 10, day))
    rows = [row for row, _ in VISITS.values()] + [CUSTOMER]
    lake.write_partition(
        layout,
        "rated_usage",
        {"billing_period": PERIOD, "bucket": 0},  # as one rating bucket
        pa.Table.from_pylist(sorted(rows, key=lambda r: r["usage_id"]), RATED_USAGE_SCHEMA),
    )
    return layout
