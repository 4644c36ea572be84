"""Documents and e-mails of a lease are written in the customer's language, whoever's request produced them."""

from __future__ import annotations

import pytest
from django.core import mail
from django.utils import timezone, translation

from leasing import documents
from leasing.models import Contract
from leasing.tests import sepa_support

pytestmark = pytest.mark.django_db


def _german(customer):
    customer.language = "de"
    customer.save(update_fields=["language"])
    return customer


def test_a_german_customers_contract_document_is_german_though_an_english_back_office_wrote_it(
    customer, back_office, loan_product, monkeypatch
):
    written = []
    original = documents.contract_pdf

    def capture(**kwargs):
        written.append(kwargs)
        return original(**kwargs)

    monkeypatch.setattr(documents, "contract_pdf", capture)
    with translation.override("en"):
        contract = sepa_support.sepa_contract(customer=_german(customer), back_office=back_office, product=loan_product)

    facts = dict(written[-1]["facts"])
    assert Contract.objects.get(pk=contract.pk).document_sha256 == contract.document_sha256
    assert facts["Vertragsnummer"] == contract.number
    assert facts["Kunde"] == customer.email
    assert facts["Finanzierter Betrag"].endswith("\xa0€") and "," in facts["Finanzierter Betrag"]
    assert any(clause.startswith("Zahlungsverzug:") for clause in written[-1]["clauses"])
    assert "customer" not in " ".join(f"{label} {value}" for label, value in written[-1]["facts"])


def test_an_english_customers_contract_document_stays_english(customer, back_office, loan_product, monkeypatch):
    written = []
    original = documents.contract_pdf
    monkeypatch.setattr(documents, "contract_pdf", lambda **kwargs: written.append(kwargs) or original(**kwargs))
    with translation.override("de"):
        contract = sepa_support.sepa_contract(customer=customer, back_office=back_office, product=loan_product)

    facts = dict(written[-1]["facts"])
    assert facts["Contract number"] == contract.number
    assert facts["Amount financed"].startswith("€")


def test_the_direct_debit_announcement_reaches_a_german_customer_in_german(
    customer, back_office, loan_product, django_capture_on_commit_callbacks
):
    sepa_support.sepa_contract(customer=_german(customer), back_office=back_office, product=loan_product)
    mail.outbox.clear()

    sepa_support.notices_sent(on=timezone.localdate(), capture=django_capture_on_commit_callbacks)

    assert mail.outbox, "no announcement was sent"
    message = mail.outbox[0]
    assert message.subject.startswith("Vorabankündigung der Lastschrift für Vertrag ")
    assert "per SEPA-Lastschrift von Ihrem Konto ein" in message.body
    assert "\xa0€" in message.body and "Mandatsreferenz:" in message.body
