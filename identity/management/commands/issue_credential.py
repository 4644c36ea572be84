"""Issue a credential as a hosted registered issuer (or the portal) from the command line.

Example::

    manage.py issue_credential --issuer did:key:z6Mk... --type CreditHistoryCredential \\
        --subject did:key:z6Mk... --claims '{"scoreBand": "B"}' --format sd-jwt --output credential.sd-jwt

The credential is written to ``--output`` (or standard output) and nowhere else; the portal keeps only its record.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from core.errors import ApplicationError
from identity.models import TrustedIssuer
from identity.services import issuance


class Command(BaseCommand):
    help = "Issue a credential as a hosted registered issuer (by DID or id) or as the portal ('portal')."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--issuer", required=True, help="Issuer DID, trust-registry id, or 'portal'.")
        parser.add_argument("--type", required=True, dest="credential_type", help="e.g. CreditHistoryCredential")
        parser.add_argument("--subject", required=True, help="The holder's DID (a did:key for SD-JWT VC).")
        parser.add_argument("--claims", required=True, help="Subject claims as JSON, or @path/to/claims.json")
        parser.add_argument("--format", default="vc-jwt", choices=issuance.FORMATS)
        parser.add_argument("--valid-from", default=None, help="ISO 8601 date-time with zone; default now.")
        parser.add_argument("--valid-until", default=None, help="ISO 8601 date-time with zone; default a year on.")
        parser.add_argument("--output", default=None, help="File to write the credential to; default stdout.")

    def handle(self, *args: Any, **options: Any) -> None:
        party = self._party(options["issuer"])
        claims = self._claims(options["claims"])
        credential: dict[str, Any] = {
            "@context": ["https://www.w3.org/ns/credentials/v2"],
            "type": ["VerifiableCredential", options["credential_type"]],
            "credentialSubject": {"id": options["subject"], **claims},
        }
        for option, member in (("valid_from", "validFrom"), ("valid_until", "validUntil")):
            if options[option]:
                credential[member] = options[option]
        try:
            issued = issuance.credential_issue(party=party, credential=credential, securing_format=options["format"])
        except ApplicationError as error:
            raise CommandError(f"{error.code}: {error.detail} {error.fields or ''}".strip()) from error
        text = issued.verifiable_credential
        text = text if isinstance(text, str) else json.dumps(text, indent=2)
        if options["output"]:
            Path(options["output"]).write_text(text + "\n", encoding="utf-8")
            self.stderr.write(f"Issued {issued.credential_id} to {options['output']} (leaf {issued.leaf_hash}).")
        else:
            self.stdout.write(text)

    def _party(self, value: str) -> issuance.IssuingParty:
        if value == "portal":
            return issuance.issuing_party_portal()
        issuer = TrustedIssuer.objects.filter(did=value).first()
        if issuer is None and value.isdigit():
            issuer = TrustedIssuer.objects.filter(pk=int(value)).first()
        if issuer is None:
            raise CommandError(f"No registered issuer {value!r}.")
        try:
            return issuance.issuing_party_for_issuer(issuer=issuer)
        except ApplicationError as error:
            raise CommandError(error.detail) from error

    def _claims(self, value: str) -> dict[str, Any]:
        try:
            text = Path(value[1:]).read_text(encoding="utf-8") if value.startswith("@") else value
            claims = json.loads(text)
        except (OSError, ValueError) as error:
            raise CommandError(f"--claims is not readable JSON: {error}") from error
        if not isinstance(claims, dict) or "id" in claims:
            raise CommandError("--claims must be a JSON object without 'id' (use --subject).")
        return claims
