"""The credit-check pages speak the reader's language: forms, refusals next to their fields, the disclosure screen."""

from __future__ import annotations

import pytest

from credit_checks.models import CreditCheckRequest
from credit_checks.services import credit_check_request_create

pytestmark = pytest.mark.django_db


def test_the_dealer_page_and_its_refusals_are_in_german(client_for, dealer):
    client = client_for(dealer)
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "de"

    page = client.get("/identity/credit-checks/").content.decode()
    refused = client.post(
        "/identity/credit-checks/", {"purpose": "lease", "instalment": "0", "currency": "EUR", "term_months": "500"}
    )

    assert "Neue Bonitätsprüfung" in page and "Monatliche Rate" in page and "Noch keine Bonitätsprüfung." in page
    assert refused.status_code == 400
    body = refused.content.decode()
    assert 'id="id_term_months_error"' in body and 'id="id_instalment_error"' in body
    assert "Dieser Wert muss kleiner oder gleich 120 sein." in body
    assert CreditCheckRequest.objects.count() == 0


def test_the_customer_sees_what_would_be_shared_in_german(client_for, dealer, customer):
    request = credit_check_request_create(
        dealer_user=dealer, purpose="lease", amount=450_00, currency="EUR", term_months=36
    )
    client = client_for(customer)
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "de"

    page = client.get(f"/identity/credit-checks/respond/{request.link_token}/").content.decode()

    assert f"Bonitätsergebnisse mit {dealer.dealer_organisation.name} teilen?" in page
    assert "450,00\xa0€" in page and "Leasing" in page
    assert "Ich stimme zu: diese beiden Ergebnisse teilen" in page
    assert (
        'data-text-credit-history-credential="Bonitätsauskunft"' in page
        or "data-text-credit-history-credential" in page
    )
