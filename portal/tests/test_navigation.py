"""Every role's navigation leads to its next step; back office finds customers; terms and privacy are real pages."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from accounts.roles import Role
from conftest import login_client
from leasing.services import applications
from leasing.tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def mileage_product(db):
    return factories.mileage_lease_product()


def _nav(page: str) -> str:
    return page.split('aria-label="Main">', 1)[1].split("</nav>", 1)[0]


@pytest.mark.parametrize(
    ("role", "links"),
    [
        (Role.CUSTOMER, ["/leasing/", "/leasing/applications/", "/leasing/contracts/"]),
        (Role.DEALER, ["/leasing/applications/", "/identity/credit-checks/"]),
        (
            Role.BACK_OFFICE,
            [
                "/leasing/applications/",
                "/leasing/contracts/",
                "/back-office/customers/",
                "/leasing/back-office/products/",
                "/leasing/back-office/direct-debits/",
            ],
        ),
    ],
)
def test_each_role_is_led_to_its_pages(make_user, dealer_organisation, role, links):
    extra = {"dealer_organisation": dealer_organisation} if role == Role.DEALER else {}
    client = login_client(make_user(role, **extra))

    navigation = _nav(client.get("/").content.decode())

    for link in links:
        assert f'href="{link}"' in navigation
        assert client.get(link).status_code == 200


def test_back_office_finds_customers_by_email_application_and_contract(back_office, make_user, mileage_product):
    anna = make_user(Role.CUSTOMER, email="anna.berg@example.test")
    ben = make_user(Role.CUSTOMER, email="ben@example.test")
    make_user(Role.DEALER, email="anna.dealer@example.test")  # staff are not customers
    application = applications.application_create(customer=ben, quote_input=factories.quote_input(mileage_product))
    contract = factories.contract_active(customer=anna, back_office=back_office, product=mileage_product)
    client = login_client(back_office)

    def found(query: str) -> list[str]:
        response = client.get(reverse("portal:customer-search"), {"query": query})
        assert response.status_code == 200
        return [customer.email for customer in response.context["listing"].items]

    assert found("anna") == ["anna.berg@example.test"]
    assert found(str(application.pk)) == ["ben@example.test"]
    assert found(str(application.reference)) == ["ben@example.test"]
    assert found(contract.number) == ["anna.berg@example.test"]
    assert found("nobody") == []
    page = client.get(reverse("portal:customer-search"), {"query": "anna"}).content.decode()
    assert 'href="/leasing/contracts/?query=anna.berg%40example.test"' in page


def test_the_customer_search_pages_through_all_customers(back_office, make_user):
    for number in range(30):
        make_user(Role.CUSTOMER, email=f"c{number:02d}@example.test")
    client = login_client(back_office)

    first = client.get(reverse("portal:customer-search"))
    last = client.get(reverse("portal:customer-search"), {"page": 2})

    assert len(first.context["listing"].items) == 25 and len(last.context["listing"].items) == 5
    assert 'data-testid="pagination"' in first.content.decode()


@pytest.mark.parametrize("path", ["/terms/", "/privacy/"])
def test_terms_and_privacy_are_pages_in_the_readers_language_linked_from_every_page(path):
    english = Client(HTTP_ACCEPT_LANGUAGE="en").get(path)
    german = Client(HTTP_ACCEPT_LANGUAGE="de").get(path)

    assert english.status_code == german.status_code == 200
    assert 'lang="de"' in german.content.decode()
    assert ("Nutzungsbedingungen" if path == "/terms/" else "Datenschutzhinweis") in german.content.decode()
    footer = Client().get("/accounts/login/").content.decode().split('<footer class="site-footer">', 1)[1]
    assert f'href="{path}"' in footer
