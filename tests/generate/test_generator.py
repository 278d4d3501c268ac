"""The synthetic operator: contract shapes, determinism, and a manifest that tells the truth.

Every check reads the written files back (with the csv module, phonenumbers and the TS
32.297 frame reader) rather than trusting the generator's own objects.
"""

from __future__ import annotations

import csv
import hashlib
import json
import re
from collections import Counter
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import phonenumbers
import pytest
from generated_operator import mediate_period

from pipelines.config import Layout
from pipelines.generate import failover, generate_operator
from pipelines.generate.customers import build_customer_base
from pipelines.generate.operator import GenerationSummary
from pipelines.generate.traffic import (
    TrafficBuilder,
    build_number_pools,
    build_traffic,
    number_mobile_sessions,
    traffic_days,
)
from pipelines.ground_truth import Detection, lake_detections
from pipelines.mediation import cisco_cucm_cdr, freeswitch_cdr_csv, opensips_flatstore
from pipelines.mediation.records import FileContext, ParsedRecord
from pipelines.reference import REFERENCE_FILES, require_reference

CONTRACTS = Path(__file__).resolve().parents[2] / "docs" / "data-contracts.md"
TINY = {"seed": 11, "subscribers": 40, "days": 2}
#: The tiny operator's Asterisk switch places about ten calls that can fail over: at the
#: real share (3%) it would retry none of them, so the tests retry half.
TINY_RETRY_SHARE = 0.5
PERIOD = "2026-10"  # the generator's default month
ASTERISK_COLUMNS = 21  # newcdrcolumns layout
_STEM = r"(?P<switch>[\w-]+)_(?P<hour>\d{10})_(?P<seq>\d{6})"
NAME_PATTERNS = {
    "asterisk_cdr_csv": re.compile(rf"^Master_{_STEM}\.csv$"),
    "ts32298_ber": re.compile(rf"^{_STEM}\.ber$"),
    "freeswitch_cdr_csv": re.compile(rf"^Master_{_STEM}\.csv$"),
    "opensips_flatstore": re.compile(rf"^acc_{_STEM}\.log$"),
}
#: The other fixed VoIP feeds and their parsers; their files hold no injected anomaly.
VOIP_PARSERS = {
    "freeswitch_cdr_csv": freeswitch_cdr_csv.parse_file,
    "cisco_cucm_cdr": cisco_cucm_cdr.parse_file,
    "opensips_flatstore": opensips_flatstore.parse_file,
}


def documented_columns() -> dict[str, list[str]]:
    """Reference file columns as docs/data-contracts.md lists them."""
    columns = {}
    for line in CONTRACTS.read_text(encoding="utf-8").splitlines():
        match = re.match(r"^\| `(\w+\.csv)` \| (.+) \|$", line)
        if match:
            # Notes in parentheses, and a trailing "— source" remark, are not columns.
            text = re.sub(r"\([^)]*\)", "", match.group(2)).split(" — ")[0]
            columns[match.group(1)] = [c.strip() for c in text.split(",")]
    return columns


@pytest.fixture(scope="module", autouse=True)
def frequent_retries() -> Iterator[None]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(failover, "RETRY_SHARE", TINY_RETRY_SHARE)
        yield


def asterisk_record_key(fields: list[str]) -> str:
    """The key of an Asterisk row, as the generator and mediation build it: the legs of a
    call share the uniqueid and differ in sequence."""
    return f"{fields[16]}#{fields[20]}"


def generate(root: Path, **overrides: int) -> Layout:
    layout = Layout(root)
    generate_operator(layout, **{**TINY, **overrides})
    return layout


def records_in_file(feed: str, data: bytes) -> int:
    """Records a clean file of a fixed VoIP feed holds, counted from its lines."""
    lines = data.decode("utf-8").splitlines()
    if feed == "cisco_cucm_cdr":
        return len(lines) - 2  # field names and types
    if feed == "opensips_flatstore":
        return sum(line.startswith("INVITE|") for line in lines)  # one INVITE per call
    return len(lines)


