"""The credit-check flow through its services: verdicts, refusals with reason codes, replay, consent receipts."""

from __future__ import annotations

import pytest

from core.errors import ConflictError
from credit_checks.models import ConsentReceipt, CreditCheckRequest, CreditCheckVerdict
from credit_checks.services import credit_check_decline, credit_check_present, presentation_hash
from credit_checks.tests.conftest import INCOME, NAME, credit_sd_jwt, present
from identity.models import CredentialRecord
from identity.services import registry
from identity.services.status import credential_revoke
from identity.tests.test_privacy import occurrences

pytestmark = pytest.mark.django_db


def test_consent_and_presentation_give_a_verdict_and_keep_no_personal_value(
    open_request, issue_credit, wallet, customer
):
    credential = issue_credit(band="B", ceiling=650_00, holderName=NAME, annualIncomeMinor=INCOME)
    request = open_request(amount=450_00)
    presentation = present(sd_jwt=credential, wallet=wallet, request=request)

    credit_check_present(request=request, customer=customer, presentation=presentation)

    request.refresh_from_db()
    verdict = CreditCheckVerdict.objects.get(request=request)
    assert (request.status, request.refusal_reason, request.presentation_hash) == (
        "decided",
        "",
        presentation_hash(presentation),
    )
    assert (verdict.outcome, verdict.rule_results, verdict.policy.version) == ("approved", ["all_rules_passed"], 1)
    assert (verdict.disclosed_score_band, verdict.disclosed_ceiling, verdict.disclosed_ceiling_currency) == (
        "B",
        650_00,
        "EUR",
    )
    receipt = ConsentReceipt.objects.get(request=request)
    assert (receipt.user_id_at_consent, receipt.decision, receipt.claims, receipt.dealer_did) == (
        customer.pk,
        "consented",
        ["scoreBand", "affordabilityCeilingPerMonth"],
        request.domain,
    )
    assert receipt.presentation_hash == presentation_hash(presentation)
    assert occurrences([NAME, "Brackenridge", str(INCOME), presentation[:60]]) == {}
    assert occurrences([customer.email]) == {("accounts_user", "email"): [customer.email]}


def test_ceiling_below_instalment_is_declined_and_a_middle_band_referred(open_request, issue_credit, wallet, customer):
    low = open_request(amount=700_00)
    credit_check_present(
        request=low, customer=customer, presentation=present(sd_jwt=issue_credit(), wallet=wallet, request=low)
    )
    middle = open_request(amount=100_00)
    credit_check_present(
        request=middle,
        customer=customer,
        presentation=present(sd_jwt=issue_credit(band="D"), wallet=wallet, request=middle),
    )

    assert (low.verdict.outcome, low.verdict.rule_results) == ("declined", ["ceiling_below_instalment"])
    assert (middle.verdict.outcome, middle.verdict.rule_results) == ("referred", ["score_band_below_minimum"])


def _refused(request: CreditCheckRequest) -> tuple[str, str, bool]:
    request.refresh_from_db()
    return request.status, request.refusal_reason, CreditCheckVerdict.objects.filter(request=request).exists()


def test_the_same_presentation_is_refused_a_second_time_and_at_another_request(
    open_request, issue_credit, wallet, customer
):
    credential = issue_credit()
    first = open_request()
    presentation = present(sd_jwt=credential, wallet=wallet, request=first)
    credit_check_present(request=first, customer=customer, presentation=presentation)

    with pytest.raises(ConflictError) as again:
        credit_check_present(request=first, customer=customer, presentation=presentation)
    second = open_request()
    credit_check_present(request=second, customer=customer, presentation=presentation)

    assert again.value.code == "request_not_open"
    assert CreditCheckVerdict.objects.filter(request=first).count() == 1
    assert _refused(second) == ("refused", "presentation_replayed", False)
    assert second.presentation_hash is None


def test_a_presentation_for_another_dealers_request_is_refused(open_request, issue_credit, wallet, customer, make_user):
    from accounts.roles import Role

    other_dealer = make_user(Role.DEALER)
    mine = open_request()
    theirs = open_request(dealer_user=other_dealer)
    presentation = present(sd_jwt=issue_credit(), wallet=wallet, request=theirs)

    credit_check_present(request=mine, customer=customer, presentation=presentation)

    assert _refused(mine) == ("refused", "wrong_challenge", False)
    domain_only = open_request()
    made_for_other_domain = present(sd_jwt=issue_credit(), wallet=wallet, request=domain_only, domain=theirs.domain)
    credit_check_present(request=domain_only, customer=customer, presentation=made_for_other_domain)
    assert _refused(domain_only) == ("refused", "wrong_domain", False)


def test_revoked_expired_and_untrusted_credentials_are_refused(
    open_request, issue_credit, wallet, customer, credit_bureau
):
    revoked = issue_credit()
    credential_revoke(record=CredentialRecord.objects.order_by("-issued_at", "-id").first())
    expired = credit_sd_jwt(issuer=credit_bureau, wallet=wallet, days_old=200).verifiable_credential
    untrusted = issue_credit()
    results = []
    for credential, before in ((revoked, None), (expired, None), (untrusted, "suspend")):
        if before == "suspend":
            registry.trusted_issuer_suspend(issuer=credit_bureau)
        request = open_request()
        credit_check_present(
            request=request, customer=customer, presentation=present(sd_jwt=credential, wallet=wallet, request=request)
        )
        results.append(_refused(request))

    assert results == [
        ("refused", "revoked", False),
        ("refused", "expired", False),
        ("refused", "untrusted_issuer", False),
    ]
    assert CreditCheckVerdict.objects.count() == 0


def test_a_presentation_without_the_two_claims_is_refused(open_request, issue_credit, wallet, customer):
    request = open_request()
    presentation = present(sd_jwt=issue_credit(), wallet=wallet, request=request, disclose=["scoreBand"])

    credit_check_present(request=request, customer=customer, presentation=presentation)

    assert _refused(request) == ("refused", "claims_missing", False)


def test_declining_records_a_receipt_and_no_verdict(open_request, customer):
    request = open_request()

    receipt = credit_check_decline(request=request, customer=customer)

    request.refresh_from_db()
    assert (request.status, receipt.decision, receipt.claims, receipt.presentation_hash) == (
        "declined",
        "declined",
        [],
        "",
    )
    assert CreditCheckVerdict.objects.count() == 0
    with pytest.raises(ConflictError):
        credit_check_decline(request=request, customer=customer)


def test_an_empty_or_late_answer_changes_nothing(open_request, issue_credit, wallet, customer):
    from datetime import timedelta

    from core.errors import ValidationFailed

    request = open_request()
    with pytest.raises(ValidationFailed):
        credit_check_present(request=request, customer=customer, presentation="  ")
    presentation = present(sd_jwt=issue_credit(), wallet=wallet, request=request)
    with pytest.raises(ConflictError) as late:
        credit_check_present(
            request=request, customer=customer, presentation=presentation, now=request.expires_at + timedelta(seconds=1)
        )

    request.refresh_from_db()
    assert late.value.code == "request_expired"
    assert (request.status, request.presentation_hash, ConsentReceipt.objects.count()) == ("open", None, 0)
