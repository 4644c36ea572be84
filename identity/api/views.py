"""The VC-API (issue, verify, presentations, status) and the public documents: DID documents, status lists and
anchor proofs. Request and response rules follow the W3C VC-API test suites: issue answers 201 with
``verifiableCredential``; a failed verification answers 400 with its reason code; a malformed body 400 or 422."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_GET
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.authentication import SessionAuthentication
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.authentication import ApiTokenAuthentication
from accounts.permissions import IsAnyRole, IsBackOffice, IsCustomer
from core.errors import ApplicationError, ConflictError
from identity import selectors
from identity.api.authentication import IsIssuerClient, IssuerClientAuthentication
from identity.credentials.core import Reason
from identity.credentials.token_status_list import MEDIA_TYPE
from identity.credentials.verify import VerificationResult
from identity.models import IssuerClient
from identity.services import issuance, keys, wallet
from identity.services import status as status_services
from identity.services.verification import credential_verify, presentation_verify

AUTHENTICATION = [IssuerClientAuthentication, ApiTokenAuthentication, SessionAuthentication]
CHECKS = ["signature", "issuer", "validity", "status", "holder", "anchor"]


class VerificationRefused(ApplicationError):
    """A credential or presentation that did not verify: HTTP 400 with the reason code as ``code``."""

    status = 400


class VerificationUnavailable(ApplicationError):
    """Every check that could run passed, but the Tangle node could not confirm the anchor: HTTP 503 with the code
    ``anchor_unverifiable``. Not a verdict on the credential; the same request may succeed later."""

    status = 503


def _refusal(result: VerificationResult) -> ApplicationError:
    fields = {"reason": [str(result.reason)]}
    if result.reason is Reason.ANCHOR_UNVERIFIABLE:
        return VerificationUnavailable(
            "The anchor could not be checked on the Tangle.", code=str(result.reason), fields=fields
        )
    return VerificationRefused("Verification failed.", code=str(result.reason), fields=fields)


def _credential_summary(result: VerificationResult) -> list[dict[str, Any]]:
    return [
        {"issuer": secured.issuer, "types": list(secured.types), "format": secured.format, "claims": secured.claims}
        for secured in result.credentials
    ]


def _anchor_receipt(issued: issuance.IssuedCredential) -> dict[str, str]:
    """What the holder needs to check the anchor later: the leaf, its salt and where its proof is published."""
    return {
        "leafHash": issued.leaf_hash,
        "leafSalt": issued.leaf_salt.hex(),
        "proof": f"/credentials/anchors/{issued.leaf_hash}",
    }


class IssuedCredentialSerializer(serializers.Serializer):
    """A credential handed to a wallet: the credential, its id, its securing format and the anchor receipt."""

    verifiableCredential = serializers.JSONField()
    credentialId = serializers.CharField()
    format = serializers.CharField()
    anchor = serializers.DictField()


def issued_credential_response(issued: issuance.IssuedCredential, *, securing_format: str) -> Response:
    """201 with a credential issued to a wallet (`IssuedCredentialSerializer`); the portal keeps only its record."""
    body = {
        "verifiableCredential": issued.verifiable_credential,
        "credentialId": issued.credential_id,
        "format": securing_format,
        "anchor": _anchor_receipt(issued),
    }
    return Response(IssuedCredentialSerializer(body).data, status=status.HTTP_201_CREATED)


class _SecuredValueField(serializers.JSONField):
    """A secured credential or presentation: a (SD-)JWT string or a JSON object."""

    def to_internal_value(self, data: Any) -> Any:
        if not isinstance(data, str | dict) or not data:
            raise serializers.ValidationError("Must be a JWT / SD-JWT string or a JSON object.")
        return data


class IssueOptionsSerializer(serializers.Serializer):
    format = serializers.ChoiceField(choices=issuance.FORMATS, default="vc-jwt")


class VerifyOptionsSerializer(serializers.Serializer):
    expectedHolder = serializers.CharField(required=False, max_length=300)
    allowPendingAnchor = serializers.BooleanField(default=False)


class PresentationOptionsSerializer(serializers.Serializer):
    challenge = serializers.CharField(max_length=200)
    domain = serializers.CharField(max_length=300)
    allowPendingAnchor = serializers.BooleanField(default=False)


class StatusEntrySerializer(serializers.Serializer):
    type = serializers.ChoiceField(choices=["BitstringStatusListEntry"])
    statusPurpose = serializers.ChoiceField(choices=["revocation", "suspension"])
    status = serializers.BooleanField()


class CredentialIssueApi(APIView):
    """Issue a credential as the caller: a registered issuer (issuer key) or the portal (back-office staff)."""

    authentication_classes = AUTHENTICATION
    permission_classes = [IsIssuerClient | IsBackOffice]

    class InputSerializer(serializers.Serializer):
        credential = serializers.DictField()
        options = IssueOptionsSerializer(required=False)

    class OutputSerializer(serializers.Serializer):
        verifiableCredential = serializers.JSONField()
        anchor = serializers.DictField()

    @extend_schema(request=InputSerializer, responses={201: OutputSerializer}, operation_id="credentials_issue")
    def post(self, request: Request) -> Response:
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        options = serializer.validated_data.get("options") or {"format": "vc-jwt"}
        if isinstance(request.auth, IssuerClient):
            party = issuance.issuing_party_for_issuer(issuer=request.auth.issuer)
        else:
            party = issuance.issuing_party_portal()
        issued = issuance.credential_issue(
            party=party, credential=serializer.validated_data["credential"], securing_format=options["format"]
        )
        body = {"verifiableCredential": issued.verifiable_credential, "anchor": _anchor_receipt(issued)}
        return Response(body, status=status.HTTP_201_CREATED)


class CredentialVerifyApi(APIView):
    """Verify one credential; 200 with the checks passed, or 400 whose ``code`` is the reason."""

    authentication_classes = AUTHENTICATION
    permission_classes = [IsIssuerClient | IsAnyRole]

    class InputSerializer(serializers.Serializer):
        verifiableCredential = _SecuredValueField()
        options = VerifyOptionsSerializer(required=False)

    class OutputSerializer(serializers.Serializer):
        verified = serializers.BooleanField()
        checks = serializers.ListField(child=serializers.CharField())
        credentials = serializers.ListField(child=serializers.DictField())

    @extend_schema(request=InputSerializer, responses=OutputSerializer, operation_id="credentials_verify")
    def post(self, request: Request) -> Response:
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        options = serializer.validated_data.get("options") or {}
        result = credential_verify(
            credential=serializer.validated_data["verifiableCredential"],
            expected_holder=options.get("expectedHolder"),
            allow_pending_anchor=options.get("allowPendingAnchor", False),
        )
        if not result.is_valid:
            raise _refusal(result)
        return Response({"verified": True, "checks": CHECKS, "credentials": _credential_summary(result)})


class PresentationVerifyApi(APIView):
    """Verify a presentation for the verifier's ``challenge`` and ``domain``; the answer holds only disclosed claims."""

    authentication_classes = AUTHENTICATION
    permission_classes = [IsIssuerClient | IsAnyRole]

    class InputSerializer(serializers.Serializer):
        verifiablePresentation = _SecuredValueField()
        options = PresentationOptionsSerializer()

    class OutputSerializer(serializers.Serializer):
        verified = serializers.BooleanField()
        checks = serializers.ListField(child=serializers.CharField())
        credentials = serializers.ListField(child=serializers.DictField())

    @extend_schema(request=InputSerializer, responses=OutputSerializer, operation_id="presentations_verify")
    def post(self, request: Request) -> Response:
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        options = serializer.validated_data["options"]
        result = presentation_verify(
            presentation=serializer.validated_data["verifiablePresentation"],
            challenge=options["challenge"],
            domain=options["domain"],
            allow_pending_anchor=options["allowPendingAnchor"],
        )
        if not result.is_valid:
            raise _refusal(result)
        return Response({"verified": True, "checks": CHECKS, "credentials": _credential_summary(result)})


