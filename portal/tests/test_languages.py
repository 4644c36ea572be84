"""German and English: the browser's language, the header switch remembered per user, locale input and output,
times in the user's zone with the zone named, and no internal words on the pages of each role."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from decimal import Decimal

import pytest
from django.test import Client
from django.utils import translation

from accounts.models import User
from accounts.roles import Role
from accounts.tests.factories import TEST_PASSWORD
from core.form_fields import parse_localized_decimal
from core.locale_format import format_money, format_when
from core.money import Money
from leasing.models import Quote
from leasing.tests import factories
from machines.selectors import ChartPoint, energy_and_spending_by_day
from payments.tests.qr.factories import paid_code_create, product_create
from portal.context_processors import _LINKS

pytestmark = pytest.mark.django_db

CALCULATOR = {
    "product": "mileage-36",
    "term_months": "36",
    "yearly_km": "15000",
    "timing": "in_arrears",
}


@pytest.fixture
def mileage_product(db):
    return factories.mileage_lease_product()


def _text(page: str) -> str:
    """What a person reads: the page without scripts, styles, tags and attribute values."""
    page = re.sub(r"(?s)<(script|style|svg)\b.*?</\1>", " ", page)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page))


def test_a_german_browser_gets_german_pages_and_an_english_one_or_none_english():
    german = Client(HTTP_ACCEPT_LANGUAGE="de-DE,de;q=0.9,en;q=0.5").get("/accounts/login/").content.decode()
    english = Client(HTTP_ACCEPT_LANGUAGE="en-GB,en;q=0.9").get("/accounts/login/").content.decode()
    unspecified = Client().get("/accounts/login/").content.decode()

    assert '<html lang="de">' in german and "Passwort vergessen?" in german and ">Anmelden<" in german
    assert '<html lang="en">' in english and "Forgot your password?" in english
    assert '<html lang="en">' in unspecified and "Forgot your password?" in unspecified


def test_a_german_date_and_amounts_are_accepted_by_the_calculator_and_shown_the_german_way(mileage_product):
    client = Client(HTTP_ACCEPT_LANGUAGE="de")
    response = client.post(
        "/leasing/",
        CALCULATOR | {"price": "30.000,00", "down_payment": "3.000", "start_date": "01.01.2027"},
    )

    quote = Quote.objects.get()
    assert response.status_code == 302
    assert (quote.price, quote.down_payment, quote.start_date) == (3_000_000, 300_000, dt.date(2027, 1, 1))
    page = client.get(response["Location"]).content.decode()
    monthly_total = format_money(Money(quote.monthly_total, "EUR"), language="de")
    assert re.fullmatch(r"\d{1,3}(\.\d{3})*,\d{2}\xa0€", monthly_total)
    assert f"{monthly_total} pro Monat" in page
    assert '<html lang="de">' in page and "Effektiver Jahreszins" in page


def test_an_impossible_german_date_is_refused_and_no_quote_is_stored(mileage_product):
    response = Client(HTTP_ACCEPT_LANGUAGE="de").post(
        "/leasing/", CALCULATOR | {"price": "30.000,00", "down_payment": "0", "start_date": "31.02.2027"}
    )

    assert response.status_code == 400
    assert "Bitte ein gültiges Datum eingeben." in response.content.decode()
    assert Quote.objects.count() == 0


def test_the_quote_api_reads_a_dotted_start_date(mileage_product):
    body = {"product_code": "mileage-36", "price": 3_000_000, "down_payment": 0, "term_months": 36}
    response = Client(HTTP_ACCEPT_LANGUAGE="de").post(
        "/api/leasing/quotes",
        body | {"yearly_km": 15000, "start_date": "01.01.2027"},
        content_type="application/json",
    )

    assert response.status_code == 201, response.content
    assert Quote.objects.get().start_date == dt.date(2027, 1, 1)


def test_the_quote_api_refuses_a_bad_date_with_its_code_and_a_german_detail(mileage_product):
    body = {"product_code": "mileage-36", "price": 3_000_000, "term_months": 36, "yearly_km": 15000}
    response = Client(HTTP_ACCEPT_LANGUAGE="de").post(
        "/api/leasing/quotes", body | {"start_date": "31.02.2027"}, content_type="application/json"
    )

    assert response.status_code == 400
    assert response.json()["code"] == "invalid_input"
    assert response.json()["fields"]["start_date"][0].startswith("Datum hat das falsche Format")
    assert Quote.objects.count() == 0


@pytest.mark.parametrize(
    ("text", "language", "value"),
    [
        ("1.234,56", "de", Decimal("1234.56")),
        ("1234,56", "de", Decimal("1234.56")),
        ("1.234", "de", Decimal("1234")),
        ("1234.56", "de", Decimal("1234.56")),
        ("1,234.56", "en", Decimal("1234.56")),
        ("1,234", "en", Decimal("1234")),
        ("€ 1 234,56", "de", Decimal("1234.56")),
    ],
)
def test_amounts_are_read_in_the_writers_convention(text, language, value):
    assert parse_localized_decimal(text, language=language) == value


@pytest.mark.parametrize("text", ["1.2.3", "12,34,56", "abc", "1,2,3.4.5", ""])
def test_unreadable_amounts_are_refused(text):
    with pytest.raises(ValueError):
        parse_localized_decimal(text, language="de")


def test_the_language_switch_is_remembered_on_the_account_across_logout_and_login(customer):
    client = Client()
    client.post("/accounts/login/", {"email": customer.email, "password": TEST_PASSWORD})
    switched = client.post("/accounts/language/", {"language": "de", "next": "/"})
    client.post("/accounts/logout/")

    assert switched.status_code == 302
    assert User.objects.get(pk=customer.pk).language == "de"
    other_device = Client(HTTP_ACCEPT_LANGUAGE="en")  # a browser that asks for English and has no language cookie
    assert '<html lang="en">' in other_device.get("/accounts/login/").content.decode()
    other_device.post("/accounts/login/", {"email": customer.email, "password": TEST_PASSWORD})
    page = other_device.get("/").content.decode()
    assert '<html lang="de">' in page and "Abmelden" in page


def test_an_unknown_language_is_not_stored(customer):
    client = Client()
    client.force_login(customer)
    client.post("/accounts/language/", {"language": "xx", "next": "/"})

    assert User.objects.get(pk=customer.pk).language == ""


def test_the_settings_page_stores_the_time_zone_and_refuses_an_unknown_one(customer):
    client = Client()
    client.force_login(customer)
    saved = client.post("/accounts/settings/", {"language": "", "time_zone": "America/New_York"})
    refused = client.post("/accounts/settings/", {"language": "", "time_zone": "Mars/Olympus_Mons"})

    assert saved.status_code == 302 and refused.status_code == 200
    assert User.objects.get(pk=customer.pk).time_zone == "America/New_York"


def test_times_name_their_zone_in_both_languages(settings):
    moment = dt.datetime(2026, 12, 6, 13, 5, tzinfo=dt.UTC)
    with translation.override("de"):
        assert format_when(moment) == "06.12.2026, 14:05 MEZ"
    with translation.override("en"):
        assert format_when(moment) == "6 Dec 2026, 14:05 CET"


def test_the_csv_export_gives_times_in_the_users_zone_with_the_offset(customer):
    customer.time_zone = "America/New_York"
    customer.save(update_fields=["time_zone"])
    paid_code_create(owner=customer, amount=5_000, product=product_create())
    client = Client()
    client.force_login(customer)

    rows = list(csv.DictReader(io.StringIO(client.get("/payments/qr/statement.csv").content.decode())))

    assert len(rows) == 1
    booked_at = dt.datetime.fromisoformat(rows[0]["booked_at"])
    assert booked_at.utcoffset() == dt.timedelta(hours=-5)  # New York in December
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d-05:00", rows[0]["booked_at"])


def test_the_energy_chart_files_a_session_after_midnight_under_the_local_day():
    class Invoice:
        energy_wh, charged_amount = 12_000, 480

    class Session:
        status = "settled"
        invoice = Invoice()
        started_at = dt.datetime(2026, 12, 5, 23, 51, tzinfo=dt.UTC)  # 00:51 on 6 December in Berlin

    from zoneinfo import ZoneInfo

    assert energy_and_spending_by_day(sessions=[Session()], zone=ZoneInfo("Europe/Berlin")) == [
        ChartPoint(dt.date(2026, 12, 6), 12_000, 480)
    ]
    assert energy_and_spending_by_day(sessions=[Session()], zone=dt.UTC) == [
        ChartPoint(dt.date(2026, 12, 5), 12_000, 480)
    ]


_INTERNAL = [
    re.compile(r"\b[a-z]+(_[a-z]+)+\b"),  # snake_case codes
    re.compile(r"\buser \d+\b", re.IGNORECASE),
    re.compile(r"\bcents?\b", re.IGNORECASE),
    re.compile(r"minor units", re.IGNORECASE),
]


@pytest.mark.parametrize("language", ["en", "de"])
@pytest.mark.parametrize("role", [Role.CUSTOMER, Role.DEALER, Role.BACK_OFFICE])
def test_the_main_pages_of_each_role_show_no_internal_words(role, language, make_user, client_for):
    user = make_user(role)
    user.language = language
    user.save(update_fields=["language"])
    if role == Role.CUSTOMER:
        paid_code_create(owner=user, amount=5_000, product=product_create())
    client = client_for(user)
    from django.urls import reverse

    pages = ["/"] + [reverse(name) for _label, name in _LINKS[role] if name != "api-docs"]
    found = {}
    for path in pages:
        response = client.get(path)
        assert response.status_code == 200, path
        text = _text(response.content.decode())
        hits = sorted({match.group(0) for pattern in _INTERNAL for match in pattern.finditer(text)})
        if hits:
            found[path] = hits
    assert found == {}


def test_references_are_shown_short_and_without_the_ledger_prefix():
    from portal.templatetags.when import short_reference

    assert short_reference("qr-purchase:1cff8415-9d2e-4b7a-a1f0-5d2c0e7b9a11") == "1CFF8415"
    assert short_reference("INV7KQ2MZX4P") == "INV7KQ2MZX4P"
    assert short_reference("") == ""


def test_a_german_customer_sees_german_dashboard_panels_and_the_wallet_gets_language_and_zone(customer):
    customer.language, customer.time_zone = "de", "America/New_York"
    customer.save(update_fields=["language", "time_zone"])
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(customer)

    dashboard = client.get("/").content.decode()
    wallet = client.get("/identity/wallet/").content.decode()

    assert "Meine Übersicht" in dashboard and "Code kaufen" in dashboard and "Buy a code" not in dashboard
    assert 'data-language="de"' in wallet and 'data-time-zone="America/New_York"' in wallet
    assert 'data-text-credit-history-credential="Bonitätsauskunft"' in wallet
