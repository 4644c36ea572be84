"""Application and contract lists with search and pages, the next step an application page offers (and its status
poll), and the confirmation before declining or terminating."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.roles import Role
from conftest import login_client
from leasing.models import Application, ApplicationStatus, Quote
from leasing.services import applications, changes
from leasing.tests import factories

pytestmark = pytest.mark.django_db


def _apply(customer, product, organisation=None) -> Application:
    return applications.application_create(
        customer=customer, quote_input=factories.quote_input(product), dealer_organisation=organisation
    )


def test_a_dealer_finds_applications_by_number_email_and_status_and_ties_a_credit_check(
    dealer, make_user, mileage_product
):
    anna = make_user(Role.CUSTOMER, email="anna@example.test")
    ben = make_user(Role.CUSTOMER, email="ben@example.test")
    first = _apply(anna, mileage_product, dealer.dealer_organisation)
    second = _apply(ben, mileage_product, dealer.dealer_organisation)
    elsewhere = _apply(ben, mileage_product)  # no dealer: not this dealer's
    applications.application_credit_verdict_record(
        application_id=second.pk, verdict="approved", source="credential", external_reference="check-1"
    )
    client = login_client(dealer)
    url = reverse("leasing:application-list")

    def numbers(**query) -> list[int]:
        response = client.get(url, query)
        assert response.status_code == 200
        return [application.pk for application in response.context["listing"].items]

    assert numbers() == [second.pk, first.pk]
    assert numbers(query=str(first.pk)) == [first.pk]
    assert numbers(query="BEN@example") == [second.pk]
    assert numbers(query=str(first.reference)[:8]) == [first.pk]
    assert numbers(status="decision_pending") == [second.pk]
    assert numbers(query=str(elsewhere.pk)) == []
    page = client.get(url).content.decode()
    assert f'href="/identity/credit-checks/?lease_application_id={first.pk}"' in page
    detail = client.get(reverse("leasing:application-detail", args=[first.pk])).content.decode()
    assert f'href="/identity/credit-checks/?lease_application_id={first.pk}"' in detail
    # The credit-check form arrives with the application number filled in.
    form = client.get(f"/identity/credit-checks/?lease_application_id={first.pk}").content.decode()
    assert f'name="lease_application_id" value="{first.pk}"' in form


def test_the_application_list_pages_through_and_keeps_the_search(back_office, make_user, mileage_product):
    customer = make_user(Role.CUSTOMER, email="many@example.test")
    for _ in range(27):
        _apply(customer, mileage_product)
    client = login_client(back_office)

    first = client.get(reverse("leasing:application-list"), {"query": "many@"})
    second = client.get(reverse("leasing:application-list"), {"query": "many@", "page": 2})

    assert len(first.context["listing"].items) == 25 and len(second.context["listing"].items) == 2
    assert 'href="?query=many%40&amp;page=2"' in first.content.decode()
    assert (
        len(
            {application.pk for application in first.context["listing"].items}
            | {application.pk for application in second.context["listing"].items}
        )
        == 27
    )


def test_an_unknown_status_is_answered_next_to_the_field_in_german(customer):
    client = login_client(customer)
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "de"

    response = client.get(reverse("leasing:application-list"), {"status": "nonsense"})

    assert response.status_code == 400
    page = response.content.decode()
    assert 'id="id_status_error"' in page and "Bitte eine gültige Auswahl treffen." in page


@pytest.mark.parametrize(
    ("role", "text", "link"),
    [
        (Role.CUSTOMER, "You have not applied for a lease yet.", 'href="/leasing/"'),
        (Role.DEALER, "as soon as a customer applies through your dealership", ""),
        (Role.BACK_OFFICE, "Customers apply from a lease quote.", ""),
    ],
)
def test_empty_lists_say_what_to_do_next(make_user, dealer_organisation, role, text, link):
    extra = {"dealer_organisation": dealer_organisation} if role == Role.DEALER else {}
    client = login_client(make_user(role, **extra))

    page = client.get(reverse("leasing:application-list")).content.decode()
    contracts = client.get(reverse("leasing:contract-list")).content.decode()

    assert text in page and link in page
    assert 'data-testid="empty-state"' in contracts and "/leasing/applications/" in contracts


def test_the_contract_list_finds_by_number_and_customer(back_office, make_user, mileage_product):
    customer = make_user(Role.CUSTOMER, email="lease@example.test")
    contract = factories.contract_active(customer=customer, back_office=back_office, product=mileage_product)
    client = login_client(back_office)

    by_number = client.get(reverse("leasing:contract-list"), {"query": contract.number})
    by_email = client.get(reverse("leasing:contract-list"), {"query": "lease@"})
    nobody = client.get(reverse("leasing:contract-list"), {"query": "nobody@"})

    assert [item.pk for item in by_number.context["listing"].items] == [contract.pk]
    assert [item.pk for item in by_email.context["listing"].items] == [contract.pk]
    assert "No contract matches your search." in nobody.content.decode()


def test_a_pending_application_tells_the_customer_what_happens_and_updates_itself(
    customer, back_office, mileage_product
):
    application = _apply(customer, mileage_product)
    client = login_client(customer)

    page = client.get(reverse("leasing:application-detail", args=[application.pk])).content.decode()
    status_url = reverse("leasing:application-status", args=[application.pk])
    before = client.get(status_url).json()["status"]

    assert 'data-testid="next-step"' in page and "/identity/wallet/" in page
    assert f'data-status-url="{status_url}"' in page and f'data-status="{before}"' in page
    assert "js/refresh.js" in page and "<script>" not in page
    applications.application_credit_verdict_record(
        application_id=application.pk, verdict="approved", source="credential", external_reference="check-1"
    )
    after = client.get(status_url)
    assert after.json()["status"] != before and after["Cache-Control"] == "no-store"
    assert after.json()["status"].startswith("decision_pending")
    # Back office decides on this page: it must not reload under their hands.
    staff_page = login_client(back_office).get(reverse("leasing:application-detail", args=[application.pk]))
    assert "data-status-url" not in staff_page.content.decode()


def test_the_status_of_someone_elses_application_is_hidden(customer, make_user, mileage_product):
    application = _apply(make_user(Role.CUSTOMER), mileage_product)

    assert login_client(customer).get(reverse("leasing:application-status", args=[application.pk])).status_code == 404
    assert Client().get(reverse("leasing:application-status", args=[application.pk])).status_code == 302


def test_declining_asks_for_confirmation_first(customer, back_office, mileage_product):
    application = _apply(customer, mileage_product)
    applications.application_credit_verdict_record(
        application_id=application.pk, verdict="approved", source="credential", external_reference="check-1"
    )
    client = login_client(back_office)
    url = reverse("leasing:application-decline", args=[application.pk])

    question = client.post(url, {"decline-reason": "Income too low"})
    application.refresh_from_db()
    assert question.status_code == 200 and 'data-testid="confirm"' in question.content.decode()
    assert "Income too low" in question.content.decode()
    assert application.status == ApplicationStatus.DECISION_PENDING

    done = client.post(url, {"decline-reason": "Income too low", "confirmed": "yes"})
    application.refresh_from_db()
    assert done.status_code == 302 and application.status == ApplicationStatus.DECLINED


def test_terminating_early_asks_for_confirmation_first(customer, back_office, mileage_product):
    contract = factories.contract_active(customer=customer, back_office=back_office, product=mileage_product)
    quote = changes.payoff_quote_create(
        contract_id=contract.pk, payoff_date=timezone.localdate(), created_by=back_office
    )
    client = login_client(back_office)
    url = reverse("leasing:contract-terminate", args=[contract.pk])

    question = client.post(url, {"payoff_quote": quote.pk})
    contract.refresh_from_db()
    assert question.status_code == 200 and 'data-testid="confirm"' in question.content.decode()
    assert contract.status == "active"


def test_the_calculator_offers_packages_to_tick_and_a_date_picker(client, mileage_product):
    page = client.get(reverse("leasing:quote-calculator")).content.decode()

    assert 'type="date"' in page and 'name="start_date"' in page
    assert "comma separated" not in page and "<legend>Service packages</legend>" in page
    assert 'type="checkbox" name="service_packages" value="mileage-36-maintenance"' in page

    response = client.post(
        reverse("leasing:quote-calculator"),
        {
            "product": "mileage-36",
            "price": "30000",
            "down_payment": "0",
            "term_months": "36",
            "yearly_km": "15000",
            "timing": "in_arrears",
            "start_date": "2027-01-01",
            "service_packages": ["mileage-36-maintenance"],
        },
    )

    assert response.status_code == 302
    quote = Quote.objects.get()
    assert [package.code for package in quote.service_packages.all()] == ["mileage-36-maintenance"]
    assert quote.start_date.isoformat() == "2027-01-01"


def test_a_package_that_does_not_exist_is_answered_next_to_its_field(client, mileage_product):
    response = client.post(
        reverse("leasing:quote-calculator"),
        {"product": "mileage-36", "price": "30000", "down_payment": "0", "term_months": "36", "yearly_km": "15000",
         "timing": "in_arrears", "service_packages": ["no-such-package"]},
    )  # fmt: skip

    assert response.status_code == 400
    assert 'id="id_service_packages_error"' in response.content.decode()
    assert Quote.objects.count() == 0


def test_the_calculator_reads_each_list_once_in_plain_queries(client, mileage_product, loan_product):
    # The products the page lists are also the form's options (not fetched again), and the options come from plain
    # queries, not a server-side cursor (DECLARE, FETCH and CLOSE: three round trips for a handful of rows).
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client.get(reverse("leasing:quote-calculator"))
    with CaptureQueriesContext(connection) as queries:
        page = client.get(reverse("leasing:quote-calculator")).content.decode()

    statements = [query["sql"] for query in queries.captured_queries]
    assert len(statements) == 4, statements  # products, their mileage bands, their packages, the packages offered
    assert not any(statement.startswith("DECLARE") for statement in statements)
    assert f'<option value="{mileage_product.code}">' in page and f'<option value="{loan_product.code}">' in page
    assert 'value="mileage-36-maintenance"' in page


def test_an_inactive_product_is_refused_next_to_its_field(client, mileage_product, loan_product):
    loan_product.is_active = False
    loan_product.save(update_fields=["is_active"])

    response = client.post(
        reverse("leasing:quote-calculator"),
        {"product": loan_product.code, "price": "30000", "down_payment": "0", "term_months": "36",
         "timing": "in_arrears"},
    )  # fmt: skip

    assert response.status_code == 400
    assert 'id="id_product_error"' in response.content.decode()
    assert f'<option value="{loan_product.code}"' not in response.content.decode()
    assert Quote.objects.count() == 0
