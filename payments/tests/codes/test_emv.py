from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.money import CURRENCIES, Money
from payments.codes.emv import (
    AdditionalData,
    EmvPayload,
    EmvPayloadError,
    MerchantLanguage,
    TlvField,
    TlvTemplate,
    emv_crc,
    emv_invoice_payload,
    emv_payload_encode,
    emv_payload_parse,
)
from payments.tests.codes.vectors import load_vectors

EMV_VECTORS = load_vectors("emv_qr")
PIX_ACCOUNT = TlvTemplate("26", (TlvField("00", "br.gov.bcb.pix"), TlvField("01", "a@example.com")))


def with_crc(body: str) -> str:
    """A payload from everything before the CRC value, with a correct CRC appended."""
    return body + emv_crc(body)


def minimal_payload(**overrides) -> EmvPayload:
    values = {
        "merchant_accounts": (PIX_ACCOUNT,),
        "merchant_category_code": "5411",
        "currency_numeric": "978",
        "country_code": "DE",
        "merchant_name": "Autohaus Nord",
        "merchant_city": "Hamburg",
    }
    return EmvPayload(**(values | overrides))


def test_crc_is_ccitt_false():
    assert emv_crc("123456789") == "29B1"


@pytest.mark.parametrize("vector", EMV_VECTORS, ids=[vector["name"] for vector in EMV_VECTORS])
def test_vector_crc_and_fields(vector):
    payload = vector["payload"]
    assert payload[-8:-4] == "6304"
    assert emv_crc(payload[:-4]) == vector["crc"]
    parsed = emv_payload_parse(payload)
    assert parsed.merchant_name == vector["merchant_name"]
    assert parsed.merchant_city == vector["merchant_city"]
    assert parsed.currency_numeric == vector["currency_numeric"]
    expected_amount = None if vector["amount"] is None else Decimal(vector["amount"])
    assert parsed.amount == expected_amount
    assert emv_payload_parse(emv_payload_encode(parsed)) == parsed


def test_emvco_example_nested_templates():
    parsed = emv_payload_parse(EMV_VECTORS[0]["payload"])
    assert parsed.point_of_initiation == "12"
    assert parsed.merchant_accounts == (
        TlvTemplate("29", (TlvField("00", "D15600000000"), TlvField("05", "A93FO3230Q"))),
        TlvTemplate("31", (TlvField("00", "D15600000001"), TlvField("03", "12345678"))),
    )
    assert parsed.merchant_category_code == "4111"
    assert parsed.country_code == "CN"
    assert parsed.tip_indicator == "01"
    assert parsed.merchant_language == MerchantLanguage(
        language_preference="ZH", merchant_name="最佳运输", merchant_city="北京"
    )
    assert parsed.additional_data == AdditionalData(
        store_label="1234", customer_label="***", terminal_label="A6008667", additional_consumer_data_request="ME"
    )
    assert parsed.unreserved_templates == (
        TlvTemplate("91", (TlvField("00", "A011223344998877"), TlvField("07", "12345678"))),
    )


def test_pix_example_re_encodes_to_the_same_text():
    payload = EMV_VECTORS[1]["payload"]
    assert emv_payload_encode(emv_payload_parse(payload)) == payload


def test_lengths_count_characters_not_bytes():
    payload = emv_payload_encode(minimal_payload(merchant_name="Müller & Söhne", merchant_city="Köln"))
    assert "5914Müller & Söhne6004Köln" in payload
    assert emv_payload_parse(payload).merchant_name == "Müller & Söhne"


def test_invoice_payload_is_dynamic_and_carries_amount_currency_and_reference():
    payload = emv_invoice_payload(
        merchant_accounts=(PIX_ACCOUNT,),
        merchant_category_code="5511",
        country_code="DE",
        merchant_name="Autohaus Nord",
        merchant_city="Hamburg",
        amount=Money(123450, "EUR"),
        reference_label="INV-2025-0001",
    )
    assert payload.startswith("000201010212")
    assert "530397854071234.50" in payload
    parsed = emv_payload_parse(payload)
    assert parsed.amount == Decimal("1234.50")
    assert parsed.additional_data == AdditionalData(reference_label="INV-2025-0001")


