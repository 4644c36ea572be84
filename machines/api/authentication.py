"""DRF authentication of vehicles by signed requests (see machines.services.machine_api for the scheme)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework.authentication import BaseAuthentication
from rest_framework.permissions import BasePermission
from rest_framework.request import Request

from machines.models import Vehicle
from machines.services.machine_api import machine_request_authenticate


class MachinePrincipal:
    """The authenticated caller of the machine API: a vehicle, not a person."""

    is_authenticated = True
    is_anonymous = False

    def __init__(self, vehicle: Vehicle) -> None:
        self.vehicle = vehicle
        self.pk = f"vehicle:{vehicle.pk}"  # throttles key on it
        self.role = None


class MachineSignatureAuthentication(BaseAuthentication):
    """Reads the X-Machine-* headers; a request without them is not a machine request (None)."""

    def authenticate(self, request: Request) -> tuple[MachinePrincipal, Vehicle] | None:
        headers = request.headers
        if "X-Machine-DID" not in headers and "X-Machine-Signature" not in headers:
            return None
        vehicle = machine_request_authenticate(
            did=headers.get("X-Machine-DID", ""),
            timestamp=headers.get("X-Machine-Timestamp", ""),
            nonce=headers.get("X-Machine-Nonce", ""),
            signature=headers.get("X-Machine-Signature", ""),
            method=request.method or "GET",
            path=request.get_full_path(),
            body=request.body,
        )
        return MachinePrincipal(vehicle), vehicle

    def authenticate_header(self, request: Request) -> str:
        return 'Machine-Signature realm="finlab-machines"'


class IsMachine(BasePermission):
    message = "Sign the request with the vehicle's did:key (X-Machine-* headers)."

    def has_permission(self, request: Request, view: Any) -> bool:
        return isinstance(request.user, MachinePrincipal)


class MachineSignatureScheme(OpenApiAuthenticationExtension):
    target_class = "machines.api.authentication.MachineSignatureAuthentication"
    name = "machineSignature"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {
            "type": "apiKey",
            "in": "header",
            "name": "X-Machine-Signature",
            "description": "Ed25519 signature by the vehicle's did:key over method, path, timestamp, nonce and body "
            "digest; with X-Machine-DID, X-Machine-Timestamp and X-Machine-Nonce.",
        }
