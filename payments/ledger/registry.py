"""The chart of the portal's ledger, declared once: who may own an account, what each account is for, and which
business reason codes each product may put on a transfer.

An account is named by (ledger, purpose, owner): the purpose says what the money is (a dealer's QR payable is not
their lease payable), the owner whose it is. `payments.ledger.client` opens at most one account per name (a unique
constraint guards it) and accepts only the transfer codes declared here, so a statement that selects by purpose
shows one product's money and nothing else.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from payments.ledger.types import AccountFlags
from payments.models import AccountCode


class OwnerKind(enum.StrEnum):
    """Who an account belongs to. The value is the prefix of the account's `owner_reference` ("dealer:3")."""

    CUSTOMER = "user"  # a customer's user id
    DEALER = "dealer"  # a dealer organisation id
    QR_CODE = "qr_code"  # a QR payment code's public id (hex)
    LEASE = "lease"  # a lease contract id
    VEHICLE = "vehicle"  # a vehicle's did:key suffix (24 characters)
    STATION_OPERATOR = "operator"  # the user id of a charging-station operator
    HOUSE = "house"  # the portal's own accounts (clearing, bank, revenue), named by `HouseAccount`


class HouseAccount(enum.StrEnum):
    """The portal's own accounts: the owner id of `OwnerKind.HOUSE` owners."""

    CARD_ACQUIRER = "card_acquirer"  # card money the acquirer owes the portal
    SEPA_BANK = "sepa_bank"  # the portal's bank account receiving SEPA transfers
    LEASING_BOOK = "leasing_book"  # the lease book's revenue, clearing and supplier bank accounts
    MACHINES_FUNDING = "machines_funding"  # cash at bank that machine wallet top-ups are paid from


@dataclass(frozen=True, slots=True)
class Owner:
    """The typed owner of an account; `reference` is the opaque "kind:id" string stored with the account."""

    kind: OwnerKind
    id: str

    def __post_init__(self) -> None:
        if not self.id or ":" in self.id or len(self.reference) > 64:
            raise ValueError(f"invalid owner id {self.id!r} for {self.kind}")

    @property
    def reference(self) -> str:
        return f"{self.kind.value}:{self.id}"

    @classmethod
    def customer(cls, user_id: int) -> Owner:
        return cls(OwnerKind.CUSTOMER, str(user_id))

    @classmethod
    def dealer(cls, organisation_id: int) -> Owner:
        return cls(OwnerKind.DEALER, str(organisation_id))

    @classmethod
    def qr_code(cls, public_id_hex: str) -> Owner:
        return cls(OwnerKind.QR_CODE, public_id_hex)

    @classmethod
    def lease(cls, contract_id: int) -> Owner:
        return cls(OwnerKind.LEASE, str(contract_id))

    @classmethod
    def vehicle(cls, did: str) -> Owner:
        return cls(OwnerKind.VEHICLE, did[-24:])

    @classmethod
    def station_operator(cls, user_id: int) -> Owner:
        return cls(OwnerKind.STATION_OPERATOR, str(user_id))

    @classmethod
    def house(cls, account: HouseAccount) -> Owner:
        return cls(OwnerKind.HOUSE, account.value)


class Purpose(enum.StrEnum):
    """What an account is for. Stored on the account (`Account.purpose`); part of its unique name."""

    QR_CARD_ACQUIRER_CLEARING = "qr_card_acquirer_clearing"
    QR_SEPA_BANK = "qr_sepa_bank"
    QR_CODE_BALANCE = "qr_code_balance"
    QR_DEALER_CLEARING = "qr_dealer_clearing"
    QR_DEALER_PAYABLE = "qr_dealer_payable"
    CUSTOMER_BALANCE = "customer_balance"
    LEASE_RECEIVABLE = "lease_receivable"
    LEASE_DEALER_PAYABLE = "lease_dealer_payable"
    LEASE_INTEREST_REVENUE = "lease_interest_revenue"
    LEASE_SERVICE_REVENUE = "lease_service_revenue"
    LEASE_FEE_REVENUE = "lease_fee_revenue"
    LEASE_SEPA_CLEARING = "lease_sepa_clearing"
    LEASE_SUPPLIER_BANK = "lease_supplier_bank"
    MACHINE_WALLET = "machine_wallet"
    STATION_OPERATOR_EARNINGS = "station_operator_earnings"
    MACHINE_TOP_UP_FUNDING = "machine_top_up_funding"


