"""Fixtures shared by every app's tests: users per role and clients logged in as them."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.core.cache import cache
from django.test import Client
from django_otp import DEVICE_ID_SESSION_KEY

from accounts import services
from accounts.models import User
from accounts.roles import Role
from accounts.tests.factories import DealerOrganisationFactory, UserFactory


@pytest.fixture(autouse=True)
def _clear_cache() -> None:
    """Rate-limit and lockout counters live in the cache; each test starts from none."""
    cache.clear()


@pytest.fixture
def make_user(db: None) -> Callable[..., User]:
    def make(role: Role = Role.CUSTOMER, **kwargs: object) -> User:
        return UserFactory(role=role, **kwargs)

    return make


@pytest.fixture
def customer(make_user: Callable[..., User]) -> User:
    return make_user(Role.CUSTOMER)


@pytest.fixture
def dealer_organisation(db: None):
    return DealerOrganisationFactory()


@pytest.fixture
def dealer(make_user: Callable[..., User], dealer_organisation) -> User:
    return make_user(Role.DEALER, dealer_organisation=dealer_organisation)


@pytest.fixture
def back_office(make_user: Callable[..., User]) -> User:
    return make_user(Role.BACK_OFFICE)


def login_client(user: User) -> Client:
    """A test client logged in as `user`, past the second factor for the roles that need one."""
    client = Client()
    client.force_login(user)
    if user.role in (Role.DEALER, Role.BACK_OFFICE):
        device = services.totp_device_create_confirmed(user=user)
        session = client.session
        session[DEVICE_ID_SESSION_KEY] = device.persistent_id
        session.save()
    return client


@pytest.fixture
def client_for() -> Callable[[User], Client]:
    return login_client