def test_invoice_in_a_currency_without_minor_units():
    payload = emv_invoice_payload(
        merchant_accounts=(TlvField("02", "4000123412341234"),),
        merchant_category_code="5541",
        country_code="JP",
        merchant_name="Tokyo EV",
        merchant_city="Tokyo",
        amount=Money(1500, "JPY"),
    )
    assert "53033925404150058" in payload
    assert emv_payload_parse(payload).amount == Decimal(1500)


def test_lower_case_crc_is_accepted():
    payload = EMV_VECTORS[1]["payload"]
    assert emv_payload_parse(payload[:-4] + payload[-4:].lower()).merchant_name == "Fulano de Tal"


def parse_error(payload: str) -> EmvPayloadError:
    with pytest.raises(EmvPayloadError) as error:
        emv_payload_parse(payload)
    assert isinstance(error.value, ValueError)
    return error.value


def test_wrong_crc_is_refused():
    payload = EMV_VECTORS[1]["payload"]
    assert parse_error(payload[:-4] + "0000").code == "crc_mismatch"
    assert parse_error(payload.replace("BRASILIA", "BRASILIO")).code == "crc_mismatch"


@pytest.mark.parametrize(
    "payload",
    [
        "0002010102",
        "00020101AB",
        "000201010012" + "6304ABCD",
        "00020126" + "6304ABCD",
        "0X0201",
        "",
    ],
)
def test_malformed_tlv_is_refused(payload):
    assert parse_error(payload).code == "malformed_tlv"


def test_broken_nested_template_is_refused():
    body = "0002012610" + "0005ab" + "0109" + "52040000530397858" + "02DE5901A6001B6304"
    error = parse_error(with_crc(body))
    assert error.code == "malformed_tlv"
    assert error.tag == "26"


@pytest.mark.parametrize(
    ("body", "code", "tag"),
    [
        ("0002012606" + "0002ab" + "5303978" + "5802DE" + "5901A" + "6001B" + "6304", "missing_field", "52"),
        ("0002012606" + "0002ab" + "52040000" + "5303978" + "5802DE" + "6001B" + "6304", "missing_field", "59"),
        ("000201" + "52040000" + "5303978" + "5802DE" + "5901A" + "6001B" + "6304", "missing_field", "26"),
        (
            "0002012606" + "0102ab" + "52040000" + "5303978" + "5802DE" + "5901A" + "6001B" + "6304",
            "missing_field",
            "26",
        ),
        (
            "0102120002012606" + "0002ab" + "52040000" + "5303978" + "5802DE" + "5901A" + "6001B" + "6304",
            "misplaced_field",
            "00",
        ),
        (
            "0002012606" + "0002ab" + "5204000052040000" + "5303978" + "5802DE" + "5901A" + "6001B" + "6304",
            "duplicate_field",
            "52",
        ),
        (
            "0002012606" + "0002ab" + "52040000" + "530397A" + "5802DE" + "5901A" + "6001B" + "6304",
            "invalid_field",
            "53",
        ),
        (
            "0002012606" + "0002ab" + "52040000" + "5303978" + "540512,50" + "5802DE" + "5901A" + "6001B" + "6304",
            "invalid_field",
            "54",
        ),
        (
            "0002012606" + "0002ab" + "52040000" + "5303978" + "5502025802DE" + "5901A" + "6001B" + "6304",
            "invalid_field",
            "56",
        ),
        (
            "0002012606" + "0002ab" + "52040000" + "5303978" + "5802D1" + "5901A" + "6001B" + "6304",
            "invalid_field",
            "58",
        ),
        (
            "0002012606" + "0002ab" + "52040000" + "5303978" + "5802DE" + "5926" + "A" * 26 + "6001B" + "6304",
            "field_too_long",
            "59",
        ),
    ],
)
def test_payloads_breaking_field_rules_are_refused(body, code, tag):
    error = parse_error(with_crc(body))
    assert (error.code, error.tag) == (code, tag)


