import pytest

from pipelines.mediation.numbering import InvalidNumberError, classify_number, normalise_number


@pytest.mark.parametrize(
    ("dialled", "expected"),
    [
        ("3125550123", "13125550123"),  # 10-digit national
        ("13125550123", "13125550123"),  # national with the trunk prefix 1
        ("+13125550123", "13125550123"),
        ("+1 (312) 555-0123", "13125550123"),  # separators a person types
        ("011447700900123", "447700900123"),  # US international prefix
        ("+447700900123", "447700900123"),  # fictional UK range: possible, not "valid"
        ("+881612345678", "881612345678"),  # satellite, a classic IRSF range
        ("911", "911"),  # emergency
        ("611", "611"),  # N11 service codes stay as dialled
        ("411", "411"),
        ("22222", "22222"),  # SMS short code
        (" 911 ", "911"),
    ],
)
def test_normalises_to_e164_digits_or_keeps_short_codes(dialled: str, expected: str) -> None:
    assert normalise_number(dialled) == expected


@pytest.mark.parametrize(
    ("dialled", "reason"),
    [
        ("", "empty"),
        ("client1", "not a dialled number"),  # a SIP user name
        ("test", "not a dialled number"),
        ("100", "too short"),  # an extension, not a short code of the plan
        ("5551234", "local number without area code"),
        ("0125550123", "NANP area code"),  # NPA cannot start with 0
        ("1312555012", "NANP area code"),  # '1' + nine digits: NPA would start with 1
        ("00447700900123", "too long"),  # 00 is not the US international prefix
        ("011", "IDD"),
        ("+", "not a dialled number"),
    ],
)
def test_rejects_what_cannot_be_routed(dialled: str, reason: str) -> None:
    with pytest.raises(InvalidNumberError, match=reason):
        normalise_number(dialled)


@pytest.mark.parametrize(
    ("number", "expected"),
    [
        ("13125550101", ("US", "fixed_line_or_mobile")),  # NANP: fixed and mobile share ranges
        ("18005550100", ("US", "toll_free")),
        ("979135428555", ("001", "premium_rate")),  # international premium rate (ITU 979)
        ("881614178728", ("001", "mobile")),  # Global Mobile Satellite System
        ("68828799", ("TV", "fixed_line")),  # Tuvalu
        ("447700900123", ("GB", "unknown")),  # Ofcom's drama range: never assigned
        ("911", (None, "short_code")),
        (None, (None, None)),
    ],
)
def test_classify_number(number, expected):
    assert classify_number(number) == expected