class CredentialStatusUpdateApi(APIView):
    """Revoke, suspend or lift a suspension: an issuer for its own credentials, back-office staff for any."""

    authentication_classes = AUTHENTICATION
    permission_classes = [IsIssuerClient | IsBackOffice]

    class InputSerializer(serializers.Serializer):
        credentialId = serializers.CharField(max_length=45)
        credentialStatus = StatusEntrySerializer(many=True, allow_empty=False)

    class OutputSerializer(serializers.Serializer):
        credentialId = serializers.CharField()
        status = serializers.ChoiceField(choices=["active", "suspended", "revoked"])

    @extend_schema(request=InputSerializer, responses=OutputSerializer, operation_id="credentials_status_update")
    def post(self, request: Request) -> Response:
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        issuer_did = request.auth.issuer.did if isinstance(request.auth, IssuerClient) else None
        record = selectors.credential_record_get_for_issuer(
            credential_id=serializer.validated_data["credentialId"], issuer_did=issuer_did
        )
        for entry in serializer.validated_data["credentialStatus"]:
            if entry["statusPurpose"] == "revocation" and entry["status"]:
                record = status_services.credential_revoke(record=record)
            elif entry["statusPurpose"] == "revocation":
                if record.revoked_at is not None:
                    raise ConflictError("Revocation is final.", code="credential_revoked")
            else:
                record = status_services.credential_suspension_set(record=record, is_suspended=entry["status"])
        return Response({"credentialId": record.credential_id, "status": record.status_label})


