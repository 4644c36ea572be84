"""Products, applications and contracts for tests, built through the services like production code."""

from __future__ import annotations

import datetime
import uuid
from decimal import Decimal

from django.utils import timezone

from leasing.models import Application, Contract, IdentityCheck, LeaseProduct
from leasing.services import applications, contracts, products
from leasing.services.quotes import QuoteInput
from payments.ledger.registry import AccountCode
from payments.ledger.services import account_create, transfers_create
from payments.ledger.types import ResultCode, TransferSpec


def mileage_lease_product(*, code: str = "mileage-36", arrangement_fee: int = 0, rate: str = "3.9") -> LeaseProduct:
    product = products.product_save(
        data=products.ProductData(
            code=code,
            name="Private mileage lease",
            kind="mileage_lease",
            nominal_rate_percent=Decimal(rate),
            arrangement_fee=arrangement_fee,
            min_term_months=12,
            max_term_months=48,
            min_price=5_000_00,
            max_price=150_000_00,
            excess_km_rate=8,
            unused_km_rate=4,
            tolerance_kind="threshold",
            tolerance_km=2500,
        ),
        yearly_km_bands=[(10_000, Decimal("55")), (15_000, Decimal("50")), (20_000, Decimal("45"))],
    )
    products.service_package_save(
        code=f"{code}-maintenance",
        name="Maintenance",
        kind="maintenance",
        monthly_price=29_90,
        product_ids=[product.pk],
    )
    return product


def residual_value_lease_product(*, code: str = "residual-36", arrangement_fee: int = 199_00) -> LeaseProduct:
    return products.product_save(
        data=products.ProductData(
            code=code,
            name="Residual-value lease",
            kind="residual_value_lease",
            nominal_rate_percent=Decimal("4.49"),
            arrangement_fee=arrangement_fee,
            min_term_months=12,
            max_term_months=60,
            min_price=5_000_00,
            max_price=150_000_00,
            max_residual_percent=Decimal("60"),
        ),
        yearly_km_bands=[(15_000, Decimal("0"))],
    )


def loan_product(*, code: str = "loan-balloon", arrangement_fee: int = 250_00) -> LeaseProduct:
    return products.product_save(
        data=products.ProductData(
            code=code,
            name="Balloon financing",
            kind="instalment_loan",
            nominal_rate_percent=Decimal("5.9"),
            arrangement_fee=arrangement_fee,
            min_term_months=6,
            max_term_months=84,
            min_price=1_000_00,
            max_price=150_000_00,
            max_residual_percent=Decimal("40"),
        )
    )


def short_product(*, code: str = "short-0", kind: str = "mileage_lease", rate: str = "0") -> LeaseProduct:
    """A product of 1 to 12 months from 1.00 EUR, one 5,000 km band at a 50 % residual (leases) and balloons up to
    60 % of the price: small enough to price terms that leave only cents to repay."""
    return products.product_save(
        data=products.ProductData(
            code=code,
            name="Short",
            kind=kind,
            nominal_rate_percent=Decimal(rate),
            min_term_months=1,
            max_term_months=12,
            min_price=1_00,
            max_price=150_000_00,
            max_residual_percent=Decimal("60"),
        ),
        yearly_km_bands=[(5_000, Decimal("50"))] if kind != "instalment_loan" else [],
    )


def quote_input(product: LeaseProduct, **overrides) -> QuoteInput:
    values = {
        "product_code": product.code,
        "price": 30_000_00,
        "down_payment": 3_000_00,
        "term_months": 36,
        "yearly_km": 15_000 if product.needs_mileage else None,
        "timing": "in_arrears",
        "start_date": timezone.localdate(),
    }
    if product.kind == "residual_value_lease":
        values["residual_value"] = 12_000_00
    return QuoteInput(**(values | overrides))


def identity_check_pass(application: Application) -> IdentityCheck:
    """The customer shows that they are over 18 the way a wallet does: the identity check is started through its
    service and answered over OpenID4VP (an encrypted direct_post.jwt to the verifier) with the demo KYC provider's
    identity credential, disclosing ``age_over_18`` only. The verifier checks it like any answer; only the verdict,
    the hashes and the consent receipt are stored."""
    from cryptography.hazmat.primitives.asymmetric import ec

    from identity.openid4vp.transactions import presentation_response_receive
    from identity.tests.openid4vp.holder import credential_for, encrypted_response, present
    from leasing.services.identity_checks import QUERY_ID, identity_check_start

    holder = ec.generate_private_key(ec.SECP256R1())
    credential = credential_for(application.customer, configuration_id="DemoIdentityCredential", holder=holder)
    check = identity_check_start(application=application)
    presentation = check.presentation_transaction
    shown = present(
        credential, holder=holder, disclose=("age_over_18",), nonce=presentation.nonce, audience=presentation.client_id
    )
    response = encrypted_response(
        {"vp_token": {QUERY_ID: [shown]}, "state": presentation.state}, jwk=presentation.encryption_jwk
    )
    presentation_response_receive(public_id=presentation.public_id, form={"response": response})
    check.refresh_from_db()
    assert (check.status, check.is_over_18) == ("verified", True), check.refusal_reason
    return check


def application_waiting_for_decision(
    *, customer, product: LeaseProduct, dealer_organisation=None, **overrides
) -> Application:
    """An application whose credit check is recorded as approved: it waits for a decision."""
    application = applications.application_create(
        customer=customer, quote_input=quote_input(product, **overrides), dealer_organisation=dealer_organisation
    )
    return applications.application_credit_verdict_record(
        application_id=application.pk, verdict="approved", source="credential", external_reference="check-1"
    )


def application_approved(
    *, customer, back_office, product: LeaseProduct, dealer_organisation=None, **overrides
) -> Application:
    application = application_waiting_for_decision(
        customer=customer, product=product, dealer_organisation=dealer_organisation, **overrides
    )
    identity_check_pass(application)
    application = applications.application_approve(
        application_id=application.pk, approved_by=back_office, reason="Fits policy"
    )
    if application.approvals_required == 2:
        from accounts.roles import Role
        from accounts.tests.factories import UserFactory

        application = applications.application_approve(
            application_id=application.pk, approved_by=UserFactory(role=Role.BACK_OFFICE), reason="Second pair of eyes"
        )
    return application


def contract_active(
    *,
    customer,
    back_office,
    product: LeaseProduct,
    method: str = "portal_balance",
    iban: str = "",
    bic: str = "",
    dealer_organisation=None,
    **overrides,
) -> Contract:
    application = application_approved(
        customer=customer,
        back_office=back_office,
        product=product,
        dealer_organisation=dealer_organisation,
        **overrides,
    )
    contract = application.contract
    return contracts.contract_accept(
        contract_id=contract.pk,
        customer=customer,
        document_sha256=contract.document_sha256,
        collection_method=method,
        iban=iban,
        bic=bic,
    )


def balance_fund(*, user, amount: int, currency: str = "EUR") -> None:
    """Tops up the customer's portal balance from a bank account (what a card top-up does)."""
    from leasing.ledger import customer_balance_account_id

    bank = account_create(ledger=currency, code=AccountCode.BANK, owner_reference="bank:test-topups")
    spec = TransferSpec(
        id=uuid.uuid4(),
        debit_account_id=bank.pk,
        credit_account_id=customer_balance_account_id(user_id=user.pk, currency=currency),
        amount=amount,
        ledger=currency,
        code=9,
    )
    assert transfers_create(transfers=[spec])[0].code is ResultCode.OK


def days(n: int) -> datetime.timedelta:
    return datetime.timedelta(days=n)
