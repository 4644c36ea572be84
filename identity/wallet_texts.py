"""What the browser wallet's protocol pages say, in the user's language.

The wallet's ES modules (static/identity/wallet/) refuse with a stable code; the page reads the sentence for that code
from a JSON script tag the wallet page renders from :func:`wallet_messages`. The codes are the wallet's, not the
verifier's or the issuer's: a verifier's own refusal reaches the customer through ``response_refused``.
"""

from __future__ import annotations

from django.utils.translation import gettext


def wallet_messages() -> dict[str, str]:
    """Sentence per refusal code and per page event (keys are the codes used in static/identity/wallet/*.js)."""
    return {
        # receiving a credential (OpenID4VCI)
        "offer_invalid": gettext("This credential offer cannot be read. Ask the portal for a new one."),
        "offer_unsupported_grant": gettext(
            "This offer asks for a way of getting the credential this wallet does not know. Ask for a new offer."
        ),
        "offer_unsupported_format": gettext("This wallet cannot hold the kind of credential offered."),
        "foreign_origin": gettext("This wallet only talks to FinLab. The link leads elsewhere: it was not used."),
        "issuer_unreachable": gettext("The issuer cannot be reached right now. Try again in a moment."),
        "tx_code_missing": gettext("Enter the PIN shown next to the offer."),
        "tx_code_wrong": gettext("The PIN is wrong. Check it and try again."),
        "offer_spent": gettext("This offer was already used or has expired. Ask the portal for a new one."),
        "issuer_refused": gettext("The issuer refused to issue the credential."),
        "untrusted_issuer": gettext("The credential's issuer is not one this wallet trusts. It was not stored."),
        "credential_invalid": gettext("The credential received is not valid. It was not stored."),
        "stored": gettext("Stored in your wallet:"),
        # the authorization code flow: back from the issuer's confirmation page
        "authorized": gettext("Confirmed at FinLab. Open your wallet below to store the credential."),
        "authorization_state_mismatch": gettext(
            "This answer from the issuer does not belong to a request started in this wallet: it may be old or "
            "forged. Nothing was added. Start again from the offer or with “Add a credential”."
        ),
        "authorization_denied": gettext("You refused on the issuer's page. Nothing was added."),
        "authorization_refused": gettext("The issuer did not allow the request. Nothing was added."),
        "authorization_expired": gettext(
            "The confirmation at the issuer has expired or was already used. Nothing was added: start again."
        ),
        # answering a request (OpenID4VP)
        "request_unavailable": gettext("The request cannot be loaded. It may have expired: ask for a new code."),
        "request_invalid": gettext("The request is incomplete or malformed. Nothing was shared."),
        "request_tampered": gettext(
            "The request was changed after it was signed, or its signature is not valid. Nothing was shared."
        ),
        "request_expired": gettext("The request has expired. Ask for a new code. Nothing was shared."),
        "client_unsupported": gettext("The requester does not identify itself in a way this wallet can check."),
        "client_mismatch": gettext(
            "The requester's certificate does not match the name it gives. This may be a fake: nothing was shared."
        ),
        "untrusted_certificate": gettext(
            "The requester's certificate is not issued by an authority this wallet trusts. Nothing was shared."
        ),
        "certificate_invalid": gettext("The requester's certificate cannot be read. Nothing was shared."),
        "dcql_unsatisfied": gettext(
            "Your wallet holds no credential with what is asked for. Get the credential first, or import a backup."
        ),
        "response_refused": gettext("The requester did not accept the answer:"),
        "sent": gettext("Shared. You can go back to the screen that showed the code."),
        "refusal_sent": gettext("You refused. Nothing was shared."),
        "asked_by": gettext("Asked by"),
        "checked_domain": gettext("checked for"),
        # backups
        "backup_passphrase_short": gettext("Use a backup passphrase of at least 10 characters."),
        "backup_not_a_backup": gettext("This file is not a FinLab wallet backup. Nothing was changed."),
        "backup_cannot_open": gettext(
            "This backup cannot be opened: the passphrase is wrong or the file was changed. Nothing was changed."
        ),
        "backup_choose_file": gettext("Choose the backup file first."),
        "backup_imported": gettext("Backup imported."),
        "backup_exported": gettext("Backup saved. Keep the file and its passphrase apart."),
        # anything else
        "malformed": gettext("Something in the data received cannot be read. Nothing was done."),
        "unsupported_key": gettext("This wallet cannot use the key type given."),
        "unsupported_algorithm": gettext("This wallet cannot check the signature algorithm given."),
        "unsupported_encryption": gettext("This wallet cannot encrypt the answer as asked."),
        "failed": gettext("Something went wrong. Nothing was shared or changed."),
    }