class StatusListApi(APIView):
    """The published BitstringStatusListCredential (signed by the portal), public so any verifier can fetch it."""

    authentication_classes: list[type] = []
    permission_classes = [AllowAny]

    @extend_schema(responses={200: dict}, operation_id="credentials_status_list_get")
    def get(self, request: Request, list_id: str) -> Response:
        status_list = selectors.status_list_get(list_id=list_id)
        return Response(status_list.published_credential)


@require_GET
def status_list_token_view(request: HttpRequest, list_id: str) -> HttpResponse:
    """The revocation list's IETF Status List Token (``application/statuslist+jwt``), public like the W3C list;
    caches may keep it for its ``ttl``."""
    token = status_services.status_list_token_current(status_list=selectors.status_list_token_get(list_id=list_id))
    response = HttpResponse(token, content_type=MEDIA_TYPE)
    response["Cache-Control"] = f"public, max-age={status_services.TOKEN_TTL_SECONDS}"
    return response


class StatusListPublishApi(APIView):
    """Re-sign and publish a status list now (after a key rotation); 204."""

    authentication_classes = AUTHENTICATION
    permission_classes = [IsBackOffice]

    @extend_schema(request=None, responses={204: None}, operation_id="credentials_status_list_publish")
    def post(self, request: Request, list_id: str) -> Response:
        status_services.status_list_publish(status_list=selectors.status_list_get(list_id=list_id))
        return Response(status=status.HTTP_204_NO_CONTENT)


class AnchorProofApi(APIView):
    """Public inclusion proof of a leaf: leaf index, audit path, root and block id, to check offline."""

    authentication_classes: list[type] = []
    permission_classes = [AllowAny]

    class OutputSerializer(serializers.Serializer):
        leafHash = serializers.CharField()
        source = serializers.CharField()
        state = serializers.CharField()
        leafIndex = serializers.IntegerField(allow_null=True)
        treeSize = serializers.IntegerField(allow_null=True)
        auditPath = serializers.ListField(child=serializers.CharField())
        root = serializers.CharField(allow_null=True)
        blockId = serializers.CharField(allow_null=True)
        tag = serializers.CharField(allow_null=True)
        anchoredAt = serializers.DateTimeField(allow_null=True)

    @extend_schema(responses=OutputSerializer, operation_id="credentials_anchor_proof_get")
    def get(self, request: Request, leaf_hash: str) -> Response:
        leaf = selectors.anchor_leaf_get(leaf_hash=leaf_hash)
        is_anchored = leaf.state == leaf.State.ANCHORED
        batch = leaf.batch if is_anchored else None
        data = {
            "leafHash": leaf.leaf_hash,
            "source": leaf.source,
            "state": leaf.state,
            "leafIndex": leaf.leaf_index if is_anchored else None,
            "treeSize": batch.tree_size if batch else None,
            "auditPath": leaf.proof["audit_path"] if is_anchored else [],
            "root": batch.root if batch else None,
            "blockId": batch.block_id if batch else None,
            "tag": batch.tag if batch else None,
            "anchoredAt": leaf.anchored_at,
        }
        return Response(self.OutputSerializer(data).data)


class PortalDidDocumentApi(APIView):
    """The portal's did:web document (``/.well-known/did.json``), with every key that still verifies."""

    authentication_classes: list[type] = []
    permission_classes = [AllowAny]

    @extend_schema(
        responses={(200, "application/did+json"): OpenApiTypes.OBJECT}, operation_id="portal_did_document_get"
    )
    def get(self, request: Request) -> Response:
        return Response(keys.portal_did_document(), content_type="application/did+json")


class DealerDidDocumentApi(APIView):
    """A dealer organisation's did:web document (``/dealers/<slug>/did.json``)."""

    authentication_classes: list[type] = []
    permission_classes = [AllowAny]

    @extend_schema(
        responses={(200, "application/did+json"): OpenApiTypes.OBJECT}, operation_id="dealer_did_document_get"
    )
    def get(self, request: Request, slug: str) -> Response:
        selectors.dealer_organisation_get(slug=slug)
        return Response(keys.dealer_did_document(slug=slug), content_type="application/did+json")


class WalletCredentialRequestApi(APIView):
    """A customer's browser wallet asks for a demo credential for its did:key; it is returned, never stored."""

    permission_classes = [IsCustomer]

    class InputSerializer(serializers.Serializer):
        kind = serializers.ChoiceField(choices=wallet.DEMO_KINDS)
        holderDid = serializers.CharField(max_length=200)
        format = serializers.ChoiceField(choices=issuance.FORMATS, default="sd-jwt")

    OutputSerializer = IssuedCredentialSerializer

    @extend_schema(request=InputSerializer, responses={201: OutputSerializer}, operation_id="wallet_credential_request")
    def post(self, request: Request) -> Response:
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        issued = wallet.wallet_demo_credential_issue(
            kind=data["kind"], holder_did=data["holderDid"], securing_format=data["format"]
        )
        return issued_credential_response(issued, securing_format=data["format"])
