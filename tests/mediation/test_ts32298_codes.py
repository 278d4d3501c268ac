"""The TS 32.298 code tables written out for the fast path equal pycrate's compiled modules."""

from __future__ import annotations

from pycrate_asn1dir import CDR

from pipelines.formats import ts32298
from pipelines.mediation import ts32298_codes

_PGW = CDR.GPRSChargingDataTypes.GPRSRecord._cont["pGWRecord"]


def _codes(enumerated: object) -> dict[str, int]:
    return dict(enumerated._cont)  # type: ignore[attr-defined]


def test_cause_names_are_pycrates() -> None:
    generic = CDR.GenericChargingDataTypes
    assert {
        code: name for name, code in _codes(generic.CauseForTerm).items()
    } == ts32298_codes.CAUSE_FOR_TERM_NAMES
    assert {
        code: name for name, code in _codes(generic.CauseForRecClosing).items()
    } == ts32298_codes.CAUSE_FOR_REC_CLOSING_NAMES


def test_partial_causes_are_those_the_encoder_module_derives() -> None:
    assert ts32298_codes.CAUSE_FOR_TERM_NAMES == ts32298.CAUSE_FOR_TERM_NAMES
    assert ts32298_codes.CAUSE_FOR_REC_CLOSING_NAMES == ts32298.CAUSE_FOR_REC_CLOSING_NAMES
    assert ts32298_codes.PARTIAL_CLOSING_CAUSES == ts32298.PARTIAL_CLOSING_CAUSES
    assert ts32298_codes.CALL_PARTIAL_CAUSES == ts32298.CALL_PARTIAL_CAUSES


def test_pgw_enumerations_are_pycrates() -> None:
    condition = _PGW._cont["listOfTrafficVolumes"]._cont._cont["changeCondition"]
    assert frozenset(_codes(condition).values()) == ts32298_codes.CHANGE_CONDITION_CODES
    node_type = _PGW._cont["servingNodeType"]._cont
    assert frozenset(_codes(node_type).values()) == ts32298_codes.SERVING_NODE_TYPE_CODES


def test_record_types_name_the_alternatives_the_encoder_writes() -> None:
    assert {
        record_type: alternative
        for alternative, (record_type, _, _) in ts32298_codes.RECORD_TYPES.items()
    } == ts32298.ALTERNATIVES
    names = {*CDR.CSChargingDataTypes.CSRecord._cont, *CDR.GPRSChargingDataTypes.GPRSRecord._cont}
    assert set(ts32298_codes.RECORD_TYPES) <= names
