"""Switches whose CDR columns their own configuration names (switches.csv ``cdr_layout``),
mediated through the real stage and compared with the same calls in the standard layout."""

from __future__ import annotations

import csv
from datetime import date
from pathlib import Path

import pytest

from pipelines.config import Layout
from pipelines.lake import read_table
from pipelines.mediation.stage import MediationError, mediate_partition

FIXTURES = Path(__file__).parents[1] / "fixtures" / "mediation"
GOOD = FIXTURES / "landing" / "asterisk_cdr_csv" / "ast-chi-01"
GOOD_FILE = "Master_ast-chi-01_2024110304_000001.csv"
DAY = date(2024, 11, 3)

# cdr_custom.conf with the columns in an order of the operator's choosing (linkedid kept).
CDR_CUSTOM_CONF = """; cdr_custom.conf of the test switch
[mappings]
Master.csv => ${CDR(start)},${CDR(answer)},${CDR(end)},${CSV_QUOTE(${CDR(src)})},\
${CSV_QUOTE(${CDR(dst)})},${CSV_QUOTE(${CDR(dcontext)})},${CSV_QUOTE(${CDR(channel)})},\
${CSV_QUOTE(${CDR(dstchannel)})},${CDR(duration)},${CDR(billsec)},\
${CSV_QUOTE(${CDR(disposition)})},${CDR(uniqueid)},${CDR(linkedid)},${CDR(sequence)}
"""
# Where each of those comes from in a 21-column cdr_csv line.
CDR_CSV_POSITION = {
    "start": 9, "answer": 10, "end": 11, "src": 1, "dst": 2, "dcontext": 3, "channel": 5,
    "dstchannel": 6, "duration": 12, "billsec": 13, "disposition": 14, "uniqueid": 16,
    "linkedid": 19, "sequence": 20,
}  # fmt: skip
CUSTOM_ORDER = list(CDR_CSV_POSITION)
QUOTED = {"src", "dst", "dcontext", "channel", "dstchannel", "disposition"}  # CSV_QUOTE'd
# Columns that name the file, not the call.
FILE_COLUMNS = {"usage_id", "file_id", "file_name", "switch_id"}


def reference(root: Path, switches: str) -> Layout:
    layout = Layout(root)
    layout.reference.mkdir(parents=True)
    (layout.reference / "switches.csv").write_text(
        "switch_id,feed,timezone,description,cdr_layout\n" + switches
    )
    return layout


def custom_line(cdr_csv_line: str) -> str:
    """A 21-column cdr_csv line written as CDR_CUSTOM_CONF writes the same CDR."""
    (fields,) = csv.reader([cdr_csv_line])
    written = []
    for name in CUSTOM_ORDER:
        value = fields[CDR_CSV_POSITION[name]]
        quoted = name in QUOTED
        written.append('"' + value.replace('"', '""') + '"' if quoted else value)
    return ",".join(written) + "\n"


def calls(layout: Layout, feed: str) -> list[dict]:
    usage = read_table(layout, "usage", {"feed": feed, "file_date": DAY.isoformat()})
    rows = [{k: v for k, v in row.items() if k not in FILE_COLUMNS} for row in usage.to_pylist()]
    return sorted(rows, key=lambda row: row["record_number"])


def test_a_cdr_custom_switch_gives_the_records_of_the_same_calls_in_cdr_csv(
    tmp_path: Path,
) -> None:
    lines = (GOOD / GOOD_FILE).read_text().splitlines(keepends=True)
    standard = reference(
        tmp_path / "standard", "ast-chi-01,asterisk_cdr_csv,America/Chicago,cdr_csv,\n"
    )
    landing = standard.landing / "asterisk_cdr_csv" / "ast-chi-01"
    landing.mkdir(parents=True)
    (landing / GOOD_FILE).write_text("".join(lines))
    expected = mediate_partition(standard, "asterisk_cdr_csv", DAY)

    custom = reference(
        tmp_path / "custom",
        "ast-chi-02,asterisk_cdr_csv,America/Chicago,cdr_custom,"
        "switch_config/ast-chi-02/cdr_custom.conf#Master.csv\n",
    )
    conf = custom.reference / "switch_config" / "ast-chi-02" / "cdr_custom.conf"
    conf.parent.mkdir(parents=True)
    conf.write_text(CDR_CUSTOM_CONF)
    landing = custom.landing / "asterisk_cdr_csv" / "ast-chi-02"
    landing.mkdir(parents=True)
    (landing / GOOD_FILE.replace("chi-01", "chi-02")).write_text(
        "".join(custom_line(line) for line in lines)
    )
    result = mediate_partition(custom, "asterisk_cdr_csv", DAY)

    assert (result.records_in, result.accepted, result.rejected) == (7, 7, 0)
    assert result.accepted == expected.accepted
    assert calls(custom, "asterisk_cdr_csv") == calls(standard, "asterisk_cdr_csv")


