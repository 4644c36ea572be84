"""The move out of identity kept what the outside sees: Celery task names (queued messages and beat name them) and
the URL paths dealers' systems, wallets and sent links use."""

from __future__ import annotations

from django.urls import reverse

from portal.celery import app


def test_the_tasks_keep_their_names():
    app.loader.import_default_modules()

    assert sorted(name for name in app.tasks if "credit" in name) == [
        "identity.credit_check_webhook_deliver",
        "identity.credit_checks_purge",
        "leasing.credit_verdicts_collect",
    ]


def test_the_paths_stay_where_they_were():
    assert [
        reverse("credit_checks:credit-check-list"),
        reverse("credit_checks:credit-check-respond", kwargs={"link_token": "abc"}),
        reverse("credit_checks:payment-history"),
        reverse("credit_checks-api:credit-check-create"),
        reverse("credit_checks-api:credit-check-webhook"),
        reverse("credit_checks-api:payment-history-credential"),
    ] == [
        "/identity/credit-checks/",
        "/identity/credit-checks/respond/abc/",
        "/identity/credit-checks/payment-history/",
        "/api/identity/credit-checks",
        "/api/identity/credit-checks/webhook",
        "/api/identity/credit-checks/payment-history",
    ]
