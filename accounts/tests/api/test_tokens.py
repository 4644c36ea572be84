import pytest

from accounts.models import ApiToken

pytestmark = pytest.mark.django_db


def test_dealer_creates_a_token_and_uses_it_as_a_bearer(client_for, dealer):
    response = client_for(dealer).post("/api/accounts/tokens/new", {"name": "DMS"}, content_type="application/json")

    assert response.status_code == 201
    raw = response.json()["token"]
    stored = ApiToken.objects.get()
    assert raw not in (stored.key_hash, stored.prefix) and stored.prefix == raw[:8]
    from django.test import Client

    me = Client().get("/api/accounts/me", headers={"Authorization": f"Bearer {raw}"})
    assert me.status_code == 200
    assert me.json() == {
        "id": dealer.pk,
        "email": dealer.email,
        "role": "dealer",
        "dealer_organisation": dealer.dealer_organisation.slug,
    }


def test_revoked_and_unknown_tokens_are_refused(client_for, dealer):
    from django.test import Client

    client = client_for(dealer)
    created = client.post("/api/accounts/tokens/new", {"name": "DMS"}, content_type="application/json").json()
    assert client.delete(f"/api/accounts/tokens/{created['id']}").status_code == 204

    for header in (f"Bearer {created['token']}", "Bearer fl_unknown", "Bearer a b"):
        response = Client().get("/api/accounts/me", headers={"Authorization": header})
        assert response.status_code == 401
        assert response.json()["code"] == "authentication_failed"


def test_another_users_token_is_not_found(client_for, dealer, back_office):
    created = client_for(dealer).post("/api/accounts/tokens/new", {"name": "DMS"}, content_type="application/json")

    response = client_for(back_office).delete(f"/api/accounts/tokens/{created.json()['id']}")

    assert response.status_code == 404
    assert ApiToken.objects.get().revoked_at is None


def test_last_use_is_recorded_at_most_once_a_minute(dealer):
    import datetime as dt

    from django.test import Client

    from accounts.services import api_token_create

    token, raw = api_token_create(user=dealer, name="DMS")
    client = Client(headers={"Authorization": f"Bearer {raw}"})

    assert client.get("/api/accounts/me").status_code == 200
    first_use = ApiToken.objects.get(pk=token.pk).last_used_at
    assert first_use is not None

    client.get("/api/accounts/me")
    assert ApiToken.objects.get(pk=token.pk).last_used_at == first_use

    ApiToken.objects.filter(pk=token.pk).update(last_used_at=first_use - dt.timedelta(seconds=61))
    client.get("/api/accounts/me")
    assert ApiToken.objects.get(pk=token.pk).last_used_at > first_use


def test_a_token_call_answers_in_the_token_owners_language(client_for, dealer):
    # The middleware sets the signed-in user's language before DRF has authenticated a token; the token owner's
    # choice must still win over the caller's Accept-Language.
    from django.test import Client

    raw = client_for(dealer).post("/api/accounts/tokens/new", {"name": "DMS"}, content_type="application/json").json()
    dealer.language, dealer.time_zone = "de", "Europe/Berlin"
    dealer.save(update_fields=["language", "time_zone"])

    response = Client().get(
        "/api/identity/credit-checks/00000000-0000-4000-8000-000000000000",
        headers={"Authorization": f"Bearer {raw['token']}", "Accept-Language": "en"},
    )

    assert response.status_code == 404
    assert response["Content-Language"] == "de"
    assert response.json()["code"] == "not_found"
    assert response.json()["detail"] == "Nicht gefunden."
