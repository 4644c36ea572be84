"""The credit-check pages end to end with the test client: dealer, customer, back office."""

from __future__ import annotations

import json

import pytest

from credit_checks.models import CreditCheckContest, CreditCheckRequest, CreditCheckReview
from credit_checks.tests.conftest import present

pytestmark = pytest.mark.django_db


def _open_by_form(dealer_client) -> CreditCheckRequest:
    response = dealer_client.post(
        "/identity/credit-checks/",
        {"purpose": "lease", "instalment": "120.50", "currency": "EUR", "term_months": "36"},
    )
    request = CreditCheckRequest.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/identity/credit-checks/{request.pk}/"
    return request


def test_dealer_customer_and_back_office_pages(client_for, dealer, customer, back_office, issue_credit, wallet):
    dealer_client, customer_client = client_for(dealer), client_for(customer)
    request = _open_by_form(dealer_client)
    assert (request.amount, request.term_months, request.customer) == (120_50, 36, None)
    detail = dealer_client.get(f"/identity/credit-checks/{request.pk}/").content.decode()
    assert f"http://testserver/identity/credit-checks/respond/{request.link_token}/" in detail
    assert "<svg" in detail and "120.50 EUR" in detail

    anonymous = type(customer_client)().get(f"/identity/credit-checks/respond/{request.link_token}/")
    assert anonymous.status_code == 302
    assert anonymous["Location"] == f"/accounts/login/?next=/identity/credit-checks/respond/{request.link_token}/"
    consent_page = customer_client.get(f"/identity/credit-checks/respond/{request.link_token}/").content.decode()
    assert dealer.dealer_organisation.name in consent_page and "kept for 90 days" in consent_page
    assert f'data-challenge="{request.challenge}"' in consent_page and "<script>" not in consent_page

    request.refresh_from_db()
    presentation = present(sd_jwt=issue_credit(band="D"), wallet=wallet, request=request)
    answered = customer_client.post(
        f"/identity/credit-checks/respond/{request.link_token}/", {"action": "present", "presentation": presentation}
    )
    assert answered["Location"] == f"/identity/credit-checks/mine/{request.pk}/"
    mine = customer_client.get(f"/identity/credit-checks/mine/{request.pk}/").content.decode()
    assert "Referred to a person" in mine and "version 1" in mine
    assert "The score band is below the policy&#x27;s minimum band; a person decides." in mine
    receipt = json.loads(customer_client.get(f"/identity/credit-checks/mine/{request.pk}/receipt.json").content)
    assert (receipt["userId"], receipt["decision"], receipt["claims"], receipt["dealerDid"]) == (
        customer.pk,
        "consented",
        ["scoreBand", "affordabilityCeilingPerMonth"],
        request.domain,
    )
    assert set(receipt) == {
        "receiptId",
        "requestId",
        "userId",
        "decision",
        "claims",
        "purpose",
        "retentionDays",
        "dealerDid",
        "presentationSha256",
        "recordedAt",
    }

    contest = customer_client.post(f"/identity/credit-checks/mine/{request.pk}/", {"message": "My band improved."})
    assert contest.status_code == 302
    dealer_view = dealer_client.get(f"/identity/credit-checks/{request.pk}/").content.decode()
    assert "Referred to a person" in dealer_view and "below the policy&#x27;s minimum band" in dealer_view
    assert "score_band_below_minimum" not in dealer_view  # words, not codes

    staff = client_for(back_office)
    verdict = request.verdict
    assert (
        f"/identity/credit-checks/reviews/{verdict.pk}/"
        in staff.get("/identity/credit-checks/reviews/").content.decode()
    )
    assert "My band improved." in staff.get(f"/identity/credit-checks/reviews/{verdict.pk}/").content.decode()
    missing_reason = staff.post(f"/identity/credit-checks/reviews/{verdict.pk}/", {"outcome": "approved", "reason": ""})
    assert missing_reason.status_code == 400 and CreditCheckReview.objects.count() == 0
    staff.post(f"/identity/credit-checks/reviews/{verdict.pk}/", {"outcome": "approved", "reason": "Payslips seen."})

    review = CreditCheckReview.objects.get()
    assert (review.reviewer, review.outcome, review.reason) == (back_office, "approved", "Payslips seen.")
    assert CreditCheckContest.objects.get().customer == customer
    assert "Approved after review" in dealer_client.get(f"/identity/credit-checks/{request.pk}/").content.decode()
    assert "Nothing to review." in staff.get("/identity/credit-checks/reviews/").content.decode()


def test_refusals_and_declines_are_shown_to_both_sides(client_for, dealer, customer, issue_credit, wallet):
    dealer_client, customer_client = client_for(dealer), client_for(customer)
    first, second = _open_by_form(dealer_client), None
    customer_client.get(f"/identity/credit-checks/respond/{first.link_token}/")
    first.refresh_from_db()
    presentation = present(sd_jwt=issue_credit(), wallet=wallet, request=first)
    customer_client.post(
        f"/identity/credit-checks/respond/{first.link_token}/", {"action": "present", "presentation": presentation}
    )
    dealer_client.post(
        "/identity/credit-checks/", {"purpose": "financing", "instalment": "99", "currency": "EUR", "term_months": "12"}
    )
    second = CreditCheckRequest.objects.exclude(pk=first.pk).get()
    customer_client.post(
        f"/identity/credit-checks/respond/{second.link_token}/", {"action": "present", "presentation": presentation}
    )
    text = "This presentation was already used once and cannot be used again."
    assert text in customer_client.get(f"/identity/credit-checks/mine/{second.pk}/").content.decode()
    assert text in dealer_client.get(f"/identity/credit-checks/{second.pk}/").content.decode()

    dealer_client.post(
        "/identity/credit-checks/", {"purpose": "lease", "instalment": "99", "currency": "EUR", "term_months": "12"}
    )
    third = CreditCheckRequest.objects.exclude(pk__in=[first.pk, second.pk]).get()
    customer_client.post(f"/identity/credit-checks/respond/{third.link_token}/", {"action": "decline"})
    assert "Customer declined" in dealer_client.get(f"/identity/credit-checks/{third.pk}/").content.decode()
    assert "Customer declined" in customer_client.get(f"/identity/credit-checks/mine/{third.pk}/").content.decode()
    assert list(CreditCheckRequest.objects.values_list("status", flat=True).order_by("id")) == [
        "decided",
        "refused",
        "declined",
    ]


def test_dealer_creates_a_policy_version_on_the_policy_page(client_for, dealer):
    dealer_client = client_for(dealer)
    response = dealer_client.post(
        "/identity/credit-checks/policy/",
        {"purpose": "lease", "minimum_score_band": "B", "referral_score_band": "C", "max_credential_age_days": "60"},
    )
    assert response.status_code == 302
    page = dealer_client.get("/identity/credit-checks/policy/").content.decode()
    assert "Version 2 of the lease policy applies from now on." in page
