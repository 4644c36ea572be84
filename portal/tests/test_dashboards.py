import pytest

pytestmark = pytest.mark.django_db


def test_back_office_dashboard_shows_the_work_queues(client_for, back_office):
    response = client_for(back_office).get("/")

    titles = [panel.title for panel in response.context["panels"]]
    assert titles == [
        "Settlement",
        "Ledger",
        "Accounts and transfers",
        "Applications waiting",
        "Credit checks to review",
        "Arrears",
        "Tangle anchoring",
        "Trust registry",
        "Bank statements",
    ]
    assert response.context["panels"][0].figure == "0 due"
    assert b'href="/payments/ledger/reconciliation/"' in response.content


def test_customer_and_dealer_dashboards_show_their_own_panels(client_for, customer, dealer):
    customer_page = client_for(customer).get("/")
    dealer_page = client_for(dealer).get("/")

    assert customer_page.templates[0].name == "portal/dashboard_customer.html"
    assert [panel.title for panel in customer_page.context["panels"]] == [
        "QR payment codes",
        "Buy a code",
        "My leases",
        "My credential wallet",
        "My vehicles",
    ]
    assert dealer_page.templates[0].name == "portal/dashboard_dealer.html"
    assert dealer.dealer_organisation.name in dealer_page.content.decode()
    assert [panel.title for panel in dealer_page.context["panels"]][:3] == [
        "Redeem a code",
        "Credit checks",
        "Redemptions and payouts",
    ]
    assert b"Settlement" not in customer_page.content and b"Settlement" not in dealer_page.content


def test_navigation_follows_the_role(client, client_for, customer, back_office):
    anonymous_links = [label for label, _ in client.get("/").context["nav_links"]]
    customer_links = [label for label, _ in client_for(customer).get("/").context["nav_links"]]
    staff_links = [label for label, _ in client_for(back_office).get("/").context["nav_links"]]

    assert anonymous_links == ["Home", "Lease calculator"]
    assert customer_links == [
        "Home",
        "Shop",
        "My codes",
        "Lease calculator",
        "Applications",
        "Leasing",
        "Wallet",
        "Payment history",
        "Vehicles",
    ]
    assert "Ledger" in staff_links and "Shop" not in staff_links
