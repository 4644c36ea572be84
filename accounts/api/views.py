"""Account API: who am I, and API tokens for dealer-management systems and scripts."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import selectors, services
from accounts.permissions import IsAnyRole, IsDealerOrBackOffice


class MeApi(APIView):
    """The authenticated user's role and organisation."""

    permission_classes = [IsAnyRole]

    class OutputSerializer(serializers.Serializer):
        id = serializers.IntegerField()
        email = serializers.EmailField()
        role = serializers.CharField()
        dealer_organisation = serializers.CharField(allow_null=True)

    @extend_schema(responses=OutputSerializer, operation_id="accounts_me_get")
    def get(self, request: Request) -> Response:
        user = request.user
        organisation = user.dealer_organisation.slug if user.dealer_organisation_id else None
        data = {"id": user.pk, "email": user.email, "role": user.role, "dealer_organisation": organisation}
        return Response(self.OutputSerializer(data).data)


class ApiTokenListApi(APIView):
    """Lists the caller's active tokens (names and prefixes, never the token)."""

    permission_classes = [IsDealerOrBackOffice]

    class OutputSerializer(serializers.Serializer):
        id = serializers.IntegerField()
        name = serializers.CharField()
        prefix = serializers.CharField()
        created_at = serializers.DateTimeField()
        last_used_at = serializers.DateTimeField(allow_null=True)

    @extend_schema(responses=OutputSerializer(many=True), operation_id="accounts_api_tokens_list")
    def get(self, request: Request) -> Response:
        tokens = selectors.api_token_list_for_user(user=request.user)
        return Response(self.OutputSerializer(tokens, many=True).data)


class ApiTokenCreateApi(APIView):
    """Issues a token; the raw value appears in this response only."""

    permission_classes = [IsDealerOrBackOffice]

    class InputSerializer(serializers.Serializer):
        name = serializers.CharField(max_length=100)

    class OutputSerializer(serializers.Serializer):
        id = serializers.IntegerField()
        name = serializers.CharField()
        token = serializers.CharField()

    @extend_schema(
        request=InputSerializer, responses={201: OutputSerializer}, operation_id="accounts_api_tokens_create"
    )
    def post(self, request: Request) -> Response:
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        token, raw = services.api_token_create(user=request.user, name=serializer.validated_data["name"])
        body = self.OutputSerializer({"id": token.pk, "name": token.name, "token": raw}).data
        return Response(body, status=status.HTTP_201_CREATED)


class ApiTokenRevokeApi(APIView):
    """Revokes one of the caller's tokens; another user's token is reported as not found."""

    permission_classes = [IsDealerOrBackOffice]

    @extend_schema(request=None, responses={204: None}, operation_id="accounts_api_tokens_revoke")
    def delete(self, request: Request, token_id: int) -> Response:
        token = selectors.api_token_get_for_user(user=request.user, token_id=token_id)
        services.api_token_revoke(token=token)
        return Response(status=status.HTTP_204_NO_CONTENT)
