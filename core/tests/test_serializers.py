"""core.serializers: the fast paths answer exactly what the DRF serializer answers, errors included."""

from __future__ import annotations

import datetime as dt
import uuid
from types import SimpleNamespace
from typing import Any

import pytest
from django.utils import timezone
from rest_framework import serializers

from core.serializers import input_validated, output_data


class Payment(serializers.Serializer):
    token = serializers.CharField(max_length=40)
    amount = serializers.IntegerField(min_value=1, max_value=10**11)
    currency = serializers.RegexField(r"^[A-Z]{3}$")
    reference = serializers.CharField(max_length=8, required=False, allow_blank=True, default="")
    note = serializers.CharField(required=False)


class PaymentWithOwnRule(Payment):
    def validate_amount(self, value: int) -> int:
        if value == 13:
            raise serializers.ValidationError("Unlucky.", code="unlucky")
        return value


class Shown(serializers.Serializer):
    id = serializers.UUIDField(source="public_id")
    status = serializers.CharField()
    amount = serializers.IntegerField()
    code = serializers.CharField(source="code.short_id")
    created_at = serializers.DateTimeField()
    resolved_at = serializers.DateTimeField()
    secret = serializers.CharField(write_only=True)


INPUTS: list[Any] = [
    {"token": "FLQ1:abc", "amount": 5, "currency": "EUR"},
    {"token": "  FLQ1:abc ", "amount": "7", "currency": " EUR ", "reference": "r-1", "note": "n"},
    {"token": "FLQ1:abc", "amount": 5.0, "currency": "EUR", "reference": ""},
    {"token": 12345, "amount": 10**11, "currency": "USD", "extra": "ignored"},
    {"token": "", "amount": 5, "currency": "EUR"},
    {"token": "   ", "amount": 5, "currency": "EUR"},
    {"token": "x" * 41, "amount": 5, "currency": "EUR"},
    {"token": "a\x00b", "amount": 5, "currency": "EUR"},
    {"token": "FLQ1:abc", "amount": 0, "currency": "EUR"},
    {"token": "FLQ1:abc", "amount": 10**11 + 1, "currency": "EUR"},
    {"token": "FLQ1:abc", "amount": True, "currency": "EUR"},
    {"token": "FLQ1:abc", "amount": 5.5, "currency": "EUR"},
    {"token": "FLQ1:abc", "amount": None, "currency": "EUR"},
    {"token": ["FLQ1"], "amount": 5, "currency": "eur"},
    {"token": "FLQ1:abc", "amount": 5, "currency": "EURO"},
    {"token": "FLQ1:abc", "amount": 5, "currency": "EUR", "reference": "too long!"},
    {"token": "FLQ1:abc", "amount": 5, "currency": "EUR", "reference": None},
    {"token": "FLQ1:abc", "amount": 13, "currency": "EUR"},
    {"amount": 5},
    {},
    [],
    "text",
    None,
]


def _drf(serializer_class: type[serializers.Serializer], data: Any) -> tuple[str, Any]:
    serializer = serializer_class(data=data)
    if serializer.is_valid():
        return "valid", serializer.validated_data
    return "invalid", (serializer.errors, serializers.ValidationError(serializer.errors).get_codes())


def _fast(serializer_class: type[serializers.Serializer], data: Any) -> tuple[str, Any]:
    try:
        return "valid", input_validated(serializer_class, data)
    except serializers.ValidationError as error:
        return "invalid", (error.detail, error.get_codes())


@pytest.mark.parametrize("serializer_class", [Payment, PaymentWithOwnRule])
@pytest.mark.parametrize("data", INPUTS, ids=range(len(INPUTS)))
def test_input_is_validated_as_the_serializer_validates_it(serializer_class, data):
    assert _fast(serializer_class, data) == _drf(serializer_class, data)


def test_a_serializer_with_its_own_rules_keeps_them():
    outcome, (_, codes) = _fast(PaymentWithOwnRule, {"token": "FLQ1:abc", "amount": 13, "currency": "EUR"})

    assert (outcome, codes) == ("invalid", {"amount": ["unlucky"]})


@pytest.mark.parametrize("zone", ["UTC", "Europe/Berlin", "America/New_York"])
def test_output_is_the_serializers_data_in_the_active_time_zone(zone):
    instance = SimpleNamespace(
        public_id=uuid.uuid4(),
        status="authorized",
        amount=42,
        code=SimpleNamespace(short_id="5E427948"),
        created_at=dt.datetime(2026, 12, 6, 10, 38, 27, 567810, tzinfo=dt.UTC),
        resolved_at=None,
        secret="never shown",
    )

    with timezone.override(zone):
        assert output_data(Shown, instance) == Shown(instance).data


def test_the_fast_paths_cover_flat_serializers_and_leave_the_others_to_drf():
    from core.serializers import _plan

    assert _plan(Payment).plain_input and _plan(Shown).plain_output
    assert not _plan(PaymentWithOwnRule).plain_input
    assert not _plan(Shown).plain_input  # a dotted source would nest the input
