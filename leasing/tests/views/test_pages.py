"""Leasing pages: the calculator, the customer's own contract, back-office product management."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from leasing.models import LeaseProduct, Quote, ReturnedDebitImport
from leasing.tests import factories, sepa_support

pytestmark = pytest.mark.django_db


def test_the_calculator_stores_a_quote_and_shows_chart_and_aprc(client, mileage_product):
    response = client.post(
        "/leasing/",
        {
            "product": "mileage-36",
            "price": "30000",
            "down_payment": "3000",
            "term_months": "36",
            "yearly_km": "15000",
            "timing": "in_arrears",
        },
    )

    quote = Quote.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/leasing/quotes/{quote.public_id}/"
    page = client.get(response["Location"]).content.decode()
    assert "<svg" in page
    assert "<script>" not in page  # the chart is SVG drawn on the server; scripts on the page are external files only
    assert f"{quote.aprc_percent} %" in page


def test_the_calculator_shows_a_refusal_next_to_the_field(client, mileage_product):
    response = client.post(
        "/leasing/",
        {
            "product": "mileage-36",
            "price": "30000",
            "down_payment": "0",
            "term_months": "99",
            "yearly_km": "15000",
            "timing": "in_arrears",
        },
    )

    assert response.status_code == 400
    assert 'id="id_term_months_error"' in response.content.decode()
    assert Quote.objects.count() == 0


def test_the_calculator_refuses_a_lease_leaving_one_cent_to_repay_next_to_the_down_payment(client):
    factories.short_product()

    response = client.post(
        "/leasing/",
        {
            "product": "short-0",
            "price": "402.42",
            "down_payment": "201.20",
            "term_months": "2",
            "yearly_km": "5000",
            "timing": "in_advance",
        },
    )

    page = response.content.decode()
    assert response.status_code == 400
    assert 'id="id_down_payment_error"' in page
    assert "Too little is left to repay each month." in page
    assert "leave €0.01 to repay over 2 months" in page
    assert "repayment_too_small" not in page
    assert Quote.objects.count() == 0


def test_a_customer_sees_their_own_contract_and_not_anothers(
    client_for, customer, make_user, back_office, loan_product
):
    contract = factories.contract_active(customer=customer, back_office=back_office, product=loan_product)
    other = make_user()

    assert client_for(customer).get(f"/leasing/contracts/{contract.pk}/").status_code == 200
    assert client_for(other).get(f"/leasing/contracts/{contract.pk}/").status_code == 404
    assert client_for(other).get(f"/api/leasing/contracts/{contract.pk}").status_code == 404
    listed = client_for(customer).get("/api/leasing/contracts").json()
    assert [row["number"] for row in listed] == [contract.number]
    assert client_for(other).get("/api/leasing/contracts").json() == []


def test_back_office_creates_a_product_with_mileage_bands(client_for, back_office):
    response = client_for(back_office).post(
        "/leasing/back-office/products/new/",
        {
            "code": "new-lease",
            "name": "New lease",
            "kind": "mileage_lease",
            "nominal_rate_percent": "2.9",
            "arrangement_fee": "0",
            "min_term_months": "24",
            "max_term_months": "48",
            "min_price": "10000",
            "max_price": "90000",
            "max_residual_percent": "0",
            "excess_km_rate": "0.09",
            "unused_km_rate": "0.05",
            "tolerance_kind": "allowance",
            "tolerance_km": "1000",
            "mileage_bands": "10000:52, 20000:44",
            "is_active": "on",
        },
    )

    assert response.status_code == 302
    product = LeaseProduct.objects.get(code="new-lease")
    assert list(product.mileage_bands.values_list("yearly_km", flat=True)) == [10_000, 20_000]
    assert (product.min_price, product.tolerance_kind) == (10_000_00, "allowance")
    assert (product.excess_km_rate, product.unused_km_rate) == (9, 5)  # typed in euros, kept in cents


def test_a_lease_without_mileage_bands_is_refused(client_for, back_office):
    response = client_for(back_office).post(
        "/leasing/back-office/products/new/",
        {
            "code": "bad",
            "name": "Bad",
            "kind": "mileage_lease",
            "nominal_rate_percent": "2.9",
            "arrangement_fee": "0",
            "min_term_months": "24",
            "max_term_months": "48",
            "min_price": "10000",
            "max_price": "90000",
            "max_residual_percent": "0",
            "excess_km_rate": "0.09",
            "unused_km_rate": "0.05",
            "tolerance_kind": "allowance",
            "tolerance_km": "0",
            "mileage_bands": "",
        },
    )

    assert response.status_code == 400
    assert LeaseProduct.objects.count() == 0


def test_staff_download_a_valid_pain_008_file(client_for, customer, back_office, loan_product):
    contract = sepa_support.sepa_contract(customer=customer, back_office=back_office, product=loan_product)
    batch_id = sepa_support.batch_built(contract=contract)

    response = client_for(back_office).get(f"/leasing/back-office/direct-debits/{batch_id}/pain008.xml")

    assert response.status_code == 200
    assert b"urn:iso:std:iso:20022:tech:xsd:pain.008.001.02" in response.content


def test_staff_import_a_camt_054_and_see_the_reason_in_words(client_for, customer, back_office, loan_product):
    contract = sepa_support.sepa_contract(customer=customer, back_office=back_office, product=loan_product)
    sepa_support.batch_built(contract=contract)
    instalment = contract.collections.order_by("-amount").first()
    content = sepa_support.camt054(message_id="NTF-PAGE-1", returns=[(instalment, "MD06")])
    client = client_for(back_office)

    response = client.post(
        "/leasing/back-office/direct-debits/", {"file": SimpleUploadedFile("camt054.xml", content, "application/xml")}
    )
    page = client.get("/leasing/back-office/direct-debits/").content.decode()

    assert response.status_code == 302
    instalment.refresh_from_db()
    assert (instalment.status, instalment.return_reason) == ("returned", "MD06")
    assert "Refund requested by the debtor (authorised debit) (MD06)" in page
    assert instalment.end_to_end_id in page


def test_staff_upload_of_a_bad_bank_file_is_refused_with_its_reason_and_books_nothing(
    client_for, customer, back_office, loan_product
):
    contract = sepa_support.sepa_contract(customer=customer, back_office=back_office, product=loan_product)
    sepa_support.batch_built(contract=contract)
    csv_file = SimpleUploadedFile("returns.csv", b"end_to_end_id,amount,reason_code\nX,1.00,AM04\n", "text/csv")

    response = client_for(back_office).post("/leasing/back-office/direct-debits/", {"file": csv_file})

    assert response.status_code == 400
    assert "not well-formed XML" in response.content.decode()
    assert set(contract.collections.values_list("status", flat=True)) == {"submitted"}
    assert ReturnedDebitImport.objects.count() == 0
