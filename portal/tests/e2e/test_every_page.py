"""In headless Chromium: every page each role reaches, on a phone (360 x 740) and a desktop (1280 x 800), in German and in
English, is checked for what a person would trip over.

Pages are found as a person finds them: from each role's home page, following same-origin links (no log-out, no
downloads, no API), a few levels deep, over the demo data plus what a working portal holds after a while (a lease
application waiting for its credit check, an active contract, a credit check a dealer opened). A page fails on

- horizontal overflow of the whole page (tables may scroll inside their own box),
- two visible links, buttons or fields that overlap,
- a QR code that is not whole in the viewport or is covered by something else at its centre or corners,
- an English sentence on a German page, text that reads like an internal code (``snake_case``, ``qr-purchase:``
  references, "cents"),
- a serious or critical violation reported by axe-core (npm, pinned in portal/tests/e2e/js/package.json).

Every problem is collected and reported together (also written to test-artifacts/every-page.txt), so one run shows
all there is to fix.
"""

from __future__ import annotations

import re
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from django.urls import reverse
from django_otp.oath import totp

from accounts.models import EncryptedTotpDevice, User
from accounts.roles import Role
from conftest import ARTIFACTS_DIR
from portal.tests.e2e.page_checks import INTERNAL_CODE, VISIBLE_TEXT_JS, is_english_sentence

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]

AXE = Path(__file__).resolve().parent / "js" / "node_modules" / "axe-core" / "axe.min.js"
VIEWPORTS = ({"width": 360, "height": 740}, {"width": 1280, "height": 800})
LANGUAGES = ("de", "en")
MAX_DEPTH = 3
MAX_PAGES_PER_ROLE = 80

# Paths never opened by the crawl: they end the session, download a file, answer machines, or spend a one-time link.
SKIPPED_PATH = re.compile(
    r"^/(api/|admin/|health/|accounts/(logout|confirm|password-reset/confirm)|\.well-known/)"
    r"|\.(pdf|csv|xml|json|png|svg|txt|zip)$|/(download|export)/"
)
# The query strings a link may carry that make a different page (pagination, filters); others are dropped.
KEPT_QUERY = re.compile(r"^(page=\d+)$")

# Layout problems at the current viewport: page overflow, overlapping controls, QR codes not whole or covered.
LAYOUT_JS = """() => {
  const problems = [];
  const width = window.innerWidth;
  if (document.documentElement.scrollWidth > width) {
    const wide = [...document.body.querySelectorAll('*')]
      .filter(el => el.getBoundingClientRect().right > width + 1 && getComputedStyle(el).position !== 'fixed')
      .filter(el => !el.closest('.table-scroll, .scroll-x'))
      .slice(-3).map(el => el.tagName.toLowerCase() + (el.getAttribute('class') ? '.' + el.getAttribute('class') : '')
        + (el.id ? '#' + el.id : ''));
    problems.push(`page is ${document.documentElement.scrollWidth}px wide (widest: ${wide.join(', ')})`);
  }
  const visible = el => {
    if (el.type === 'hidden' || !el.getClientRects().length) return false;
    const style = getComputedStyle(el);
    if (style.visibility === 'hidden' || style.opacity === '0') return false;
    if (el.closest('[hidden], details:not([open]) > :not(summary)')) return false;
    const rect = el.getBoundingClientRect();
    if (rect.width < 1 || rect.height < 1) return false;
    // Visually hidden labels and skip links are moved off-screen on purpose.
    if (rect.right < 0 || rect.bottom < -window.scrollY || rect.left > document.documentElement.scrollWidth) return false;
    return true;
  };
  const describe = el => {
    const text = (el.innerText || el.value || el.name || el.id || '').trim().slice(0, 30);
    return `${el.tagName.toLowerCase()} "${text}"`;
  };
  const controls = [...document.querySelectorAll('a, button, input, select, textarea')].filter(visible);
  // One box per line of a link that wraps: its bounding box would span both lines and "overlap" its neighbours.
  const boxes = controls.map(el => [...el.getClientRects()]);
  const intersects = (a, b) => Math.min(a.right, b.right) - Math.max(a.left, b.left) > 1
    && Math.min(a.bottom, b.bottom) - Math.max(a.top, b.top) > 1;
  for (let i = 0; i < controls.length; i++) {
    for (let j = i + 1; j < controls.length; j++) {
      if (controls[i].contains(controls[j]) || controls[j].contains(controls[i])) continue;
      if (boxes[i].some(a => boxes[j].some(b => intersects(a, b)))) {
        problems.push(`${describe(controls[i])} overlaps ${describe(controls[j])}`);
      }
    }
  }
  for (const qr of document.querySelectorAll('img.qr, .qr img, .qr svg, [data-testid$=qr] img, [data-testid$=qr] svg, img[data-testid$=qr]')) {
    if (!qr.checkVisibility()) continue;  // e.g. the spare code inside a closed <details>: not shown, not scanned
    qr.scrollIntoView({block: 'center', inline: 'center'});
    const r = qr.getBoundingClientRect();
    if (r.left < 0 || r.right > window.innerWidth || r.width < 1) {
      problems.push(`QR code not whole in the viewport (${Math.round(r.left)}..${Math.round(r.right)} of ${window.innerWidth}px)`);
      continue;
    }
    const inset = 3;
    const points = [[r.left + r.width / 2, r.top + r.height / 2], [r.left + inset, r.top + inset],
      [r.right - inset, r.top + inset], [r.left + inset, r.bottom - inset], [r.right - inset, r.bottom - inset]];
    for (const [x, y] of points) {
      if (y < 0 || y > window.innerHeight) continue;
      const hit = document.elementFromPoint(x, y);
      if (!hit || !(hit === qr || qr.contains(hit))) {
        problems.push(`QR code covered at (${Math.round(x)}, ${Math.round(y)}) by ${hit ? describe(hit) : 'nothing'}`);
        break;
      }
    }
  }
  window.scrollTo(0, 0);
  return problems;
}"""