@dataclass(frozen=True, slots=True)
class PurposeSpec:
    """How accounts of one purpose are opened: chart code, the only owner kind allowed, balance flags, meaning."""

    account_code: AccountCode
    owner_kind: OwnerKind
    flags: AccountFlags
    meaning: str


_NO_OVERDRAFT = AccountFlags.DEBITS_MUST_NOT_EXCEED_CREDITS
_HOUSE = OwnerKind.HOUSE

PURPOSES: dict[Purpose, PurposeSpec] = {
    Purpose.QR_CARD_ACQUIRER_CLEARING: PurposeSpec(
        AccountCode.CLEARING, _HOUSE, AccountFlags.NONE, "Card money the acquirer owes for paid QR orders"
    ),
    Purpose.QR_SEPA_BANK: PurposeSpec(AccountCode.BANK, _HOUSE, AccountFlags.NONE, "Bank receipts of SEPA QR orders"),
    Purpose.QR_CODE_BALANCE: PurposeSpec(
        AccountCode.CUSTOMER_PREPAID, OwnerKind.QR_CODE, _NO_OVERDRAFT, "Spendable value of one QR payment code"
    ),
    Purpose.QR_DEALER_CLEARING: PurposeSpec(
        AccountCode.CLEARING, OwnerKind.DEALER, _NO_OVERDRAFT, "Captured QR redemptions awaiting settlement"
    ),
    Purpose.QR_DEALER_PAYABLE: PurposeSpec(
        AccountCode.MERCHANT_PAYABLE, OwnerKind.DEALER, AccountFlags.NONE, "QR money settled to a dealer (payouts)"
    ),
    Purpose.CUSTOMER_BALANCE: PurposeSpec(
        AccountCode.CUSTOMER_PREPAID, OwnerKind.CUSTOMER, _NO_OVERDRAFT, "A customer's portal balance"
    ),
    Purpose.LEASE_RECEIVABLE: PurposeSpec(
        AccountCode.LEASE_RECEIVABLE, OwnerKind.LEASE, AccountFlags.NONE, "What the lessee owes on one contract"
    ),
    Purpose.LEASE_DEALER_PAYABLE: PurposeSpec(
        AccountCode.MERCHANT_PAYABLE, OwnerKind.DEALER, AccountFlags.NONE, "Lease payouts to the originating dealer"
    ),
    Purpose.LEASE_INTEREST_REVENUE: PurposeSpec(AccountCode.REVENUE, _HOUSE, AccountFlags.NONE, "Lease interest"),
    Purpose.LEASE_SERVICE_REVENUE: PurposeSpec(AccountCode.REVENUE, _HOUSE, AccountFlags.NONE, "Lease services"),
    Purpose.LEASE_FEE_REVENUE: PurposeSpec(AccountCode.FEES, _HOUSE, AccountFlags.NONE, "Lease fees"),
    Purpose.LEASE_SEPA_CLEARING: PurposeSpec(
        AccountCode.CLEARING, _HOUSE, AccountFlags.NONE, "Direct debits collected, not yet at the bank"
    ),
    Purpose.LEASE_SUPPLIER_BANK: PurposeSpec(
        AccountCode.BANK, _HOUSE, AccountFlags.NONE, "Bank account paying vehicle suppliers and dealers"
    ),
    Purpose.MACHINE_WALLET: PurposeSpec(
        AccountCode.MACHINE_WALLET, OwnerKind.VEHICLE, _NO_OVERDRAFT, "A vehicle's wallet; never overdrawn"
    ),
    Purpose.STATION_OPERATOR_EARNINGS: PurposeSpec(
        AccountCode.OPERATOR, OwnerKind.STATION_OPERATOR, AccountFlags.NONE, "A charging operator's earnings"
    ),
    Purpose.MACHINE_TOP_UP_FUNDING: PurposeSpec(
        AccountCode.BANK, _HOUSE, AccountFlags.NONE, "Cash at bank that wallet top-ups are paid from"
    ),
}


