"""Pages in a real browser: Debian's Chromium driven by Playwright (the ``browser`` fixture, tests/conftest.py),
against pytest-django's live server.

Screenshots go to /tmp/tokenloop-*.png for a human look; they are not asserted.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest

from tests import factories

PASSWORD = "correct-horse-battery"

pytestmark = pytest.mark.browser


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page
    context.close()


def test_admin_login_page_renders(page, live_server):
    # given the live site
    # when the admin is opened without a session
    page.goto(f"{live_server.url}/admin/")
    # then the browser lands on the login form
    assert "/admin/login/" in page.url
    assert page.locator("input[name=username]").is_visible()
    assert page.locator("input[name=password]").is_visible()
    page.screenshot(path="/tmp/tokenloop-admin-login.png")


def test_staff_user_logs_in_and_sees_players_and_user_actions(page, live_server, transactional_db):
    # given a staff user
    user = factories.make_staff_user(username="ops", password=PASSWORD)
    # when they log in through the admin form
    page.goto(f"{live_server.url}/admin/login/?next=/admin/")
    page.fill("input[name=username]", user.get_username())
    page.fill("input[name=password]", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_url(f"{live_server.url}/admin/")
    # then the admin index lists the Players and User actions admins, which open
    page.screenshot(path="/tmp/tokenloop-admin-index.png", full_page=True)
    assert page.get_by_role("link", name="Players", exact=True).is_visible()
    assert page.get_by_role("link", name="User actions", exact=True).is_visible()
    page.get_by_role("link", name="User actions", exact=True).click()
    page.wait_for_url(f"{live_server.url}/admin/activity/useraction/")
    assert page.locator("#content h1").inner_text() == "Select user action to view"


def test_wrong_password_stays_on_the_login_form(page, live_server, transactional_db):
    # given a staff user
    factories.make_staff_user(username="ops", password=PASSWORD)
    # when someone logs in with a wrong password
    page.goto(f"{live_server.url}/admin/login/?next=/admin/")
    page.fill("input[name=username]", "ops")
    page.fill("input[name=password]", "wrong-password")
    page.click("input[type=submit]")
    # then the form shows an error and no admin page is reached
    assert page.locator(".errornote").is_visible()
    assert "/admin/login/" in page.url


def test_api_docs_render_swagger_ui_from_local_assets(page, live_server):
    # given a browser that records every request it makes
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    # when /api/docs/ is opened
    page.goto(f"{live_server.url}/api/docs/")
    page.wait_for_selector(".opblock-summary-path", timeout=20_000)
    # then Swagger UI lists the endpoints, loaded from this server only (drf-spectacular-sidecar, no internet)
    paths = {p.strip().replace("\u200b", "") for p in page.locator(".opblock-summary-path").all_inner_texts()}
    page.screenshot(path="/tmp/tokenloop-api-docs.png", full_page=True)
    assert {"/api/actions", "/api/me/protection"} <= paths
    assert page.locator(".swagger-ui .info .title").inner_text().startswith("TokenLoop API")
    assert requested and all(url.startswith(live_server.url) or url.startswith("data:") for url in requested), [
        url for url in requested if not url.startswith(live_server.url)
    ]
    assert os.path.exists("/tmp/tokenloop-api-docs.png")
