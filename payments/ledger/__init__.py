"""The double-entry ledger: result codes and values (types), rules (engine), writes (services), reads (selectors).

Products enter it through one client (`payments.ledger.client`, re-exported here) and name their accounts and
transfer codes in one registry (`payments.ledger.registry`).
"""

from payments.ledger.client import (
    AccountBalance,
    LedgerRefused,
    account_balance_get,
    account_find,
    account_get_or_open,
    house_account_get_or_open,
    transfer_id_derive,
    transfer_post,
    transfers_post_linked,
)
from payments.ledger.registry import HouseAccount, Owner, OwnerKind, Purpose, TransferCode

__all__ = [
    "AccountBalance",
    "HouseAccount",
    "LedgerRefused",
    "Owner",
    "OwnerKind",
    "Purpose",
    "TransferCode",
    "account_balance_get",
    "account_find",
    "account_get_or_open",
    "house_account_get_or_open",
    "transfer_id_derive",
    "transfer_post",
    "transfers_post_linked",
]