# Which house account each purpose owned by the portal itself belongs to.
HOUSE_ACCOUNTS: dict[Purpose, HouseAccount] = {
    Purpose.QR_CARD_ACQUIRER_CLEARING: HouseAccount.CARD_ACQUIRER,
    Purpose.QR_SEPA_BANK: HouseAccount.SEPA_BANK,
    Purpose.LEASE_INTEREST_REVENUE: HouseAccount.LEASING_BOOK,
    Purpose.LEASE_SERVICE_REVENUE: HouseAccount.LEASING_BOOK,
    Purpose.LEASE_FEE_REVENUE: HouseAccount.LEASING_BOOK,
    Purpose.LEASE_SEPA_CLEARING: HouseAccount.LEASING_BOOK,
    Purpose.LEASE_SUPPLIER_BANK: HouseAccount.LEASING_BOOK,
    Purpose.MACHINE_TOP_UP_FUNDING: HouseAccount.MACHINES_FUNDING,
}


@dataclass(frozen=True, slots=True)
class CodeRange:
    """The transfer codes one product owns, both ends included."""

    product: str
    first: int
    last: int

    def __contains__(self, code: object) -> bool:
        return isinstance(code, int) and self.first <= code <= self.last


QR_RANGE = CodeRange("qr", 1, 69)
LEASING_RANGE = CodeRange("leasing", 70, 99)
MACHINES_RANGE = CodeRange("machines", 600, 699)
CODE_RANGES = (QR_RANGE, LEASING_RANGE, MACHINES_RANGE)


class TransferCode(enum.IntEnum):
    """Every business reason a transfer of the portal may carry (`Transfer.code`), in its product's range.

    Settlement of QR redemptions posts pending transfers created with QR codes, so it carries their codes.
    """

    QR_PURCHASE = 1  # card or SEPA money into a new code
    QR_REDEMPTION = 2  # a code pays a dealer (authorization, then capture)
    QR_SETTLEMENT = 3  # a dealer's captured redemptions paid out (clearing -> payable)
    QR_REFUND = 4  # a dealer gives a captured payment back to the code
    QR_BALANCE_MOVE = 5  # a lost code's balance moved to its replacement
    QR_INVOICE = 6  # a code pays a dealer invoice
    LEASE_DEALER_PAYOUT = 71  # the book pays the dealer for the vehicle
    LEASE_INSTALMENT_PAYMENT = 72  # an instalment collected from the lessee
    LEASE_INTEREST_ACCRUAL = 73  # interest accrued on the receivable
    LEASE_SERVICE_CHARGE = 74  # a service charged to the lessee
    LEASE_FEE_CHARGE = 75  # a fee charged to the lessee
    LEASE_DIRECT_DEBIT_RETURN = 76  # a returned direct debit reverses a collection
    LEASE_SETTLEMENT_CREDIT = 77  # an early settlement or ending credit
    MACHINE_TOP_UP = 601  # money into a vehicle wallet
    MACHINE_CHARGING = 602  # a charging session (hold, post, release)
    MACHINE_PAYMENT = 603  # a vehicle pays a service point


def code_range_of(code: int) -> CodeRange | None:
    """The product range `code` falls in, or None."""
    return next((code_range for code_range in CODE_RANGES if code in code_range), None)
