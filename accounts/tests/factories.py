"""Factories for people and organisations; they go through the services like production code does."""

from __future__ import annotations

import factory

from accounts import services
from accounts.models import DealerOrganisation, User
from accounts.roles import Role

TEST_PASSWORD = "correct-horse-battery-9"


class DealerOrganisationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = DealerOrganisation

    name = factory.Sequence(lambda n: f"Autohaus {n}")
    slug = factory.Sequence(lambda n: f"autohaus-{n}")

    @classmethod
    def _create(cls, model_class: type, *args: object, **kwargs: object) -> DealerOrganisation:
        return services.dealer_organisation_create(name=kwargs["name"], slug=kwargs["slug"])


class UserFactory(factory.Factory):
    class Meta:
        model = User

    email = factory.Sequence(lambda n: f"person{n}@example.test")
    password = TEST_PASSWORD
    role = Role.CUSTOMER
    dealer_organisation = factory.Maybe(
        factory.LazyAttribute(lambda o: o.role == Role.DEALER), factory.SubFactory(DealerOrganisationFactory), None
    )

    @classmethod
    def _create(cls, model_class: type, *args: object, **kwargs: object) -> User:
        return services.user_create(**kwargs)  # type: ignore[arg-type]
