"""ISO 20022 external reason codes of SEPA Core R-transactions (rejects, returns, refunds) shown to staff in words.

The codes are those the EPC SEPA Core Direct Debit rulebook and its implementation guidelines list for rejects
(pain.002) and returns (camt.054). The code itself is kept on the collection; pages show the words next to it.
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

RETURN_REASONS = {
    "AC01": _("Account identifier incorrect (invalid IBAN)"),
    "AC04": _("Account closed"),
    "AC06": _("Account blocked, or blocked for direct debits by the debtor"),
    "AC13": _("Debtor account is a consumer account"),
    "AG01": _("Direct debits forbidden on this account"),
    "AG02": _("Operation code or transaction code incorrect"),
    "AM04": _("Insufficient funds"),
    "AM05": _("Duplicate collection"),
    "BE05": _("Creditor identifier incorrect"),
    "CNOR": _("Creditor bank is not registered in the scheme"),
    "DNOR": _("Debtor bank is not registered in the scheme"),
    "FF01": _("File format or transaction code invalid"),
    "MD01": _("No valid mandate"),
    "MD02": _("Mandate data missing or incorrect"),
    "MD06": _("Refund requested by the debtor (authorised debit)"),
    "MD07": _("Debtor deceased"),
    "MS02": _("Refused by the debtor, reason not given"),
    "MS03": _("Reason not given by the bank"),
    "RC01": _("Bank identifier (BIC) incorrect"),
    "RR01": _("Debtor account or identification missing (regulatory)"),
    "RR02": _("Debtor name or address missing (regulatory)"),
    "RR03": _("Creditor name or address missing (regulatory)"),
    "RR04": _("Regulatory reason"),
    "SL01": _("Specific service offered by the debtor bank (blocked creditor)"),
}
UNKNOWN_REASON = _("Reason code not in the supported list")


def return_reason_text(code: str) -> str:
    """The words for a reason code; codes outside the table are still kept and shown with a generic text."""
    return str(RETURN_REASONS.get(code, UNKNOWN_REASON))