AXE_JS = """async () => {
  const result = await axe.run(document, {resultTypes: ['violations']});
  return result.violations.filter(v => v.impact === 'serious' || v.impact === 'critical').map(v =>
    `axe ${v.impact} ${v.id}: ${v.help} (${v.nodes.slice(0, 3).map(n => n.target.join(' ')).join('; ')})`);
}"""


@dataclass
class CrawlReport:
    problems: list[str] = field(default_factory=list)
    pages: int = 0

    def add(self, where: str, what: str) -> None:
        self.problems.append(f"{where}: {what}")


def _demo_world() -> tuple[dict[Role, User], dict[Role | None, list[str]]]:
    """The demo data (users, codes, vehicle, station, session, invoice) plus a lease application waiting for its credit
    check, an active contract and a credit check a dealer opened: what a portal holds after some use.

    Also the pages each role starts from besides its home page: pages of objects a person reaches from an e-mail or a
    form's answer rather than from a link (a quote, an application)."""
    from credit_checks.services import credit_check_request_create
    from leasing.demo import leasing_demo_data_load
    from leasing.services import applications
    from leasing.tests import factories as leasing_factories
    from portal.demo import DEMO_LOGINS, demo_data_load

    demo_data_load()
    users = {login.role: User.objects.get(email=login.email) for login in DEMO_LOGINS}
    product = leasing_demo_data_load()[0]
    customer, dealer, staff = users[Role.CUSTOMER], users[Role.DEALER], users[Role.BACK_OFFICE]
    leasing_factories.contract_active(
        customer=customer, back_office=staff, product=product, dealer_organisation=dealer.dealer_organisation
    )
    application = applications.application_create(
        customer=customer,
        quote_input=leasing_factories.quote_input(product, price=42_000_00),
        dealer_organisation=dealer.dealer_organisation,
    )
    credit_check_request_create(
        dealer_user=dealer,
        purpose="lease",
        amount=450_00,
        currency="EUR",
        term_months=36,
        lease_application_id=application.pk,
    )
    application_page = reverse("leasing:application-detail", args=[application.pk])
    quote_page = reverse("leasing:quote-detail", args=[application.quote.public_id])
    start_pages: dict[Role | None, list[str]] = {
        None: ["/"],
        Role.CUSTOMER: ["/", reverse("leasing:quote-calculator"), quote_page, application_page],
        Role.DEALER: ["/", application_page],
        Role.BACK_OFFICE: ["/", application_page],
    }
    return users, start_pages


def _log_in(page, user: User | None) -> None:
    if user is None:
        return
    page.goto("/accounts/login/")
    page.locator("#id_email").fill(user.email)
    page.locator("#id_password").fill(_demo_password())
    page.locator("form[action$='/accounts/login/'] button[type=submit]").click()
    if user.role in (Role.DEALER, Role.BACK_OFFICE):
        device = EncryptedTotpDevice.objects.get(user=user)
        page.locator("#id_token").fill(
            f"{totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits):06d}"
        )
        page.locator("#id_token").press("Enter")
    page.wait_for_url(lambda url: "/accounts/" not in url)