FREESWITCH_CONF = """<configuration name="cdr_csv.conf" description="CDR CSV Format">
  <templates>
    <template name="epochs">${uuid},${caller_id_number},${destination_number},${context},\
${start_epoch},${answer_epoch},${end_epoch},${duration},${billsec},${hangup_cause}</template>
  </templates>
</configuration>
"""


def test_a_freeswitch_switch_reads_its_configured_template(tmp_path: Path) -> None:
    layout = reference(
        tmp_path,
        "fs-chi-02,freeswitch_cdr_csv,America/Chicago,epochs,switch_config/fs.xml#epochs\n",
    )
    (layout.reference / "switch_config").mkdir()
    (layout.reference / "switch_config" / "fs.xml").write_text(FREESWITCH_CONF)
    landing = layout.landing / "freeswitch_cdr_csv" / "fs-chi-02"
    landing.mkdir(parents=True)
    # 1730628000 = 2024-11-03 10:00:00Z: 65 s, 60 s answered; then a 30 s missed call.
    (landing / "Master_fs-chi-02_2024110304_000001.csv").write_text(
        "u1,3125550101,2125550199,default,1730628000,1730628005,1730628065,65,60,"
        "NORMAL_CLEARING\n"
        "u2,2125550199,3125550101,public,1730628100,0,1730628130,30,0,NO_ANSWER\n"
    )
    result = mediate_partition(layout, "freeswitch_cdr_csv", DAY)
    assert (result.records_in, result.accepted, result.rejected) == (2, 2, 0)
    answered, missed = calls(layout, "freeswitch_cdr_csv")
    assert (answered["record_key"], answered["duration_seconds"]) == ("u1", 60)
    assert answered["served_msisdn"] == "13125550101"
    assert (missed["direction"], missed["is_answered"]) == ("inbound", False)


@pytest.mark.parametrize(
    ("feed", "cdr_layout", "files", "message"),
    [
        ("cisco_cucm_cdr", "x.conf", {"x.conf": ""}, "fixed layout"),
        ("asterisk_cdr_csv", "switch_config/missing.conf", {}, "no file"),
        ("asterisk_cdr_csv", "../switches.csv", {}, "no file"),
        ("asterisk_cdr_csv", "c.conf#Other.csv", {"c.conf": CDR_CUSTOM_CONF}, "no mapping"),
        ("asterisk_cdr_csv", "c.conf", {"c.conf": "[mappings]\nMaster.csv => x\n"}, "c.conf"),
        ("freeswitch_cdr_csv", "fs.xml#nope", {"fs.xml": FREESWITCH_CONF}, "no template"),
    ],
    ids=["fixed feed", "missing file", "outside the reference", "no such mapping",
         "unreadable mapping", "no such template"],
)  # fmt: skip
def test_an_unusable_layout_stops_the_partition_and_names_the_switch(
    tmp_path: Path, feed: str, cdr_layout: str, files: dict[str, str], message: str
) -> None:
    layout = reference(tmp_path, f"sw-1,{feed},UTC,test,{cdr_layout}\n")
    for name, text in files.items():
        (layout.reference / name).write_text(text)
    with pytest.raises(MediationError, match=f"switch sw-1 in switches.csv: .*{message}"):
        mediate_partition(layout, feed, DAY)
