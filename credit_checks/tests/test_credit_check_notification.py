"""A dealer's credit check for a lease application tells that application's customer, with the link and nothing
else; a request naming another dealer's application, or none, tells nobody."""

from __future__ import annotations

import pytest

from accounts.notifications import NOTIFICATION_TOPIC
from accounts.roles import Role
from accounts.tests.factories import DealerOrganisationFactory
from core.models import OutboxMessage
from credit_checks.services import credit_check_request_create
from leasing.services import applications
from leasing.tests import factories as leasing_factories

pytestmark = pytest.mark.django_db


def _application(*, customer, dealer_organisation):
    return applications.application_create(
        customer=customer,
        quote_input=leasing_factories.quote_input(leasing_factories.loan_product()),
        dealer_organisation=dealer_organisation,
    )


def _request(*, dealer, application_id):
    return credit_check_request_create(
        dealer_user=dealer,
        purpose="financing",
        amount=399_00,
        currency="EUR",
        term_months=36,
        lease_application_id=application_id,
    )


def test_the_customer_of_the_dealers_application_is_told_with_the_link_only(dealer, customer):
    application = _application(customer=customer, dealer_organisation=dealer.dealer_organisation)

    request = _request(dealer=dealer, application_id=application.pk)

    message = OutboxMessage.objects.get(topic=NOTIFICATION_TOPIC)
    assert message.key == f"credit_checks.credit_check_requested:credit_check_request:{request.public_id}:{customer.pk}"
    assert message.payload["user_id"] == customer.pk
    assert message.payload["context"] == {
        "dealer": dealer.dealer_organisation.name,
        "expires_at": {"$moment": request.expires_at.isoformat()},
        "respond_link": {"$link": f"/identity/credit-checks/respond/{request.link_token}/"},
    }


def test_a_request_naming_another_dealers_application_or_none_tells_nobody(dealer, customer, make_user):
    other = make_user(Role.DEALER, dealer_organisation=DealerOrganisationFactory())
    foreign = _application(customer=customer, dealer_organisation=other.dealer_organisation)

    _request(dealer=dealer, application_id=foreign.pk)
    _request(dealer=dealer, application_id=None)
    _request(dealer=dealer, application_id=987_654)

    assert not OutboxMessage.objects.filter(topic=NOTIFICATION_TOPIC).exists()
