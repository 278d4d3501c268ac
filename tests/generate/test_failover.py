"""Failover retries: the two CDRs Asterisk writes when the dialplan retries a congested
trunk, worked out by hand, and which calls are retried."""

from __future__ import annotations

from dataclasses import replace
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from pipelines.generate.asterisk_writer import format_cdr_row
from pipelines.generate.failover import (
    MULTI_LEG_CALL,
    RETRY_SHARE,
    add_failover_retries,
    failover_legs,
)
from pipelines.generate.traffic import AsteriskCall, number_asterisk_calls, trunk_dial

CHICAGO = ZoneInfo("America/Chicago")
TEN = 1_791_990_000  # 2026-10-14 10:00:00 in Chicago (CDT)
ANN = "3125550101"


def outbound(
    start: int,
    answer: int | None,
    end: int,
    dst: str = "2125550199",
    trunk: str = "tg_lec_out",
    disposition: str = "ANSWERED",
) -> AsteriskCall:
    """A call from Ann's fixed line over ``trunk`` (an on-net call names her callee)."""
    lastdata = f"PJSIP/{dst},30" if trunk == dst else trunk_dial(dst, trunk)
    return AsteriskCall(
        "ACC000001", ANN, dst, "from-internal", f'"Ann Lee" <{ANN}>', ANN, trunk, lastdata,
        start, answer, end, disposition, "",
    )  # fmt: skip


def test_a_retry_is_a_second_cdr_of_the_callers_channel() -> None:
    earlier = outbound(TEN - 60, TEN - 55, TEN - 30)
    call = outbound(TEN, TEN + 6, TEN + 126)
    # Starts while the first trunk is still congested: numbered after the whole call.
    later = outbound(TEN + 1, TEN + 5, TEN + 20, dst="4145550123")
    rows = [
        format_cdr_row(numbered, CHICAGO)
        for numbered in number_asterisk_calls([earlier, *failover_legs(call, 3), later])
    ]
    head = f'"ACC000001","{ANN}","2125550199","from-internal","""Ann Lee"" <{ANN}>",'
    assert rows[1:3] == [
        # Congested: not answered, 3 s; the caller's channel 2 dialled channel 3.
        head + f'"PJSIP/{ANN}-00000002","PJSIP/tg_lec_out-00000003","Dial",'
        '"PJSIP/2125550199@tg_lec_out,60","2026-10-14 10:00:00",,"2026-10-14 10:00:03",3,0,'
        '"CONGESTION","DOCUMENTATION","1791990000.2","","","1791990000.2",1\n',
        # The retry: the same channel dials a new one (4) over the other carrier, as the
        # first leg ends, and has the call's ringing and talk time.
        head + f'"PJSIP/{ANN}-00000002","PJSIP/tg_mob-00000004","Dial",'
        '"PJSIP/2125550199@tg_mob,60","2026-10-14 10:00:03","2026-10-14 10:00:09",'
        '"2026-10-14 10:02:09",126,120,"ANSWERED","DOCUMENTATION","1791990000.2","","",'
        '"1791990000.2",2\n',
    ]
    assert '"PJSIP/3125550101-00000000","PJSIP/tg_lec_out-00000001"' in rows[0]
    assert rows[0].endswith('"1791989940.0","","","1791989940.0",0\n')
    assert '"PJSIP/3125550101-00000005","PJSIP/tg_lec_out-00000006"' in rows[3]
    assert rows[3].endswith('"1791990001.5","","","1791990001.5",3\n')


def test_legs_are_keyed_apart_and_tagged() -> None:
    legs = number_asterisk_calls(failover_legs(outbound(TEN, TEN + 6, TEN + 126), 0))
    assert [leg.record_key for leg in legs] == ["1791990000.0#0", "1791990000.0#1"]
    assert {leg.anomaly for leg in legs} == {MULTI_LEG_CALL}


def test_a_retry_leg_without_its_call_is_refused() -> None:
    _, retry = failover_legs(outbound(TEN, TEN + 6, TEN + 126), 2)
    with pytest.raises(ValueError, match="does not follow its call"):
        number_asterisk_calls([outbound(TEN - 60, None, TEN - 40), retry])


def test_only_normal_calls_to_national_numbers_over_a_trunk_fail_over() -> None:
    national = [
        outbound(TEN + 300 * n, TEN + 300 * n + 5, TEN + 300 * n + 65, trunk=trunk)
        for n in range(1000)
        for trunk in ("tg_lec_out", "tg_mob")
    ]
    others = [
        outbound(TEN, TEN + 5, TEN + 65, dst="911"),
        outbound(TEN, TEN + 5, TEN + 65, dst="18005550100"),
        outbound(TEN, TEN + 5, TEN + 65, dst="011447700900123", trunk="tg_intl"),
        outbound(TEN, TEN + 5, TEN + 65, dst="3125550102", trunk="3125550102"),
        replace(outbound(TEN, TEN + 5, TEN + 65), anomaly="malformed_row:invalid_start"),
    ]
    calls = [*others, *national]
    retried = add_failover_retries(np.random.default_rng(3), calls)
    assert retried == add_failover_retries(np.random.default_rng(3), calls)
    assert retried[: len(others)] == others
    legs = [call for call in retried if call.anomaly == MULTI_LEG_CALL]
    assert len(retried) == len(calls) + len(legs) // 2
    assert 0.5 * RETRY_SHARE < len(legs) / 2 / len(national) < 1.5 * RETRY_SHARE
    for congested, retry in zip(legs[::2], legs[1::2], strict=True):
        assert congested.disposition == "CONGESTION" and congested.answer is None
        assert 0 <= congested.end - congested.start <= 3
        assert retry.start == congested.end and retry.first_leg_start == congested.start
        assert {congested.dstchannel_endpoint, retry.dstchannel_endpoint} == {
            "tg_lec_out",
            "tg_mob",
        }