def test_crc_must_be_last():
    body = "0002012606" + "0002ab" + "52040000" + "5303978" + "5802DE" + "5901A" + "6001B"
    assert parse_error(body).code == "missing_field"
    assert parse_error(with_crc(body + "6304") + "6101X").code == "misplaced_field"


def test_overlong_payload_is_refused():
    assert parse_error("0" * 513).code == "payload_too_long"
    accounts = tuple(TlvTemplate(str(tag), (TlvField("00", "x" * 95),)) for tag in range(26, 32))
    with pytest.raises(EmvPayloadError) as error:
        emv_payload_encode(minimal_payload(merchant_accounts=accounts))
    assert error.value.code == "payload_too_long"


@pytest.mark.parametrize(
    ("overrides", "code", "tag"),
    [
        ({"merchant_name": "A" * 26}, "field_too_long", "59"),
        ({"merchant_city": ""}, "missing_field", "60"),
        ({"merchant_accounts": ()}, "missing_field", "26"),
        ({"merchant_accounts": (TlvTemplate("26", (TlvField("01", "x"),)),)}, "missing_field", "26"),
        ({"merchant_accounts": (TlvField("26", "x"),)}, "invalid_field", "26"),
        ({"amount": Decimal("-1")}, "invalid_field", "54"),
        ({"amount": Decimal("12345678901.25")}, "field_too_long", "54"),
        ({"tip_indicator": "02"}, "invalid_field", "56"),
        ({"point_of_initiation": "13"}, "invalid_field", "01"),
        ({"merchant_name": "line\nbreak"}, "invalid_field", "59"),
        (
            {"additional_data": AdditionalData(reference_label="R", other_fields=(TlvField("05", "S"),))},
            "invalid_field",
            "05",
        ),
    ],
)
def test_encoder_refuses_what_the_parser_would(overrides, code, tag):
    with pytest.raises(EmvPayloadError) as error:
        emv_payload_encode(minimal_payload(**overrides))
    assert (error.value.code, error.value.tag) == (code, tag)


printable_text = st.characters(codec="utf-8").filter(str.isprintable)
ascii_id = st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7E), min_size=1, max_size=32)


@st.composite
def merchant_accounts(draw):
    tags = draw(st.lists(st.integers(min_value=26, max_value=51), min_size=1, max_size=2, unique=True))
    accounts = []
    for tag in tags:
        children = [TlvField("00", draw(ascii_id))]
        if draw(st.booleans()):
            children.append(TlvField(f"{draw(st.integers(min_value=1, max_value=99)):02d}", draw(ascii_id)))
        accounts.append(TlvTemplate(str(tag), tuple(children)))
    return tuple(accounts)


emv_payloads = st.builds(
    EmvPayload,
    merchant_accounts=merchant_accounts(),
    merchant_category_code=st.integers(min_value=0, max_value=9999).map("{:04d}".format),
    currency_numeric=st.sampled_from(sorted(currency.numeric for currency in CURRENCIES.values())),
    country_code=st.sampled_from(["DE", "FR", "CN", "BR", "JP"]),
    merchant_name=st.text(printable_text, min_size=1, max_size=25),
    merchant_city=st.text(printable_text, min_size=1, max_size=15),
    amount=st.none() | st.decimals(min_value=Decimal("0.01"), max_value=Decimal("999999999.99"), places=2),
    point_of_initiation=st.sampled_from([None, "11", "12"]),
    additional_data=st.none() | st.builds(AdditionalData, reference_label=ascii_id.map(lambda text: text[:25])),
    merchant_language=st.none()
    | st.builds(
        MerchantLanguage,
        language_preference=st.sampled_from(["ZH", "DE", "ar"]),
        merchant_name=st.text(printable_text, min_size=1, max_size=25),
        merchant_city=st.none() | st.text(printable_text, min_size=1, max_size=15),
    ),
)


@given(emv_payloads)
def test_generated_payloads_parse_back_to_the_same_fields(payload):
    text = emv_payload_encode(payload)
    assert emv_payload_parse(text) == payload
    assert text.endswith("6304" + emv_crc(text[:-4]))
