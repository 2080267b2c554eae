"""The staff KPI dashboard (issue 16, item 3): custom views inside the admin, at /admin/dashboard/. Staff see every
panel; anyone else gets the admin's login form; the filters change the figures; each panel's CSV has a header row and
the figures the JSON API answers; a page costs the same statements whatever its range."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.auth.models import User
from django.db import connection
from django.test import Client, override_settings
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from analytics import dashboard, services
from tests import factories
from tests.analytics import population

pytestmark = pytest.mark.django_db

URL = "/admin/dashboard/"
NOVEMBER = {"from": "2026-11-01", "to": "2026-11-20"}
VENDOR = Path(settings.BASE_DIR) / "analytics" / "static" / "analytics" / "vendor"


@pytest.fixture
def rolled_up() -> population.Population:
    pop = population.build()
    services.analytics_refresh(now=population.now())
    return pop


def rows_of(response) -> list[dict[str, str]]:
    assert response.status_code == 200, response.content
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    return list(csv.DictReader(io.StringIO(response.content.decode())))


def number(text: str) -> int | float | None:
    """A CSV cell read back: empty is no figure, a share a float, a count an int."""
    return None if text == "" else float(text) if "." in text else int(text)


def test_staff_see_every_panel_inside_the_admin(rolled_up, staff):
    # given the population rolled up to 2026-11-20
    # when staff open the dashboard without a filter
    response = staff.get(URL)
    html = response.content.decode()
    # then it is the admin's page (its header, breadcrumbs and user tools) with every panel and its CSV link
    assert response.status_code == 200
    assert "TokenLoop staff" in html and 'class="breadcrumbs"' in html and 'id="user-tools"' in html
    for panel in dashboard.PANELS:
        assert f'data-panel="{panel}"' in html, panel
    for section in ("kpis", "activity", "tokens", "retention", "peak_hours", "rfm_mix", "rfm_transitions", "proposals"):
        assert f'id="panel-{section}"' in html, section
    # and the charts' figures are in the page as one JSON blob, with the chart library from our static files
    assert 'id="kpi-charts"' in html
    assert "/static/analytics/vendor/chart.umd.min.js" in html


def test_no_asset_comes_from_another_host(rolled_up, staff):
    # given the dashboard's page
    html = staff.get(URL).content.decode()
    # when its scripts, styles and images are listed
    assets = re.findall(r'<(?:script|link|img)[^>]+(?:src|href)="([^"]+)"', html)
    # then each is served by this site (no CDN: the machines have no internet)
    assert assets and all(a.startswith("/") and not a.startswith("//") for a in assets), assets


def test_the_default_range_is_the_30_days_ending_the_last_day_rolled_up(rolled_up, staff):
    # given rollups up to 2026-11-20
    # when the dashboard is opened without a range
    html = staff.get(URL).content.decode()
    # then it shows 2026-10-22 to 2026-11-20, for all players
    assert "2026-10-22 to 2026-11-20" in html and "(30 days" in html
    assert 'value="2026-10-22"' in html and 'value="2026-11-20"' in html


def test_before_the_first_refresh_the_page_says_there_is_nothing_yet(staff):
    # given nothing rolled up
    # when staff open the dashboard and a panel's CSV
    response = staff.get(URL)
    data = staff.get(f"{URL}activity.csv")
    # then the page answers with empty panels, and the CSV is its header row alone
    html = response.content.decode()
    assert response.status_code == 200
    assert "No cohort in this range." in html and "no previous figure" in html
    assert (
        data.content.decode()
        == "date,dau,wau,mau,stickiness,new_players,paying_players_30d,paying_ratio,churned_14d,churn_rate\n"
    )


@pytest.mark.parametrize("path", [URL, f"{URL}activity.csv"])
def test_a_user_who_is_not_staff_gets_the_admin_login_and_no_figure(rolled_up, path):
    # given a logged-in user who is not staff, and a caller with no session
    someone = Client()
    someone.force_login(User.objects.create_user(username="someone", password="pw-long-enough-1"))
    for client in (someone, Client()):
        # when each opens the page
        response = client.get(path, NOVEMBER)
        # then the admin sends them to its login form with the page to come back to
        assert response.status_code == 302
        assert response["Location"].startswith(f"/admin/login/?next={path}")
        assert b"kpi" not in response.content


def test_an_inactive_staff_user_is_refused(rolled_up):
    # given a staff user whose account is switched off, with a session
    user = factories.make_staff_user()
    client = Client()
    client.force_login(user)
    User.objects.filter(pk=user.pk).update(is_active=False)
    # when they open the dashboard
    response = client.get(URL)
    # then they are not let in
    assert response.status_code == 302 and response["Location"].startswith("/admin/login/")


def test_the_group_filter_changes_the_figures_to_that_groups(rolled_up, staff):
    # given every player's figures of November
    everyone = {r["date"]: r for r in rows_of(staff.get(f"{URL}activity.csv", NOVEMBER))}
    # when the Whale's are asked for
    response = staff.get(URL, {**NOVEMBER, "group": "Whale"})
    whale = {r["date"]: r for r in rows_of(staff.get(f"{URL}activity.csv", {**NOVEMBER, "group": "Whale"}))}
    # then the page says so and the figures are the Whale's alone: in MAU from the run that made it a Whale
    assert "group Whale" in response.content.decode()
    assert everyone["2026-11-20"]["mau"] == "9"
    assert whale["2026-11-20"]["mau"] == "1" and whale["2026-11-19"]["mau"] == "0"


def test_the_locale_filter_changes_the_figures_and_the_proposals(rolled_up, staff):
    # given the proposals and players of every locale
    every = rows_of(staff.get(f"{URL}proposals.csv", NOVEMBER))
    # when those of the locale en are asked for
    english = rows_of(staff.get(f"{URL}proposals.csv", {**NOVEMBER, "locale": "en"}))
    activity = rows_of(staff.get(f"{URL}activity.csv", {**NOVEMBER, "locale": "en"}))
    # then only en's rows and players are left (two en players: New York, the purchaser)
    assert english == [r for r in every if r["locale"] == "en"] and 0 < len(english) < len(every)
    assert activity[-1]["mau"] == "2"


def test_figures_the_filters_cannot_narrow_are_marked_all_players(rolled_up, staff):
    # given the Whale group and the locale en asked for
    query = {**NOVEMBER, "group": "Whale", "locale": "en"}
    tokens = staff.get(f"{URL}tokens.csv", query)
    # when the page and the tokens' CSV are read
    html = staff.get(URL, query).content.decode()
    # then token flows and peak hours are every player's (the same as unfiltered), and said to be
    assert rows_of(tokens) == rows_of(staff.get(f"{URL}tokens.csv", NOVEMBER))
    for panel in ("tokens", "peak_hours"):
        head = html.split(f'id="panel-{panel}"')[1].split("</div>")[0]
        assert "all players" in head, panel


def test_the_csv_of_each_panel_holds_the_json_apis_figures(rolled_up, staff):
    # given the JSON API, read by the same staff session
    api = APIClient()
    api.force_login(factories.make_staff_user())

    def get(name: str) -> dict:
        return api.get(f"/api/analytics/{name}", NOVEMBER).json()

    # when each panel's CSV is downloaded
    def csv_of(panel: str) -> list[dict[str, str]]:
        response = staff.get(f"{URL}{panel}.csv", NOVEMBER)
        assert response["Content-Disposition"] == (
            f'attachment; filename="tokenloop-{panel}-2026-11-01-2026-11-20.csv"'
        )
        return rows_of(response)

    # then each row is the API's figure, value for value
    daily = get("daily")["days"]
    activity = csv_of("activity")
    assert [r["date"] for r in activity] == [d["date"] for d in daily]
    for row, day in zip(activity, daily, strict=True):
        for key in ("dau", "wau", "mau", "stickiness", "new_players", "paying_players_30d", "paying_ratio"):
            assert number(row[key]) == day[key], (day["date"], key)
    churn = {d["date"]: d for d in get("churn")["days"]}
    assert all(number(r["churned_14d"]) == churn[r["date"]]["churned_14d"] for r in activity)
    retention = get("retention")["cohorts"]
    assert [
        {
            "date": r["date"],
            "size": int(r["size"]),
            "retained": {n: number(r[f"retained_{n}"]) for n in ["1", "7", "14", "30"]},
        }
        for r in csv_of("retention")
    ] == [{k: c[k] for k in ("date", "size", "retained")} for c in retention]
    assert retention
    peak = get("peak-hours")["cells"]
    assert [{k: int(v) for k, v in r.items()} for r in csv_of("peak_hours")] == peak
    tokens = get("tokens")["days"]
    assert [
        (r["date"], int(r["earned_purchase"]), int(r["spent_games"]), int(r["outstanding_balance"]))
        for r in csv_of("tokens")
    ] == [
        (d["date"], d["earned"]["purchase"], sum(d["spent_by_game"].values()), d["outstanding_balance"]) for d in tokens
    ]
    rfm = get("rfm")["days"]
    assert [{k: int(v) for k, v in r.items() if k != "date"} for r in csv_of("rfm_mix")] == [d["mix"] for d in rfm]
    assert [(r["date"], r["from"] or None, r["to"], int(r["players"])) for r in csv_of("rfm_transitions")] == [
        (d["date"], t["from"], t["to"], t["players"]) for d in rfm for t in d["transitions"]
    ]
    proposals = get("proposals")["rows"]
    assert [
        {k: number(v) if k in ("impressions", "clicks", "ctr") else v for k, v in r.items()}
        for r in csv_of("proposals")
    ] == proposals


def test_the_kpi_csv_holds_each_tile_with_its_previous_period(rolled_up, staff):
    # given November's first 20 days, the 20 days before them, and the API's daily figures of both
    api = APIClient()
    api.force_login(factories.make_staff_user())
    days = {
        d["date"]: d for d in api.get("/api/analytics/daily", {"from": "2026-10-12", "to": "2026-11-20"}).json()["days"]
    }
    before = [d for day, d in days.items() if day < "2026-11-01"]
    now = [d for day, d in days.items() if day >= "2026-11-01"]
    # when the tiles are read back from their CSV
    rows = {r["metric"]: r for r in rows_of(staff.get(f"{URL}kpis.csv", NOVEMBER))}
    # then MAU is the last day's against the day before the range, new players and tokens earned add up over each
    # period, and the change is relative
    assert (number(rows["MAU"]["value"]), number(rows["MAU"]["previous"])) == (now[-1]["mau"], before[-1]["mau"])
    new = (sum(d["new_players"] for d in now), sum(d["new_players"] for d in before))
    assert (number(rows["New players"]["value"]), number(rows["New players"]["previous"])) == new
    assert number(rows["New players"]["change"]) == (new[0] - new[1]) / new[1]
    earned = [sum(sum(d["tokens_earned"].values()) for d in period) for period in (now, before)]
    assert [number(rows["Tokens earned"]["value"]), number(rows["Tokens earned"]["previous"])] == earned
    assert rows["Tokens earned"]["scope"] == "all players" and rows["DAU (average)"]["scope"] == "all players"


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"from": "2026-11-20", "to": "2026-11-01"}, "to"),
        ({"from": "20-11-2026", "to": "2026-11-20"}, "from"),
        ({"from": "2026-11-01", "to": "2026-11-20", "group": "Dolphin"}, "group"),
        ({"from": "2026-11-01", "to": "2026-11-20", "locale": "fr"}, "locale"),
    ],
    ids=["to-before-from", "unparsable", "unknown-group", "unknown-locale"],
)
def test_a_bad_filter_is_400_naming_the_field(staff, query, field):
    # given a bad filter
    # when the page and a CSV are asked for with it
    page = staff.get(URL, query)
    data = staff.get(f"{URL}activity.csv", query)
    # then both are 400: the page shows the form with the field's error and no figure, the CSV names the field
    assert page.status_code == 400 and 'class="errorlist"' in page.content.decode()
    assert "kpi-summary" not in page.content.decode()
    assert data.status_code == 400 and data.content.decode().startswith(f"{field}: ")


@override_settings(ANALYTICS_MAX_RANGE_DAYS=7)
def test_the_longest_range_is_the_apis(staff):
    # given a maximum of 7 days
    # when 8 days are asked for
    response = staff.get(URL, {"from": "2026-11-01", "to": "2026-11-08"})
    # then the form refuses it, naming the limit
    assert response.status_code == 400 and "at most 7 days" in response.content.decode()


def test_an_unknown_panel_is_404(staff):
    # given staff
    # when a CSV of no panel is asked for
    response = staff.get(f"{URL}everything.csv", NOVEMBER)
    # then there is no such page
    assert response.status_code == 404


@pytest.mark.parametrize("filters", [{}, {"group": "Low", "locale": "ko"}], ids=["all", "filtered"])
def test_a_page_costs_the_same_statements_for_a_week_and_for_ninety_days(rolled_up, staff, filters):
    # given a week and 90 days, with or without filters
    def statements(d0: str) -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert staff.get(URL, {"from": d0, "to": "2026-11-20", **filters}).status_code == 200
        return len(ctx.captured_queries)

    # when each page is rendered
    week, quarter = statements("2026-11-14"), statements("2026-08-23")
    # then both take the same few statements (none per day, cohort or row)
    assert week == quarter <= 25


def test_the_admin_index_and_every_admin_page_link_to_the_dashboard(staff):
    # given staff on the admin's index
    html = staff.get("/admin/").content.decode()
    # then the index and the header of every admin page lead to the dashboard
    assert 'id="kpi-dashboard-link"' in html and html.count(f'href="{URL}"') >= 2
    assert f'href="{URL}"' in staff.get("/admin/analytics/rollupstate/").content.decode()


def test_the_chart_library_is_chart_js_4_with_its_license_beside_it():
    # given the vendored files
    library = (VENDOR / "chart.umd.min.js").read_text()
    license_text = (VENDOR / "chart.js.LICENSE.md").read_text()
    # then it is Chart.js 4's UMD build under the MIT license
    assert re.match(r"/\*!\n \* Chart\.js v4\.\d+\.\d+\n", library)
    assert "Released under the MIT License" in library[:300]
    assert license_text.startswith("The MIT License (MIT)") and "Chart.js Contributors" in license_text


def test_the_predictions_panels_show_the_latest_scoring_up_to_the_range_end(rolled_up, staff):
    # given players scored as of 2026-11-19 by a model with calibration figures, and a later scoring after the range
    model = factories.prediction_model_make(
        version="m-1",
        validation={
            "churn": {
                "calibration": [{"predicted": 0.75, "observed": 0.7, "count": 2}],
                "baseline_calibration": [{"predicted": 0.5, "observed": 0.6, "count": 2}],
            }
        },
    )
    players = [factories.make_player(id=8_000_000 + k) for k in range(3)]
    for p, churn in zip(players, (0.95, 0.72, 0.1), strict=True):
        factories.player_prediction_make(
            user_id=p.id,
            as_of=dt.date(2026, 11, 19),
            model=model,
            churn_probability=churn,
            ltv=churn * 10,
            churn_reasons=[["days_since_app", 12.0, 0.8]],
        )
    factories.player_prediction_make(user_id=players[0].id, as_of=dt.date(2026, 11, 25), model=model)
    # when staff open the page and the panels' CSVs for November
    html = staff.get(URL, NOVEMBER).content.decode()
    bins = rows_of(staff.get(f"{URL}predictions.csv", NOVEMBER))
    reasons = rows_of(staff.get(f"{URL}prediction_reasons.csv", NOVEMBER))
    calibration = rows_of(staff.get(f"{URL}prediction_calibration.csv", NOVEMBER))
    # then the page has the panels, and the figures are the 2026-11-19 scoring's (not the later one's)
    for section in ("predictions", "prediction_calibration"):
        assert f'id="panel-{section}"' in html, section
    assert "players scored as of 2026-11-19" in html
    assert [int(b["players"]) for b in bins] == [0, 1, 0, 0, 0, 0, 0, 1, 0, 1]
    assert [(r["score"], r["feature"], r["players"], r["first_reason"]) for r in reasons] == [
        ("churn", "days_since_app", "2", "2")
    ]
    assert "days from the last app-activity action" in reasons[0]["meaning"]
    assert [(r["source"], r["observed"]) for r in calibration] == [("model", "0.7"), ("recency-only baseline", "0.6")]


def test_the_loop_panels_show_the_nights_posteriors_rates_and_uplift(rolled_up, staff):
    # given MID_STAKE served on 2026-11-18 to two shown players (one converted, one clicked) with variant short-a and
    # the default text, and withheld from a holdout player who did not convert; and the night's job run
    from recommendations.weights import weights_recalculate
    from tests.recommendations.loop_helpers import play, player, serve

    t = dt.datetime(2026, 11, 18, 3, 0, tzinfo=dt.UTC)
    for k in (9_100_001, 9_100_002, 9_100_003):
        player(k)
    serve(9_100_001, "MID_STAKE", t, game="SlotMachine", variant="short-a")
    serve(9_100_002, "MID_STAKE", t, game="SlotMachine", clicked_at=t + dt.timedelta(minutes=1))
    serve(9_100_003, "MID_STAKE", t, game="SlotMachine", holdout=True)
    play(9_100_001, t + dt.timedelta(hours=1))
    weights_recalculate(now=dt.datetime(2026, 11, 20, 3, 0, tzinfo=dt.UTC))
    # when staff open the page and the loop panels' CSVs for November
    html = staff.get(URL, NOVEMBER).content.decode()
    rates = rows_of(staff.get(f"{URL}loop_rates.csv", NOVEMBER))
    variants = rows_of(staff.get(f"{URL}loop_variants.csv", NOVEMBER))
    uplift = rows_of(staff.get(f"{URL}loop_uplift.csv", {"from": "2026-11-18", "to": "2026-11-18"}))
    # then the page has the panels and their charts
    for section in ("loop_rates", "loop_variants", "loop_uplift"):
        assert f'id="panel-{section}"' in html, section
    assert 'data-chart="loop_rates"' in html and 'data-chart="loop_allocation"' in html
    # and the day's shown figures: 2 impressions, 1 click, 1 conversion (view-through)
    day = next(r for r in rates if r["date"] == "2026-11-18")
    assert (day["impressions"], day["clicks"], day["ctr"], day["conversions"], day["view_through"]) == (
        "2",
        "1",
        "0.5",
        "1",
        "1",
    )
    # and each variant's posterior and share of its message's impressions
    mine = {(r["variant"], r["group"]): r for r in variants if r["message"] == "MID_STAKE"}
    assert (mine[("short-a", "Medium")]["alpha"], mine[("short-a", "Medium")]["allocation"]) == ("2.0", "0.5")
    assert (mine[("default", "Medium")]["beta"], mine[("default", "Medium")]["allocation"]) == ("2.0", "0.5")
    # and the uplift of that day: 1 of 2 shown player-days converted against 0 of 1 withheld
    mid = next(r for r in uplift if r["type"] == "MID_STAKE")
    assert (mid["shown_rate"], mid["holdout_rate"], mid["uplift"]) == ("0.5", "0.0", "0.5")
    assert float(mid["ci95_low"]) < 0.5 < float(mid["ci95_high"])
