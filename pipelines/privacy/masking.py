"""Keyed tokens for subscriber identifiers (docs/privacy.md, Masking).

A token is HMAC-SHA-256(key, identifier) in lowercase hex, cut to ``TOKEN_HEX_CHARS``
characters (80 bits: a collision among ten million identifiers has a chance of about
4e-11). The same identifier gives the same token under one key, so masked tables still
join on it; without the key a token cannot be turned back into a number, not even by
trying every possible number, which is what an unkeyed hash (md5, sha256) of a ten-digit
space allows in minutes. Another key gives unrelated tokens.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from typing import Any

#: Hex characters of a token.
TOKEN_HEX_CHARS = 20
TOKEN_PATTERN = re.compile(rf"[0-9a-f]{{{TOKEN_HEX_CHARS}}}")

#: Evidence keys (fct_leakage_findings, fct_fraud_alerts) whose values identify a subscriber
#: or one of their records: a number, an IMSI, an IMEI, or usage ids, some of which embed
#: the calling number (``call:<switch>:<id>/outbound/<msisdn>``).
IDENTIFIER_EVIDENCE_KEYS = frozenset(
    {
        "msisdn",
        "served_msisdn",
        "imsi",
        "served_imsi",
        "imei",
        "other_imeis",
        "other_party_number",
        "callback_lines",
        "affected_lines",
        "usage_id",
        "sample_usage_ids",
        "sample_callback_usage_ids",
    }
)

_LIST_ITEM = re.compile(r"[^,\s]+")
# Ten or more digits, possibly split by spaces, dots, dashes or parentheses: a full phone
# number (NANP numbers have ten), an IMSI or an IMEI written in free text. Dates (eight
# digits) and amounts with a decimal point are left alone.
_NUMBER_IN_TEXT = re.compile(r"(?<![0-9A-Za-z])\+?\d(?:[\s().-]{0,2}\d){9,}(?![0-9A-Za-z])")


def token(key: bytes, identifier: str) -> str:
    """The token of one identifier under ``key``."""
    digest = hmac.new(key, identifier.encode("utf-8"), hashlib.sha256).hexdigest()
    return digest[:TOKEN_HEX_CHARS]


def token_list(key: bytes, identifiers: str) -> str:
    """Each of a comma-separated list of identifiers as its token, in the same order and
    with the same separators (``a, b`` stays ``<token>, <token>``)."""
    return _LIST_ITEM.sub(lambda item: token(key, item[0]), identifiers)


def mask_numbers_in_text(key: bytes, text: str) -> str:
    """Free text with every phone-number-like run of digits replaced by the token of its
    digits: an analyst's note or a credit's description may quote a number."""
    return _NUMBER_IN_TEXT.sub(lambda found: token(key, re.sub(r"\D", "", found[0])), text)


def mask_evidence(key: bytes, evidence: str) -> str:
    """A finding's or alert's evidence JSON with its identifiers as tokens.

    Values under IDENTIFIER_EVIDENCE_KEYS become tokens (a list or a comma-separated string
    element by element); every other string still has its phone-number-like digit runs
    masked, so a key added to the evidence later cannot leak a number. Text that is not
    JSON is masked as free text.
    """
    try:
        document = json.loads(evidence)
    except ValueError:
        return mask_numbers_in_text(key, evidence)
    return json.dumps(_mask_json(key, document, None), separators=(",", ":"), ensure_ascii=False)


def _mask_json(key: bytes, value: Any, name: str | None) -> Any:
    if isinstance(value, dict):
        return {field: _mask_json(key, item, field) for field, item in value.items()}
    if isinstance(value, list):
        return [_mask_json(key, item, name) for item in value]
    if isinstance(value, str):
        if name in IDENTIFIER_EVIDENCE_KEYS:
            return token_list(key, value) if "," in value else token(key, value)
        return mask_numbers_in_text(key, value)
    if name in IDENTIFIER_EVIDENCE_KEYS and isinstance(value, int) and not isinstance(value, bool):
        return token(key, str(value))
    return value
