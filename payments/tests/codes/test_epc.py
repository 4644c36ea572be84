import pytest
import zxingcpp
from hypothesis import given
from hypothesis import strategies as st
from stdnum import iban as stdnum_iban
from stdnum import iso11649

from core.money import Money
from payments.codes.epc import (
    CreditTransfer,
    EpcPayloadError,
    bic_validate,
    epc_payload_build,
    epc_payload_parse,
    epc_qr_code,
    epc_qr_svg,
    iban_validate,
    rf_reference_create,
    rf_reference_is_valid,
    rf_reference_validate,
)

# The example printed in EPC069-12 (version 001, so with a BIC).
EPC_SPEC_EXAMPLE = (
    "BCD\n001\n1\nSCT\nBPOTBEB1\nRed Cross\nBE72000000001616\nEUR1\nCHAR\n\nUrgency fund\nSample EPC QR code"
)
GOOD_LINES = ["BCD", "002", "1", "SCT", "", "Autohaus Nord GmbH", "DE89370400440532013000", "EUR12.30"]


def payload_of(lines: list[str]) -> str:
    return "\n".join(lines)


def replaced(index: int, value: str) -> str:
    lines = list(GOOD_LINES) + [""] * 4
    lines[index] = value
    return payload_of(lines)


def decoded(qr_code) -> bytes:
    """Rasterise the symbol (4 px a module, 4 modules of quiet zone) and read it back with zxing-cpp."""
    rows = [bytes(0 if dark else 255 for dark in row) for row in qr_code.matrix_iter(scale=4, border=4)]
    image = memoryview(b"".join(rows)).cast("B", (len(rows), len(rows[0])))
    barcodes = zxingcpp.read_barcodes(image)
    assert len(barcodes) == 1
    return barcodes[0].bytes


def test_rf_reference_create_matches_the_iso_11649_example():
    assert rf_reference_create(reference="539007547034") == "RF18539007547034"
    assert rf_reference_create(reference="5390 0754 7034") == "RF18539007547034"
    assert rf_reference_create(reference="invoice42") == "RF72INVOICE42"


def test_rf_reference_validate_accepts_spaced_and_lower_case_forms():
    assert rf_reference_validate("rf18 5390 0754 7034") == "RF18539007547034"
    assert rf_reference_is_valid("RF18539007547034")


@pytest.mark.parametrize(
    "reference", ["RF19539007547034", "RF18539007547035", "RF1853900754703", "RF18", "XX18539007547034", "RF18-5390"]
)
def test_rf_reference_validate_refuses_bad_references(reference):
    assert not rf_reference_is_valid(reference)
    with pytest.raises(EpcPayloadError) as error:
        rf_reference_validate(reference)
    assert error.value.code == "invalid_creditor_reference"


@pytest.mark.parametrize("body", ["", "A" * 22, "INV/42", "ÄBC"])
def test_rf_reference_create_refuses_bodies_outside_the_alphabet(body):
    with pytest.raises(EpcPayloadError) as error:
        rf_reference_create(reference=body)
    assert error.value.code == "invalid_creditor_reference"


@given(st.text(st.sampled_from("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"), min_size=1, max_size=21))
def test_created_rf_references_validate_here_and_in_python_stdnum(body):
    reference = rf_reference_create(reference=body)
    assert reference[4:] == body
    assert rf_reference_validate(reference) == reference
    assert iso11649.is_valid(reference)


def test_iban_and_bic_validation():
    assert iban_validate("de89 3704 0044 0532 0130 00") == "DE89370400440532013000"
    assert bic_validate("deutdeff500") == "DEUTDEFF500"
    for bad_iban in ("DE88370400440532013000", "DE8937040044053201300", "XX89370400440532013000", ""):
        with pytest.raises(EpcPayloadError) as error:
            iban_validate(bad_iban)
        assert error.value.code == "invalid_iban"
    for bad_bic in ("DEUT", "DEUTDEFF5", "1EUTDEFF"):
        with pytest.raises(EpcPayloadError) as error:
            bic_validate(bad_bic)
        assert error.value.code == "invalid_bic"


def test_the_epc_specification_example_parses():
    transfer = epc_payload_parse(EPC_SPEC_EXAMPLE)
    assert transfer == CreditTransfer(
        bic="BPOTBEB1",
        beneficiary_name="Red Cross",
        iban="BE72000000001616",
        amount=Money(100, "EUR"),
        purpose="CHAR",
        remittance_text="Urgency fund",
        information="Sample EPC QR code",
    )
    assert epc_payload_parse(EPC_SPEC_EXAMPLE.replace("\n", "\r\n")) == transfer


def test_build_writes_version_002_with_two_decimals_and_no_trailing_lines():
    transfer = CreditTransfer(
        beneficiary_name="Autohaus Nord GmbH",
        iban="DE89 3704 0044 0532 0130 00",
        amount=Money(1230, "EUR"),
        creditor_reference=rf_reference_create(reference="INV2025001"),
    )
    assert epc_payload_build(transfer) == payload_of(
        ["BCD", "002", "1", "SCT", "", "Autohaus Nord GmbH", "DE89370400440532013000", "EUR12.30", "", "RF44INV2025001"]
    )
    assert epc_payload_build(CreditTransfer(beneficiary_name="A", iban="BE72000000001616")) == payload_of(
        ["BCD", "002", "1", "SCT", "", "A", "BE72000000001616"]
    )


def test_round_trip_keeps_a_non_ascii_name():
    transfer = CreditTransfer(beneficiary_name="Müller & Söhne Kraftfahrzeuge", iban="DE89370400440532013000")
    assert epc_payload_parse(epc_payload_build(transfer)) == transfer


