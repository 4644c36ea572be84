"""Migration 0006 names the accounts that exist from their old references, and the constraint holds afterwards."""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from payments.ledger import HouseAccount, Owner, Purpose, account_get_or_open, house_account_get_or_open
from payments.models import Account

BEFORE = [("payments", "0005_outbox_moves_to_core"), ("leasing", "0003_credit_verdict_refusals"),
          ("machines", "0004_ended_sessions_settle_through_the_outbox")]  # fmt: skip
AFTER = [("payments", "0006_account_purpose_and_owner"), ("leasing", "0004_lease_accounts_named_in_the_ledger"),
         ("machines", "0005_funding_account_named_in_the_ledger")]  # fmt: skip
PREPAID, PAYABLE, CLEARING, REVENUE, WALLET, OPERATOR, BANK, RECEIVABLE = 1, 2, 3, 5, 6, 7, 8, 9


def _migrate(targets: list[tuple[str, str]]) -> MigrationExecutor:
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return MigrationExecutor(connection)


@pytest.fixture(autouse=True)
def _latest_schema_afterwards():
    """The tests after this one expect every migration applied, the ones after 0006 included."""
    yield
    _migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())


@pytest.mark.django_db(transaction=True)
@pytest.mark.slow
def test_existing_accounts_get_purpose_and_owner_from_their_current_naming() -> None:
    state = _migrate(BEFORE).loader.project_state(BEFORE).apps
    legacy = state.get_model("payments", "Account")
    lease_registry = state.get_model("leasing", "LeaseLedgerAccount")
    system_accounts = state.get_model("machines", "SystemAccount")

    def old(reference: str, code: int) -> int:
        return legacy.objects.create(ledger="EUR", code=code, owner_reference=reference).pk

    ids = {
        "acquirer": old("acquirer:sandbox", CLEARING),
        "qr_code": old("qr_code:ab12", PREPAID),
        "dealer_clearing": old("dealer:3", CLEARING),
        "dealer_qr_payable": old("dealer:3", PAYABLE),
        "dealer_lease_payable": old("dealer:3", PAYABLE),
        "customer": old("user:5", PREPAID),
        "customer_duplicate": old("user:5", PREPAID),
        "interest": old("book:leasing", REVENUE),
        "service": old("book:leasing", REVENUE),
        "receivable": old("lease:9", RECEIVABLE),
        "operator": old("user:5", OPERATOR),
        "wallet": old("vehicle:abcdefabcdefabcdefabcdef", WALLET),
        "funding": old("machines:funding", BANK),
        "by_hand": old("bank:test-topups", BANK),
    }
    for purpose, key, reference in [("dealer_payable", "dealer_lease_payable", "dealer:3"),
                                     ("interest_revenue", "interest", "book:leasing"),
                                     ("service_revenue", "service", "book:leasing"),
                                     ("receivable", "receivable", "lease:9")]:  # fmt: skip
        lease_registry.objects.create(purpose=purpose, owner_reference=reference, currency="EUR", account_id=ids[key])
    system_accounts.objects.create(name="machines:top-up-funding:EUR", account_id=ids["funding"])

    _migrate(AFTER)

    named = {
        "acquirer": house_account_get_or_open(ledger="EUR", purpose=Purpose.QR_CARD_ACQUIRER_CLEARING),
        "qr_code": account_get_or_open(ledger="EUR", purpose=Purpose.QR_CODE_BALANCE, owner=Owner.qr_code("ab12")),
        "dealer_clearing": account_get_or_open(ledger="EUR", purpose=Purpose.QR_DEALER_CLEARING, owner=Owner.dealer(3)),
        "dealer_qr_payable": account_get_or_open(
            ledger="EUR", purpose=Purpose.QR_DEALER_PAYABLE, owner=Owner.dealer(3)
        ),
        "dealer_lease_payable": account_get_or_open(
            ledger="EUR", purpose=Purpose.LEASE_DEALER_PAYABLE, owner=Owner.dealer(3)
        ),
        "customer": account_get_or_open(ledger="EUR", purpose=Purpose.CUSTOMER_BALANCE, owner=Owner.customer(5)),
        "interest": house_account_get_or_open(ledger="EUR", purpose=Purpose.LEASE_INTEREST_REVENUE),
        "service": house_account_get_or_open(ledger="EUR", purpose=Purpose.LEASE_SERVICE_REVENUE),
        "receivable": account_get_or_open(ledger="EUR", purpose=Purpose.LEASE_RECEIVABLE, owner=Owner.lease(9)),
        "operator": account_get_or_open(
            ledger="EUR", purpose=Purpose.STATION_OPERATOR_EARNINGS, owner=Owner.station_operator(5)
        ),
        "wallet": account_get_or_open(
            ledger="EUR", purpose=Purpose.MACHINE_WALLET, owner=Owner.vehicle("did:key:z" + "abcdef" * 4)
        ),
        "funding": house_account_get_or_open(ledger="EUR", purpose=Purpose.MACHINE_TOP_UP_FUNDING),
    }
    assert {key: account.pk for key, account in named.items()} == {key: ids[key] for key in named}
    assert Account.objects.count() == len(ids)  # nothing was opened anew
    assert Account.objects.get(pk=ids["acquirer"]).owner_reference == Owner.house(HouseAccount.CARD_ACQUIRER).reference
    assert Account.objects.get(pk=ids["operator"]).owner_reference == "operator:5"
    unnamed = Account.objects.filter(pk__in=[ids["customer_duplicate"], ids["by_hand"]])
    assert list(unnamed.values_list("purpose", "owner_kind", "owner_id", "owner_reference").order_by("pk")) == [
        ("", "", "", "user:5"),
        ("", "", "", "bank:test-topups"),
    ]