def digests(layout: Layout) -> dict[str, str]:
    return {
        str(path.relative_to(layout.root)): hashlib.sha256(path.read_bytes()).hexdigest()
        for folder in (layout.reference, layout.landing, layout.manifest)
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


def read_rows(layout: Layout, name: str) -> list[dict[str, str]]:
    with (layout.reference / name).open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


@pytest.fixture(scope="module")
def operator(tmp_path_factory: pytest.TempPathFactory) -> Layout:
    return generate(tmp_path_factory.mktemp("operator"))


@pytest.fixture(scope="module")
def manifest(operator: Layout) -> dict:
    return json.loads((operator.manifest / "anomalies.json").read_text(encoding="utf-8"))


def landed(layout: Layout, feed: str) -> list[Path]:
    return sorted(path for path in (layout.landing / feed).rglob("*") if path.is_file())


def asterisk_lines(layout: Layout, file_name: str) -> list[str]:
    path = next((layout.landing / "asterisk_cdr_csv").rglob(file_name))
    return path.read_text(encoding="utf-8").splitlines()


def test_every_reference_file_has_its_documented_header(operator: Layout) -> None:
    require_reference(operator)
    documented = documented_columns()
    assert set(REFERENCE_FILES) <= set(documented)
    # The optional files the generator writes are documented too.
    generated = sorted(path.name for path in operator.reference.glob("*.csv"))
    assert sorted(documented) == generated
    for name in generated:
        with (operator.reference / name).open(encoding="utf-8", newline="") as handle:
            header = next(csv.reader(handle))
        assert header == documented[name], name
        assert read_rows(operator, name), f"{name} has no rows"


def test_money_counts_and_flags_parse_as_their_types(operator: Layout) -> None:
    counts = {"included_sms", "first_increment", "increment", "price_unit", "rate_ppm",
              "weight", "bill_cycle_day"}  # fmt: skip
    for name in REFERENCE_FILES:
        for row in read_rows(operator, name):
            for column, value in row.items():
                if column in counts or column.endswith(("_micros", "_seconds", "_bytes")):
                    assert re.fullmatch(r"-?\d+", value), (name, column, value)
                if column.startswith("is_"):
                    assert value in ("true", "false"), (name, column, value)


def test_same_seed_writes_byte_identical_files(operator: Layout, tmp_path: Path) -> None:
    again = generate(tmp_path / "again")
    assert digests(again) == digests(operator)


def test_another_seed_writes_another_operator(operator: Layout, tmp_path: Path) -> None:
    other = digests(generate(tmp_path / "other", seed=TINY["seed"] + 1))
    mine = digests(operator)
    assert other["reference/subscribers.csv"] != mine["reference/subscribers.csv"]
    # The catalogue is not random: products do not change with the seed.
    assert other["reference/plans.csv"] == mine["reference/plans.csv"]


def test_regeneration_replaces_only_its_own_folders(tmp_path: Path) -> None:
    layout = Layout(tmp_path)
    stale = layout.landing / "asterisk_cdr_csv" / "old" / "stale.csv"
    stale.parent.mkdir(parents=True)
    stale.write_text("old")
    kept = layout.lake / "usage" / "keep.parquet"
    kept.parent.mkdir(parents=True)
    kept.write_text("lake")
    generate(tmp_path)
    assert not stale.exists()
    assert kept.read_text() == "lake"


def test_numbers_and_identities_are_valid(operator: Layout) -> None:
    subscribers = read_rows(operator, "subscribers.csv")
    for row in subscribers:
        if row["service_type"] in ("mobile", "fixed_voip"):
            number = phonenumbers.parse("+" + row["msisdn"])
            assert phonenumbers.is_valid_number(number), row
            assert phonenumbers.region_code_for_number(number) == "US"
        else:
            assert row["msisdn"] == ""
        if row["service_type"] == "mobile":
            assert re.fullmatch(r"310260\d{9}", row["imsi"]), row
        else:
            assert row["imsi"] == ""
    for row in read_rows(operator, "hlr_snapshot.csv"):
        assert phonenumbers.is_valid_number(phonenumbers.parse("+" + row["msisdn"]))
    assert len({r["msisdn"] for r in subscribers if r["msisdn"]}) == sum(
        1 for r in subscribers if r["msisdn"]
    )


def test_customer_base_is_consistent(operator: Layout) -> None:
    subscribers = {r["subscriber_id"]: r for r in read_rows(operator, "subscribers.csv")}
    accounts = {r["account_id"]: r for r in read_rows(operator, "accounts.csv")}
    plans = {r["plan_id"]: r for r in read_rows(operator, "plans.csv")}
    assert {r["service_type"] for r in subscribers.values()} == {
        "mobile",
        "fixed_voip",
        "broadband",
        "tv",
    }
    assert {r["account_class"] for r in accounts.values()} >= {"business", "lifeline"}
    completed: dict[str, list[dict[str, str]]] = {}
    for order in read_rows(operator, "crm_orders.csv"):
        if order["order_status"] == "completed":
            completed.setdefault(order["subscriber_id"], []).append(order)
    for sub_id, sub in subscribers.items():
        assert sub["account_id"] in accounts
        assert plans[sub["plan_id"]]["service_type"] == sub["service_type"]
        orders = sorted(completed[sub_id], key=lambda o: (o["completed_date"], o["order_id"]))
        assert orders[0]["order_type"] == "activation"
        assert orders[0]["completed_date"] == sub["activated_date"]
        assert orders[-1]["plan_id"] == sub["plan_id"]
        cancellations = [o for o in orders if o["order_type"] == "cancellation"]
        assert bool(cancellations) == (sub["status"] == "cancelled")
        if cancellations:
            assert cancellations[0]["completed_date"] == sub["cancelled_date"]


def test_hlr_disagrees_with_billing_exactly_as_the_manifest_says(
    operator: Layout, manifest: dict
) -> None:
    hlr = {r["imsi"] for r in read_rows(operator, "hlr_snapshot.csv")}
    billed = {
        r["imsi"]
        for r in read_rows(operator, "subscribers.csv")
        if r["service_type"] == "mobile" and r["status"] != "cancelled"
    }
    missing = {line["imsi"] for line in manifest["billed_not_provisioned"]}
    unbilled = {line["imsi"] for line in manifest["provisioned_not_billed"]}
    assert billed - hlr == missing and len(missing) == 2
    assert hlr - billed == unbilled and len(unbilled) == 3
    assert all(line["record_count"] > 0 for line in manifest["provisioned_not_billed"])


def test_file_names_and_sequence_numbers(operator: Layout, manifest: dict) -> None:
    for feed, pattern in NAME_PATTERNS.items():
        paths = landed(operator, feed)
        assert paths
        sequences = []
        for path in paths:
            match = pattern.match(path.name)
            assert match, path.name
            assert match["switch"] == path.parent.name
            datetime.strptime(match["hour"], "%Y%m%d%H")
            sequences.append(int(match["seq"]))
        lost = [f["file_sequence_number"] for f in manifest["lost_files"] if f["feed"] == feed]
        # Every number is used once, but for the files lost in transfer.
        assert sorted(sequences + lost) == list(range(1, len(paths) + len(lost) + 1)), feed
    for lost_file in manifest["lost_files"]:
        assert not (
            operator.landing / lost_file["feed"] / lost_file["switch_id"] / lost_file["file_name"]
        ).exists()
        assert lost_file["records"] > 0
    for copy in manifest["duplicate_files"]:
        folder = operator.landing / copy["feed"] / copy["switch_id"]
        assert (folder / copy["file_name"]).read_bytes() == (
            folder / copy["duplicate_of"]
        ).read_bytes()
        assert copy["file_name"].split("_")[-2] == copy["duplicate_of"].split("_")[-2]
    for empty in manifest["empty_files"]:
        assert (
            operator.landing / empty["feed"] / empty["switch_id"] / empty["file_name"]
        ).stat().st_size == 0


def test_asterisk_rows_follow_cdr_csv(operator: Layout, manifest: dict) -> None:
    malformed = {(m["file_name"], m["record_number"]) for m in manifest["malformed_records"]}
    rows = 0
    for path in landed(operator, "asterisk_cdr_csv"):
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            if (path.name, number) in malformed:
                continue
            fields = next(csv.reader([line]))
            assert len(fields) == ASTERISK_COLUMNS, line
            start, answer, end = (fields[i] for i in (9, 10, 11))
            duration, billsec = int(fields[12]), int(fields[13])
            # Integers are bare, strings quoted, an unset answer time is not even quoted.
            assert f",{duration},{billsec}," in line
            parse = lambda text: datetime.strptime(text, "%Y-%m-%d %H:%M:%S")  # noqa: E731
            assert (parse(end) - parse(start)).total_seconds() == duration
            if fields[14] == "ANSWERED":
                assert (parse(end) - parse(answer)).total_seconds() == billsec
            else:
                assert answer == "" and billsec == 0 and f'"{start}",,"{end}"' in line
            assert fields[3] in ("from-internal", "from-trunk")
            assert re.fullmatch(r"PJSIP/[\w]+-[0-9a-f]{8}", fields[5]), fields[5]
            rows += 1
    assert rows > 0


def test_duplicate_asterisk_rows_match_the_manifest(operator: Layout, manifest: dict) -> None:
    copies = {c["file_name"] for c in manifest["duplicate_files"]}
    malformed = {(m["file_name"], m["record_number"]) for m in manifest["malformed_records"]}
    seen: Counter[str] = Counter()
    for path in landed(operator, "asterisk_cdr_csv"):
        if path.name in copies:
            continue
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            if (path.name, number) not in malformed:
                seen[asterisk_record_key(next(csv.reader([line])))] += 1
    repeated = sum(count - 1 for count in seen.values())
    expected = [d for d in manifest["duplicate_records"] if d["feed"] == "asterisk_cdr_csv"]
    replayed = [r for r in manifest["replayed_records"] if r["feed"] == "asterisk_cdr_csv"]
    assert len(expected) == 10
    assert repeated == len(expected) + len(replayed)
    for duplicate in expected:
        for place in (duplicate["original"], duplicate["duplicate"]):
            line = asterisk_lines(operator, place["file_name"])[place["record_number"] - 1]
            assert asterisk_record_key(next(csv.reader([line]))) == duplicate["record_key"]
        original_hour = int(duplicate["original"]["file_name"].split("_")[-2])
        duplicate_hour = int(duplicate["duplicate"]["file_name"].split("_")[-2])
        assert (
            datetime.strptime(str(duplicate_hour), "%Y%m%d%H")
            - datetime.strptime(str(original_hour), "%Y%m%d%H")
        ).total_seconds() == 3600


def test_malformed_rows_are_where_the_manifest_says(operator: Layout, manifest: dict) -> None:
    kinds = {}
    for bad in manifest["malformed_records"]:
        if bad["feed"] != "asterisk_cdr_csv":
            continue
        lines = asterisk_lines(operator, bad["file_name"])
        line = lines[bad["record_number"] - 1]
        kinds[bad["kind"]] = line
        if bad["kind"] == "unclosed_quote":
            assert bad["record_number"] == len(lines)  # last: it swallows what follows
            assert line.count('"') % 2 == 1
            continue
        fields = next(csv.reader([line]))
        if bad["kind"] == "extra_columns":
            assert len(fields) > ASTERISK_COLUMNS
        elif bad["kind"] == "invalid_billsec":
            assert not fields[13].isdigit()
        elif bad["kind"] == "invalid_start":
            with pytest.raises(ValueError):
                datetime.strptime(fields[9], "%Y-%m-%d %H:%M:%S")
    assert sorted(kinds) == ["extra_columns", "invalid_billsec", "invalid_start", "unclosed_quote"]


def test_ber_files_hold_what_the_manifest_says(operator: Layout, manifest: dict) -> None:
    ts32297 = pytest.importorskip("pipelines.formats.ts32297")
    ts32298 = pytest.importorskip("pipelines.formats.ts32298")
    truncated = {t["file_name"]: t for t in manifest["truncated_files"]}
    corrupted = {
        (m["file_name"], m["record_number"])
        for m in manifest["malformed_records"]
        if m["kind"] == "undecodable_ber_record"
    }
    assert len(corrupted) == 1
    copies = {c["file_name"] for c in manifest["duplicate_files"]}
    seen: Counter[bytes] = Counter()
    for path in landed(operator, "ts32298_ber"):
        data = path.read_bytes()
        frame = ts32297.decode_file_header(data)
        payloads: list[bytes] = []
        try:
            for cdr in ts32297.iter_cdrs(data, frame.header_length):
                payloads.append(cdr.payload)
        except ts32297.TruncatedCdrError:
            expected = truncated.pop(path.name)
            assert frame.header.cdr_count == expected["records_declared"]
            assert len(payloads) == expected["complete_records"]
            assert len(data) == expected["file_bytes"]
        else:
            assert len(payloads) == frame.header.cdr_count
        for number, payload in enumerate(payloads, start=1):
            if (path.name, number) in corrupted:
                with pytest.raises(ts32298.UndecodableRecordError):
                    ts32298.decode_call_event_record(payload)
                corrupted.discard((path.name, number))
            if path.name not in copies:
                seen[payload] += 1
    assert not truncated and not corrupted
    # A re-written record is byte-identical to its original: count the repeats.
    expected_repeats = [
        d
        for d in manifest["duplicate_records"] + manifest["replayed_records"]
        if d["feed"] == "ts32298_ber"
    ]
    assert sum(n - 1 for n in seen.values()) == len(expected_repeats) > 0


def named_date(file_name: str) -> date:
    """The local date of the hour in a contract name, ``..._<YYYYMMDDHH>_<seq>.<ext>``."""
    return datetime.strptime(file_name.rsplit("_", 2)[-2], "%Y%m%d%H").date()


def ber_cdrs(layout: Layout, file_name: str) -> list[bytes]:
    """The CDR payloads of a landed BER file, in file order."""
    ts32297 = pytest.importorskip("pipelines.formats.ts32297")
    data = next((layout.landing / "ts32298_ber").rglob(file_name)).read_bytes()
    frame = ts32297.decode_file_header(data)
    return [cdr.payload for cdr in ts32297.iter_cdrs(data, frame.header_length)]


def test_replayed_records_are_sent_again_one_to_three_days_later(
    operator: Layout, manifest: dict
) -> None:
    replays = manifest["replayed_records"]
    assert Counter(r["feed"] for r in replays) == {"asterisk_cdr_csv": 4, "ts32298_ber": 3}
    for replay in replays:
        original, repeat = replay["original"], replay["repeat"]
        days_later = (named_date(repeat["file_name"]) - named_date(original["file_name"])).days
        assert 1 <= days_later <= 3, replay
        places = (original, repeat)
        if replay["feed"] == "asterisk_cdr_csv":
            rows = [
                asterisk_lines(operator, p["file_name"])[p["record_number"] - 1] for p in places
            ]
            assert asterisk_record_key(next(csv.reader([rows[0]]))) == replay["record_key"]
        else:
            rows = [ber_cdrs(operator, p["file_name"])[p["record_number"] - 1] for p in places]
            assert replay["record_key"].endswith(":0")  # a whole record, not a partial
        assert rows[0] == rows[1], replay


def test_the_late_file_holds_records_of_two_days_before_its_name(
    operator: Layout, manifest: dict
) -> None:
    (late,) = manifest["late_files"]
    named = named_date(late["file_name"])
    assert late["file_date"] == named.isoformat()
    assert late["event_date"] == (named - timedelta(days=2)).isoformat()
    lines = asterisk_lines(operator, late["file_name"])
    assert len(lines) == late["records"] > 0
    assert {next(csv.reader([line]))[9][:10] for line in lines} == {late["event_date"]}
    # It keeps the number the switch gave it on its records' day, between that day's files.
    dates = {
        int(path.stem.rsplit("_", 1)[1]): named_date(path.name)
        for path in landed(operator, late["feed"])
    }
    sequence = late["file_sequence_number"]
    assert dates[sequence] == named
    event_date = date.fromisoformat(late["event_date"])
    assert dates[sequence - 1] <= event_date <= dates[sequence + 1]


def test_incomplete_sessions_are_those_whose_partials_do_not_all_land(
    operator: Layout, manifest: dict
) -> None:
    ts32298_ber = pytest.importorskip("pipelines.mediation.ts32298_ber")
    copies = {c["file_name"] for c in manifest["duplicate_files"]}
    present: dict[str, set[int]] = {}
    ended: set[str] = set()
    for path in landed(operator, "ts32298_ber"):
        if path.name in copies:
            continue
        context = FileContext(path.name, path.parent.name, "America/Chicago", 1)
        for item in ts32298_ber.parse_file(path.read_bytes(), context):
            if isinstance(item, ParsedRecord) and item.values.get("session_key"):
                key = f"{path.parent.name}:{item.values['session_key']}"
                present.setdefault(key, set()).add(item.values["partial_sequence"])
                if item.values["is_last_partial"]:
                    ended.add(key)
    not_complete = {
        key
        for key, sequences in present.items()
        if key not in ended or sequences != set(range(1, max(sequences) + 1))
    }
    listed = {f"{s['switch_id']}:{s['session_key']}": s for s in manifest["incomplete_sessions"]}
    assert not_complete == set(listed)
    for key, session in listed.items():
        expected = set(range(1, session["partials"] + 1)) - set(session["partials_missing"])
        assert present[key] == expected, session
    (lost,) = manifest["lost_last_partials"]
    key = f"{lost['switch_id']}:{lost['session_key']}"
    # Partials 1..n-1 landed, the n-th (the last) nowhere.
    assert lost["partials_written"] >= 2 and lost["partials_lost"] == 1
    assert present[key] == set(range(1, lost["partials_written"] + 1))
    assert listed[key]["partials_missing"] == [lost["partials_written"] + 1]
    assert listed[key]["causes"] == ["lost_last_partial"]


@pytest.fixture(scope="module")
def mediated(operator: Layout) -> Layout:
    """The operator mediated and consolidated for its period, as ``telcolake mediate``
    does: every landing partition of the period's file dates, then each feed."""
    mediate_period(operator, PERIOD)
    return operator


def test_the_lake_catches_exactly_what_was_replayed_delayed_and_lost(
    mediated: Layout, manifest: dict
) -> None:
    detections = {d.anomaly: d for d in lake_detections(mediated, PERIOD, manifest)}
    assert set(detections) == {
        "records replayed on a later day",
        "late file, billed in its records' days",
        "sessions not complete",
        "calls written as several legs, billed once",
    }
    for anomaly, detection in detections.items():
        assert detection.injected > 0, anomaly
        assert detection.missed == [] and detection.unexpected == [], detection


def test_failover_retries_are_written_as_asterisk_writes_them(
    operator: Layout, manifest: dict
) -> None:
    outgoing = {
        row["trunk_group"]
        for row in read_rows(operator, "trunk_groups.csv")
        if row["direction"] in ("outgoing", "both")
    }
    calls = manifest["multi_leg_calls"]
    assert len(calls) == manifest["counts"]["multi_leg_calls"] > 0
    for call in calls:
        congested, retry = (
            next(csv.reader([asterisk_lines(operator, leg["file_name"])[leg["record_number"] - 1]]))
            for leg in call["legs"]
        )
        # The caller's channel, its uniqueid and so the linkedid are the call's own.
        assert congested[16] == congested[19] == retry[16] == retry[19] == call["linkedid"]
        assert congested[5] == retry[5] and congested[1:4] == retry[1:4]
        assert int(retry[20]) == int(congested[20]) + 1
        assert [leg["record_key"] for leg in call["legs"]] == [
            asterisk_record_key(congested),
            asterisk_record_key(retry),
        ]
        assert congested[14] == "CONGESTION" and congested[10] == "" and congested[13] == "0"
        assert int(congested[12]) <= 3 and retry[9] == congested[11]
        # A new channel on another outgoing trunk group dials the same number.
        trunks = [leg[6].rsplit("-", 1)[0].removeprefix("PJSIP/") for leg in (congested, retry)]
        assert trunks[0] != trunks[1] and set(trunks) <= outgoing
        assert congested[6] != retry[6] and congested[8].replace(trunks[0], trunks[1]) == retry[8]
        assert call["served_msisdn"] == "1" + congested[1]
        assert call["billable_seconds"] == int(retry[13])
    # Every uniqueid written with more than one sequence number is such a call.
    sequences: dict[str, set[str]] = {}
    malformed = {(m["file_name"], m["record_number"]) for m in manifest["malformed_records"]}
    for path in landed(operator, "asterisk_cdr_csv"):
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            if (path.name, number) not in malformed:
                fields = next(csv.reader([line]))
                sequences.setdefault(fields[16], set()).add(fields[20])
    assert {uniqueid for uniqueid, seen in sequences.items() if len(seen) > 1} == {
        call["linkedid"] for call in calls
    }


def multi_leg_detections(layout: Layout, manifest: dict) -> list[Detection]:
    return [
        detection
        for detection in lake_detections(layout, PERIOD, manifest)
        if detection.caught_by == "consolidation (call legs collapsed)"
    ]


def test_a_call_billed_for_other_seconds_is_missed(mediated: Layout, manifest: dict) -> None:
    wrong = json.loads(json.dumps(manifest))
    call = wrong["multi_leg_calls"][0]
    call["billable_seconds"] += 1
    usage_id = f"call:{call['switch_id']}:{call['linkedid']}/outbound/{call['served_msisdn']}"
    (detection,) = multi_leg_detections(mediated, wrong)
    expected = call["billable_seconds"]
    assert detection.missed == [f"{usage_id} ({expected - 1} s billed, {expected} s expected)"]
    assert detection.caught == detection.injected - 1 and detection.unexpected == []
    # A manifest from before failover retries has no ground truth for them.
    del wrong["multi_leg_calls"]
    assert multi_leg_detections(mediated, wrong) == []


def test_unrateable_calls_go_to_countries_without_rates(operator: Layout, manifest: dict) -> None:
    prefixes = {r["prefix"] for r in read_rows(operator, "rate_deck.csv")} | {
        r["prefix"] for r in read_rows(operator, "interconnect_rates.csv")
    }
    calls = manifest["unrateable_destinations"]
    assert 13 <= len(calls) <= 17
    for call in calls:
        number = call["other_party_number"]
        assert call["country_code"] in ("688", "690")
        assert phonenumbers.is_valid_number(phonenumbers.parse("+" + number))
        assert not any(number.startswith(p) for p in prefixes if p)
    asterisk = [c for c in calls if c["feed"] == "asterisk_cdr_csv"]
    for call in asterisk:
        line = asterisk_lines(operator, call["file_name"])[call["record_number"] - 1]
        assert next(csv.reader([line]))[2] == "011" + call["other_party_number"]


def test_fraud_burst_is_a_night_of_premium_calls(manifest: dict) -> None:
    (burst,) = manifest["fraud_bursts"]
    start = datetime.fromisoformat(burst["window_start_at"])
    end = datetime.fromisoformat(burst["window_end_at"])
    assert (end - start).total_seconds() <= 2 * 3600
    assert 36 <= burst["call_count"] <= 44
    assert burst["call_count"] == len(burst["records"])
    assert 120 * burst["call_count"] <= burst["total_seconds"] <= 600 * burst["call_count"]
    assert all(d[:3] in ("881", "979") for d in burst["destinations"])


def test_mobile_records_can_be_built_without_a_file_writer() -> None:
    month_start, month_end = date(2026, 10, 1), date(2026, 10, 31)
    base = build_customer_base(np.random.default_rng([5, 1]), 30, month_start, month_end)
    rng = np.random.default_rng([5, 2])
    builder = TrafficBuilder(rng, ZoneInfo("America/Chicago"), build_number_pools(rng, 30))
    traffic = build_traffic(builder, base, traffic_days(month_start, 3))
    sessions = number_mobile_sessions(traffic.mobile_sessions)
    cdrs = [cdr for session in sessions for cdr in session.cdrs]
    imsis = {s.imsi for s in base.subscribers if s.service_type == "mobile"}
    assert {cdr.record_type for cdr in cdrs} == {"voice_mo", "voice_mt", "sms_mo", "sms_mt", "data"}
    assert {cdr.served_imsi for cdr in cdrs} <= imsis
    assert len({(c.call_reference, c.record_sequence_number) for c in cdrs}) == len(cdrs)
    for session in sessions:
        assert len({cdr.call_reference for cdr in session.cdrs}) == 1
        for cdr in session.cdrs:
            assert cdr.ended_at >= cdr.started_at
            if cdr.record_type == "data":
                assert cdr.charging_id is not None and cdr.apn == "internet"
    fixed = {s.msisdn[1:] for s in base.subscribers if s.service_type == "fixed_voip"}
    for call in traffic.asterisk_calls:
        assert (call.src if call.dcontext == "from-internal" else call.dst) in fixed
    unanswered = sum(1 for c in cdrs if c.record_type.startswith("voice") and not c.answered_at)
    voice = sum(1 for c in cdrs if c.record_type.startswith("voice"))
    assert 0.05 < unanswered / voice < 0.3


def test_cucm_files_carry_the_clusters_native_names(operator: Layout) -> None:
    paths = landed(operator, "cisco_cucm_cdr")
    assert paths
    names = [cisco_cucm_cdr.parse_file_name(path.name) for path in paths]
    for path, name in zip(paths, names, strict=True):
        assert name.cluster == path.parent.name
        assert name.node == "01"
        # Hourly files close in the hour's last minute, named in UTC.
        assert name.closed_at.minute == 59
    assert sorted(name.sequence for name in names) == list(range(1, len(paths) + 1))


def test_every_fixed_voip_record_is_clean_for_its_parser(tmp_path: Path) -> None:
    layout = Layout(tmp_path)
    summary: GenerationSummary = generate_operator(layout, **TINY)
    switches = {row["switch_id"]: row for row in read_rows(layout, "switches.csv")}
    lines = {row["msisdn"] for row in read_rows(layout, "subscribers.csv")}
    served_by: dict[str, set[str]] = {}
    for feed, parse in VOIP_PARSERS.items():
        paths = landed(layout, feed)
        assert paths, feed
        records = 0
        for path in paths:
            switch = switches[path.parent.name]
            assert switch["feed"] == feed
            data = path.read_bytes()
            context = FileContext(path.name, path.parent.name, switch["timezone"], 1)
            items = list(parse(data, context))
            assert all(isinstance(item, ParsedRecord) for item in items), (path.name, items)
            assert len(items) == records_in_file(feed, data), path.name
            records += len(items)
            for item in items:
                assert isinstance(item, ParsedRecord)
                assert item.values["served_msisdn"] in lines
                served_by.setdefault(item.values["served_msisdn"], set()).add(feed)
                if feed == "opensips_flatstore":
                    # The SBC accounts only its lines' own calls (its layout names no peer).
                    assert item.values["direction"] == "outbound"
        assert summary.files[feed] == len(paths)
        assert summary.records[feed] == records
    # Each line is served by one switch.
    assert all(len(feeds) == 1 for feeds in served_by.values())


def test_adjustments_name_real_lines_and_one_exceeds_its_approver(operator: Layout) -> None:
    # The credits injected for the revenue-assurance controls are tested with their ground
    # truth (tests/assurance/test_leakage_generator.py); these are the care desk's own.
    leakage = json.loads((operator.manifest / "leakage.json").read_text(encoding="utf-8"))
    injected = {
        case["key"]
        for category in (
            "promo_credit_not_eligible",
            "credit_above_authority",
            "retention_credit_unqualified",
        )
        for case in leakage["cases"][category]
    }
    rows = [
        row
        for row in read_rows(operator, "adjustments.csv")
        if row["adjustment_id"] not in injected
    ]
    subscribers = read_rows(operator, "subscribers.csv")
    accounts = {
        row["account_id"]: row["account_class"] for row in read_rows(operator, "accounts.csv")
    }
    lines = {row["subscriber_id"]: row["account_id"] for row in subscribers}
    for row in rows:
        assert lines[row["subscriber_id"]] == row["account_id"], row
    # Each kind once (goodwill twice), when the operator has a line for it: this small one
    # activates no mobile line during the month, so it has no promotional credit.
    assert sorted(row["adjustment_type"] for row in rows) == [
        "dispute",
        "goodwill",
        "goodwill",
        "retention",
    ]
    # The $40 goodwill credit on a consumer's TV line is above its agent's $10 limit.
    above = [r for r in rows if int(r["amount_micros"]) > int(r["approval_limit_micros"])]
    assert [(r["adjustment_type"], r["amount_micros"], r["category"]) for r in above] == [
        ("goodwill", "40000000", "video_service")
    ]
    assert accounts[above[0]["account_id"]] == "consumer"