@pytest.mark.parametrize(
    ("payload", "code"),
    [
        (payload_of(["BCD", "002", "1", "SCT", ""]), "malformed_payload"),
        (payload_of(["XYZ", *GOOD_LINES[1:]]), "malformed_payload"),
        (payload_of([*GOOD_LINES, "", "", "", "", "extra"]), "malformed_payload"),
        (replaced(1, "003"), "unsupported_version"),
        (replaced(2, "2"), "unsupported_character_set"),
        (replaced(3, "INST"), "unsupported_identification"),
        (replaced(1, "001"), "missing_field"),
        (replaced(4, "DEUT"), "invalid_bic"),
        (replaced(5, ""), "missing_field"),
        (replaced(5, "N" * 71), "field_too_long"),
        (replaced(6, "DE88370400440532013000"), "invalid_iban"),
        (replaced(7, "EUR12,30"), "invalid_amount"),
        (replaced(7, "EUR12.345"), "invalid_amount"),
        (replaced(7, "USD12.30"), "invalid_amount"),
        (replaced(7, "EUR0.00"), "invalid_amount"),
        (replaced(7, "EUR1000000000"), "invalid_amount"),
        (replaced(8, "char"), "invalid_purpose"),
        (replaced(9, "RF19539007547034"), "invalid_creditor_reference"),
        (payload_of([*GOOD_LINES, "", "RF18539007547034", "Invoice 42"]), "remittance_conflict"),
        (replaced(10, "x" * 141), "field_too_long"),
        (replaced(10, "€" * 140), "payload_too_long"),
    ],
)
def test_malformed_payloads_raise_named_errors(payload, code):
    with pytest.raises(EpcPayloadError) as error:
        epc_payload_parse(payload)
    assert error.value.code == code
    assert isinstance(error.value, ValueError)


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        ({"amount": Money(1230, "USD")}, "invalid_amount"),
        ({"amount": Money(0, "EUR")}, "invalid_amount"),
        ({"beneficiary_name": "Line\nbreak"}, "invalid_field"),
        ({"beneficiary_name": " padded"}, "invalid_field"),
        ({"information": "x" * 71}, "field_too_long"),
        ({"remittance_text": "x" * 140, "information": "€" * 70}, "payload_too_long"),
    ],
)
def test_transfers_that_cannot_be_encoded_are_refused(changes, code):
    values = {"beneficiary_name": "Autohaus Nord GmbH", "iban": "DE89370400440532013000"} | changes
    with pytest.raises(EpcPayloadError) as error:
        epc_payload_build(CreditTransfer(**values))
    assert error.value.code == code


def test_qr_code_decodes_to_the_payload_and_renders_as_svg():
    transfer = CreditTransfer(
        beneficiary_name="Müller Autohaus GmbH",
        iban="DE89370400440532013000",
        bic="COBADEFFXXX",
        amount=Money(3999900, "EUR"),
        remittance_text="Lease 2025-0042 down payment",
    )
    payload = epc_payload_build(transfer)
    qr_code = epc_qr_code(payload)
    assert qr_code.error == "M"
    assert qr_code.version <= 13
    assert decoded(qr_code).decode("utf-8") == payload
    svg = epc_qr_svg(payload)
    assert svg.startswith("<svg")
    assert "<title>SEPA credit transfer QR code</title>" in svg


def test_qr_code_refuses_an_invalid_payload():
    with pytest.raises(EpcPayloadError) as error:
        epc_qr_svg(replaced(6, "DE88370400440532013000"))
    assert error.value.code == "invalid_iban"


short_text = st.text(st.characters(codec="utf-8", max_codepoint=0x7FF).filter(str.isprintable), min_size=1)


def trimmed(max_size: int):
    return short_text.map(lambda text: text[:max_size].strip()).filter(bool)


@st.composite
def german_ibans(draw):
    bban = draw(st.text(st.sampled_from("0123456789"), min_size=18, max_size=18))
    return f"DE{stdnum_iban.calc_check_digits('DE00' + bban)}{bban}"


@st.composite
def transfers(draw):
    remittance = draw(st.sampled_from(["reference", "text", "none"]))
    reference_body = draw(st.text(st.sampled_from("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"), min_size=1, max_size=21))
    return CreditTransfer(
        beneficiary_name=draw(trimmed(40)),
        iban=draw(german_ibans()),
        bic=draw(st.sampled_from([None, "COBADEFFXXX", "DEUTDEFF"])),
        amount=draw(st.none() | st.integers(min_value=1, max_value=99_999_999_999).map(lambda c: Money(c, "EUR"))),
        purpose=draw(st.sampled_from([None, "GDDS", "SUPP"])),
        creditor_reference=rf_reference_create(reference=reference_body) if remittance == "reference" else None,
        remittance_text=draw(trimmed(60)) if remittance == "text" else None,
        information=draw(st.none() | trimmed(20)),
    )


@given(transfers())
def test_built_payloads_parse_back_to_the_same_transfer(transfer):
    assert epc_payload_parse(epc_payload_build(transfer)) == transfer


def test_rf_references_are_checked_by_python_stdnum_not_by_a_hand_written_mod_97(monkeypatch):
    """ISO 11649 is python-stdnum's: the portal keeps no arithmetic of its own that could drift from it."""
    from payments.codes import epc

    seen = []
    original = iso11649.validate

    def spy(number: str) -> str:
        seen.append(number)
        return original(number)

    monkeypatch.setattr(epc.stdnum_iso11649, "validate", spy)
    assert rf_reference_validate("RF18 5390 0754 7034") == "RF18539007547034"
    assert seen == ["RF18539007547034"]
    assert not hasattr(epc, "_mod97_digits")
