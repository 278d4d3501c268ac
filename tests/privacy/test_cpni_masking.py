"""Keyed tokens and the masking of evidence and free text (pipelines/privacy/masking.py)."""

from __future__ import annotations

import json

from pipelines.privacy.masking import (
    TOKEN_HEX_CHARS,
    mask_evidence,
    mask_numbers_in_text,
    token,
    token_list,
)

KEY = b"k" * 32
OTHER_KEY = b"o" * 32


def test_a_token_is_the_rfc_4231_hmac_sha256_cut_to_20_hex_characters():
    # RFC 4231 test case 2: HMAC-SHA-256(key "Jefe", "what do ya want for nothing?").
    expected = "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
    assert token(b"Jefe", "what do ya want for nothing?") == expected[:TOKEN_HEX_CHARS]
    assert TOKEN_HEX_CHARS == 20


def test_same_number_same_token_other_key_other_token():
    assert token(KEY, "13125550100") == token(KEY, "13125550100")
    assert token(KEY, "13125550100") != token(KEY, "13125550101")
    assert token(KEY, "13125550100") != token(OTHER_KEY, "13125550100")


def test_a_list_is_masked_element_by_element_keeping_its_separators():
    first, second = token(KEY, "13125550100"), token(KEY, "14145550199")
    assert token_list(KEY, "13125550100, 14145550199") == f"{first}, {second}"
    assert token_list(KEY, "13125550100,14145550199") == f"{first},{second}"


def test_numbers_in_free_text_are_masked_dates_amounts_and_tickets_are_not():
    text = "customer at 1 (312) 555-0100 disputes INC0012345 of 2026-10-05, 12.50 USD"
    masked = mask_numbers_in_text(KEY, text)
    assert masked == (
        f"customer at {token(KEY, '13125550100')} disputes INC0012345 of 2026-10-05, 12.50 USD"
    )
    assert mask_numbers_in_text(KEY, "IMSI 310260094637084") == (
        f"IMSI {token(KEY, '310260094637084')}"
    )


def test_evidence_identifiers_become_tokens_and_the_rest_is_kept():
    evidence = {
        "imsi": "310260899031284",
        "msisdn": "18726615717",
        "callback_lines": "12176207056,13127657156",
        "other_imeis": "353911100231373",
        "sample_usage_ids": ["b0560c7b44d43966-3", "call:ast-chi-01:1.2/outbound/14146460865"],
        "calling_range": "1809423",
        "ranges": ["881", "882"],
        "talk_seconds": 5603,
        "note": "seen on 17735550123 too",
        "nested": {"served_msisdn": "12195235688"},
    }
    masked = json.loads(mask_evidence(KEY, json.dumps(evidence)))
    assert masked == {
        "imsi": token(KEY, "310260899031284"),
        "msisdn": token(KEY, "18726615717"),
        "callback_lines": f"{token(KEY, '12176207056')},{token(KEY, '13127657156')}",
        "other_imeis": token(KEY, "353911100231373"),
        "sample_usage_ids": [
            token(KEY, "b0560c7b44d43966-3"),
            token(KEY, "call:ast-chi-01:1.2/outbound/14146460865"),
        ],
        "calling_range": "1809423",
        "ranges": ["881", "882"],
        "talk_seconds": 5603,
        "note": f"seen on {token(KEY, '17735550123')} too",
        "nested": {"served_msisdn": token(KEY, "12195235688")},
    }


def test_evidence_that_is_not_json_is_masked_as_text():
    assert mask_evidence(KEY, "line 13125550100 pumped") == (
        f"line {token(KEY, '13125550100')} pumped"
    )
