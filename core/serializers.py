"""DRF serializers on hot paths, without a serializer instance per call.

A DRF serializer deep-copies and binds its declared fields each time it is made: for a flat input of four fields
that copying cost more than validating them, and as much again for the output. `input_validated` and `output_data`
run the same field code (`Field.run_validation`, `Field.get_attribute`, `Field.to_representation`) on fields bound once
per serializer class. Anything the fast path does not cover exactly takes the serializer as usual: invalid input (so
every error, its wording and its code come from DRF itself), serializers with their own `validate`, `validate_<field>`,
`to_representation` or `Meta.validators`, and fields that read the serializer's context or nest serializers.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import serializers
from rest_framework.fields import Field, HiddenField, SerializerMethodField, SkipField
from rest_framework.relations import ManyRelatedField, PKOnlyObject, RelatedField


def input_validated(serializer_class: type[serializers.Serializer[Any]], data: Any) -> dict[str, Any]:
    """`serializer_class(data=data)`'s `validated_data` after `is_valid(raise_exception=True)`: the same values, or
    the same `ValidationError`."""
    plan = _plan(serializer_class)
    if plan.plain_input and isinstance(data, Mapping):
        validated: dict[str, Any] = {}
        try:
            for field in plan.writable:
                try:
                    validated[str(field.field_name)] = field.run_validation(field.get_value(data))
                except SkipField:
                    continue
        except (serializers.ValidationError, DjangoValidationError):
            pass  # DRF words the errors
        else:
            return validated
    serializer = serializer_class(data=data)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


def output_data(serializer_class: type[serializers.Serializer[Any]], instance: Any) -> dict[str, Any]:
    """`serializer_class(instance).data`, as a plain dict."""
    plan = _plan(serializer_class)
    if not plan.plain_output:
        return dict(serializer_class(instance).data)
    data: dict[str, Any] = {}
    for field in plan.readable:
        try:
            attribute = field.get_attribute(instance)
        except SkipField:
            continue
        value = attribute.pk if isinstance(attribute, PKOnlyObject) else attribute
        data[str(field.field_name)] = None if value is None else field.to_representation(attribute)
    return data


@dataclass(frozen=True)
class _Plan:
    writable: tuple[Field[Any, Any, Any, Any], ...]
    readable: tuple[Field[Any, Any, Any, Any], ...]
    plain_input: bool
    plain_output: bool


@functools.cache
def _plan(serializer_class: type[serializers.Serializer[Any]]) -> _Plan:
    """The class's fields bound once (to a serializer without data, context or instance), and whether the fast paths
    cover the class."""
    bound = serializer_class()
    fields = list(bound.fields.values())
    plain_fields = all(_is_plain(field) for field in fields)
    # Input is stored under the field's name; a dotted or renamed source would nest or rename it.
    named_sources = all(field.source_attrs == [field.field_name] for field in fields if not field.read_only)
    base = serializers.Serializer
    own_validation = (
        any(
            getattr(serializer_class, name) is not getattr(base, name)
            for name in ("validate", "run_validation", "to_internal_value", "run_validators")
        )
        or any(name.startswith("validate_") and not hasattr(base, name) for name in dir(serializer_class))
        or bool(bound.validators)
    )
    return _Plan(
        writable=tuple(field for field in fields if not field.read_only),
        readable=tuple(field for field in fields if not field.write_only),
        plain_input=plain_fields and named_sources and not own_validation,
        plain_output=plain_fields and serializer_class.to_representation is base.to_representation,
    )


def _is_plain(field: Field[Any, Any, Any, Any]) -> bool:
    """A field whose validation and output read nothing but its own settings and the value."""
    if isinstance(field, serializers.BaseSerializer | RelatedField | ManyRelatedField | SerializerMethodField):
        return False
    if isinstance(field, HiddenField) or getattr(field.default, "requires_context", False):
        return False
    return not any(getattr(validator, "requires_context", False) for validator in field.validators)
