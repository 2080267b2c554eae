"""The staff KPI dashboard in a real browser (issue 16's bar): Debian's Chromium driven by Playwright (the ``browser``
fixture, tests/conftest.py) against pytest-django's live server. Staff log in through the admin's form, open the
dashboard, change the date range and the RFM group, download a panel's CSV; a user who is not staff is refused.

Screenshots go to /tmp/tokenloop-dashboard-*.png for a human look; they are not asserted.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from analytics import selectors, services
from tests import factories
from tests.analytics import population

pytestmark = pytest.mark.browser

PASSWORD = "correct-horse-battery"


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1440, "height": 900}, accept_downloads=True)
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page
    context.close()


@pytest.fixture
def rolled_up(transactional_db: None) -> None:
    """The analytics tests' population, rolled up to its TODAY (2026-11-20), committed for the live server."""
    population.build()
    services.analytics_refresh(now=population.now())
    # and a scoring of a few players as of the day before, so the predictions' panels have figures to draw
    model = factories.prediction_model_make(
        validation={
            "churn": {"calibration": [{"predicted": p / 10 + 0.05, "observed": p / 10, "count": 5} for p in range(10)]}
        }
    )
    for k in range(20):
        player = factories.make_player(id=9_000_000 + k)
        factories.player_prediction_make(
            user_id=player.id,
            as_of=dt.date(2026, 11, 19),
            model=model,
            churn_probability=k / 20,
            ltv=float(k),
            churn_reasons=[["days_since_app", float(k), 0.5]],
            ltv_reasons=[["paid_90d", 1000.0, 0.4]],
        )


def log_in(page: Any, live_server: Any, username: str, next_path: str) -> None:
    page.goto(f"{live_server.url}/admin/login/?next={next_path}")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("input[type=submit]")


def test_staff_open_the_dashboard_change_range_and_group_and_download_a_csv(page, live_server, rolled_up):
    # given a staff user, and a browser that records every request it makes
    staff = factories.make_staff_user(username="ops", password=PASSWORD)
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    # when they log in through the admin's form, straight to the dashboard
    log_in(page, live_server, staff.get_username(), "/admin/dashboard/")
    page.wait_for_url(f"{live_server.url}/admin/dashboard/")
    page.wait_for_selector("body[data-charts-drawn]")
    page.screenshot(path="/tmp/tokenloop-dashboard-default.png", full_page=True)
    # then the dashboard shows the 30 days ending the last day rolled up, inside the admin (its header and breadcrumbs)
    assert "2026-10-22 to 2026-11-20" in page.locator("#kpi-summary").inner_text()
    assert page.locator("#site-name").inner_text() == "TokenLoop staff"
    assert "KPI dashboard" in page.locator(".breadcrumbs").inner_text()
    assert page.locator("canvas[data-chart][data-drawn]").count() == 9
    assert "players scored as of 2026-11-19" in page.locator("#panel-predictions").inner_text()
    assert page.locator(".kpi-tile").count() >= 10

    # when they change the date range
    page.fill("#id_from", "2026-11-01")
    page.fill("#id_to", "2026-11-20")
    page.click("#kpi-apply")
    page.wait_for_url("**/admin/dashboard/?from=2026-11-01&to=2026-11-20**")
    page.wait_for_selector("body[data-charts-drawn]")
    # then the page covers the new range
    assert "2026-11-01 to 2026-11-20 (20 days" in page.locator("#kpi-summary").inner_text()
    everyone_mau = page.locator('.kpi-tile[data-metric="MAU"] .kpi-tile-value').inner_text()

    # when they pick the Whale group
    page.select_option("#id_group", "Whale")
    page.click("#kpi-apply")
    page.wait_for_url("**group=Whale**")
    page.wait_for_selector("body[data-charts-drawn]")
    page.screenshot(path="/tmp/tokenloop-dashboard-whale.png", full_page=True)
    # then the figures are the Whale's: one player in MAU (of several), only the Whale's proposals
    assert "group Whale" in page.locator("#kpi-summary").inner_text()
    assert page.locator('.kpi-tile[data-metric="MAU"] .kpi-tile-value').inner_text() == "1" != everyone_mau
    segments = page.locator("#panel-proposals tbody tr td:nth-child(2)").all_inner_texts()
    assert segments and set(segments) == {"Whale"}

    # when they download the active players' CSV
    with page.expect_download() as download:
        page.click('#panel-activity a.kpi-csv[data-panel="activity"]')
    path = Path(download.value.path())
    # then it is the Whale's figures of the range, with a header row, named after the panel and the filters
    assert download.value.suggested_filename == "tokenloop-activity-2026-11-01-2026-11-20-Whale.csv"
    rows = list(csv.reader(io.StringIO(path.read_text())))
    expected = selectors.player_counts(d0=dt.date(2026, 11, 1), d1=dt.date(2026, 11, 20), group="Whale")
    assert rows[0][:4] == ["date", "dau", "wau", "mau"]
    assert [r[:4] for r in rows[1:]] == [[e["date"], str(e["dau"]), str(e["wau"]), str(e["mau"])] for e in expected]
    assert rows[-1][:4] == ["2026-11-20", "0", "1", "1"]
    # and nothing was fetched from another host (the chart library is ours)
    assert any(url.endswith("/static/analytics/vendor/chart.umd.min.js") for url in requested)
    assert all(url.startswith(live_server.url) or url.startswith("data:") for url in requested), [
        url for url in requested if not url.startswith(live_server.url)
    ]


def test_a_user_who_is_not_staff_is_refused(page, live_server, transactional_db, client):
    # given a user who is not staff
    from django.contrib.auth.models import User

    User.objects.create_user(username="player-support", password=PASSWORD)
    # when they try the admin's login form on the way to the dashboard
    log_in(page, live_server, "player-support", "/admin/dashboard/")
    # then the form refuses them and no dashboard is shown
    assert page.locator(".errornote").is_visible()
    assert "/admin/login/" in page.url and page.locator("#kpi-summary").count() == 0

    # when they hold a session anyway (logged in elsewhere) and open the dashboard
    client.login(username="player-support", password=PASSWORD)
    cookie = client.cookies["sessionid"]
    page.context.add_cookies([{"name": "sessionid", "value": cookie.value, "url": live_server.url}])
    page.goto(f"{live_server.url}/admin/dashboard/")
    page.screenshot(path="/tmp/tokenloop-dashboard-refused.png", full_page=True)
    # then the admin sends them to its login form, saying they are not authorised, with no figure on the page
    assert page.url.startswith(f"{live_server.url}/admin/login/?next=/admin/dashboard/")
    assert "not authorized" in page.locator(".errornote").inner_text()
    assert page.locator("#kpi-summary").count() == 0 and page.locator(".kpi-tile").count() == 0
