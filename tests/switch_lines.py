"""Single CDR lines of the text formats, written as the switches write them, for the row
parser and fast-path tests of each format."""

from __future__ import annotations


def asterisk_line(
    start: str = "2024-07-01 12:00:00",
    answer: str = "2024-07-01 12:00:05",
    end: str = "2024-07-01 12:01:05",
    duration: str = "65",
    billsec: str = "60",
    src: str = "3125550101",
    dst: str = "2125550199",
    dcontext: str = "from-internal",
    disposition: str = "ANSWERED",
    channel: str = "PJSIP/3125550101-00000001",
    dstchannel: str = "PJSIP/tg_att_out-00000002",
    clid: str = '"Alice" <3125550101>',
    uniqueid: str = "1719835200.1",
    sequence: str = "1",
    columns: int = 21,
) -> bytes:
    """One Asterisk cdr_csv line (21 columns, or the first ``columns``): strings quoted
    (quotes doubled), durations and sequence bare, an unanswered call's answer empty and
    unquoted."""
    fields = [
        "", src, dst, dcontext, clid, channel, dstchannel, "Dial", "PJSIP/x,60", start,
        answer, end, duration, billsec, disposition, "DOCUMENTATION", uniqueid, "", "",
        uniqueid, sequence,
    ]  # fmt: skip
    bare = {10: answer == "", 12: True, 13: True, 20: True}
    encoded = [
        value if bare.get(k) else '"' + value.replace('"', '""') + '"'
        for k, value in enumerate(fields[:columns])
    ]
    return (",".join(encoded) + "\n").encode()


def freeswitch_line(
    caller: str = "3125550101",
    destination: str = "2125550199",
    context: str = "default",
    start: str = "2024-07-01 12:00:00",
    answer: str = "2024-07-01 12:00:05",
    end: str = "2024-07-01 12:01:05",
    duration: str = "65",
    billsec: str = "60",
    cause: str = "NORMAL_CLEARING",
    uuid: str = "a3f6c1d2-0000-4000-8000-000000000001",
    name: str = "Alice",
) -> bytes:
    """One line as FreeSWITCH's ``example`` template writes it: every value quoted, even
    when empty."""
    fields = [name, caller, destination, context, start, answer, end, duration, billsec,
              cause, uuid, "", "", "PCMU", "PCMU"]  # fmt: skip
    return (",".join(f'"{field}"' for field in fields) + "\n").encode()
