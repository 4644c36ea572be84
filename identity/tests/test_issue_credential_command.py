import io
import json

import pytest
from django.core.management import CommandError, call_command

from identity.models import CredentialRecord
from identity.services.verification import credential_verify

pytestmark = pytest.mark.django_db


def test_a_hosted_issuer_issues_from_the_command_line_to_a_file(bureau, wallet, tmp_path):
    output = tmp_path / "credential.json"
    claims = tmp_path / "claims.json"
    claims.write_text(json.dumps({"scoreBand": "C", "negativeRecordBand": "minor"}))

    call_command(
        "issue_credential",
        "--issuer", bureau.did, "--type", "CreditHistoryCredential", "--subject", wallet.did,
        "--claims", f"@{claims}", "--format", "data-integrity", "--output", str(output), stderr=io.StringIO(),
    )  # fmt: skip

    credential = json.loads(output.read_text())
    assert credential["credentialSubject"] == {"id": wallet.did, "scoreBand": "C", "negativeRecordBand": "minor"}
    assert CredentialRecord.objects.get().credential_id == credential["id"]
    assert credential_verify(credential=credential, allow_pending_anchor=True).is_valid is True


def test_the_command_prints_to_stdout_and_refuses_types_and_unknown_issuers(bureau, wallet):
    stdout = io.StringIO()
    base = ["--subject", wallet.did, "--claims", '{"scoreBand": "A"}']

    call_command(
        "issue_credential", "--issuer", str(bureau.pk), "--type", "CreditHistoryCredential", *base, stdout=stdout
    )

    assert stdout.getvalue().count(".") == 2
    with pytest.raises(CommandError, match="credential_type_not_allowed"):
        call_command("issue_credential", "--issuer", bureau.did, "--type", "IdentityCredential", *base)
    with pytest.raises(CommandError, match="No registered issuer"):
        call_command("issue_credential", "--issuer", "did:key:z6Mkunknown", "--type", "IdentityCredential", *base)
    assert CredentialRecord.objects.count() == 1