def _demo_password() -> str:
    from portal.demo import DEMO_PASSWORD

    return DEMO_PASSWORD


def _normalised(url: str, origin: str) -> str | None:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or f"{parts.scheme}://{parts.netloc}" != origin:
        return None
    if SKIPPED_PATH.search(parts.path):
        return None
    query = parts.query if KEPT_QUERY.match(parts.query or "") else ""
    return parts.path + (f"?{query}" if query else "")


def _links(page, origin: str) -> list[str]:
    hrefs = page.eval_on_selector_all("a[href]:not([download]):not([target=_blank])", "els => els.map(el => el.href)")
    return [path for href in hrefs if (path := _normalised(href, origin))]


def _check_text(page, path: str, where: str, language: str, report: CrawlReport) -> None:
    texts = page.evaluate(VISIBLE_TEXT_JS)
    for text in texts:
        if match := INTERNAL_CODE.search(text):
            report.add(where, f"internal code {match.group(0)!r} in {text[:100]!r}")
        if language == "de" and is_english_sentence(text):
            report.add(where, f"English on a German page: {text[:100]!r}")


def _check_page(page, path: str, where: str, language: str, report: CrawlReport) -> None:
    if page.evaluate("() => document.documentElement.lang") != language:
        report.add(where, f"<html lang> is {page.evaluate('() => document.documentElement.lang')!r}")
    _check_text(page, path, where, language, report)
    for viewport in VIEWPORTS:
        page.set_viewport_size(viewport)
        for problem in page.evaluate(LAYOUT_JS):
            report.add(f"{where} @{viewport['width']}px", problem)
    page.add_script_tag(path=str(AXE))
    for problem in page.evaluate(AXE_JS):
        report.add(where, problem)
    page.set_viewport_size(VIEWPORTS[0])


def _crawl(page, origin: str, start_pages: list[str], role: str, language: str, report: CrawlReport) -> None:
    seen: set[str] = set()
    queue: deque[tuple[str, int]] = deque((path, 0) for path in start_pages)
    while queue and len(seen) < MAX_PAGES_PER_ROLE:
        path, depth = queue.popleft()
        if path in seen:
            continue
        seen.add(path)
        response = page.goto(path)
        where = f"[{role} {language}] {path}"
        if response is None or "text/html" not in response.headers.get("content-type", ""):
            continue
        if response.status >= 500:
            report.add(where, f"answered {response.status}")
            continue
        page.wait_for_load_state("load")
        report.pages += 1
        _check_page(page, path, where, language, report)
        if depth < MAX_DEPTH:
            queue.extend((link, depth + 1) for link in _links(page, origin) if link not in seen)


# About 200 page loads with an accessibility check each: minutes on an idle machine, several times that on a busy one.
@pytest.mark.timeout(1500)
def test_every_page_of_every_role_on_a_phone_and_a_desktop_in_german_and_english(_playwright_browser, live_server):
    if not AXE.exists():
        pytest.fail(f"{AXE} is missing: run scripts/test-prerequisites (npm ci in portal/tests/e2e/js).")
    users, start_pages = _demo_world()
    report = CrawlReport()
    origin = live_server.url
    for role in (None, Role.CUSTOMER, Role.DEALER, Role.BACK_OFFICE):
        user = users.get(role) if role else None
        # bypass_csp only lets axe-core's script tag in; the pages' own policy is tested elsewhere.
        context = _playwright_browser.new_context(
            base_url=origin, viewport=VIEWPORTS[0], bypass_csp=True, locale="de-DE"
        )
        page = context.new_page()
        page.set_default_timeout(20_000)
        _log_in(page, user)
        for language in LANGUAGES:
            if user is not None:
                User.objects.filter(pk=user.pk).update(language=language)
            else:
                context.add_cookies([{"name": "django_language", "value": language, "url": origin}])
            _crawl(page, origin, start_pages[role], role.value if role else "anonymous", language, report)
        context.close()

    lines = sorted(set(report.problems))
    artifact = ARTIFACTS_DIR / "every-page.txt"
    artifact.parent.mkdir(parents=True, exist_ok=True)
    artifact.write_text(f"{report.pages} pages checked\n" + "\n".join(lines) + "\n")
    assert report.pages > 40
    assert not lines, f"{len(lines)} problems on {report.pages} pages (all in {artifact}):\n" + "\n".join(lines[:150])
