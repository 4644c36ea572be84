import pytest

pytestmark = pytest.mark.django_db


def test_back_office_dashboard_shows_settlement_and_ledger_panels(client_for, back_office):
    response = client_for(back_office).get("/")

    titles = [panel.title for panel in response.context["panels"]]
    assert titles == ["Settlement", "Ledger", "Accounts and transfers"]
    assert response.context["panels"][0].figure == "0 due"
    assert b'href="/payments/ledger/reconciliation/"' in response.content


def test_each_role_sees_only_its_own_dashboard(client_for, customer, dealer):
    customer_page = client_for(customer).get("/")
    dealer_page = client_for(dealer).get("/")

    assert customer_page.templates[0].name == "portal/dashboard_customer.html"
    assert dealer_page.templates[0].name == "portal/dashboard_dealer.html"
    assert dealer.dealer_organisation.name in dealer_page.content.decode()
    assert b"Settlement" not in customer_page.content and b"Settlement" not in dealer_page.content
