"""The analytics rollups (issue 16): the nightly rollup of one new day against a bare ``GROUP BY user_id`` over that
day's actions, and every panel's API for a 90-day range.

    DATABASE_URL=postgres://... REDIS_URL=redis://... .venv/bin/python bench/dashboard.py [--quick]
        [--players N] [--actions N] [--loads N] [--keep-db]

1. A dedicated database ``<dbname>_bench`` (dropped, recreated, migrated) and Redis DB 15 (flushed).
2. The data of ``bench/rfm.py`` (its generator): N players, the log of the 31 days before D (today, business time)
   in time order, up to D-1 03:00 first.
3. The first night, not measured: the RFM batch as of D-1, then the analytics refresh at D-1 03:15 (everything
   rolled up from nothing; its time is reported as ``first_rollup_seconds``).
4. The day: the rest of D-1 in time order, and 0.2% more at random times in the window before D-1 (logged late, for
   days the first night rolled up); the RFM batch as of D (not measured).
5. Measured: the bare aggregate over D-1's actions (``SELECT user_id, count(*) ... GROUP BY user_id``, its rows
   consumed in the server); the nightly refresh at D 03:15 (``analytics.tasks.rollup_nightly``'s work: the new day
   and the late actions merged in, the figures of the dirty days to today, the RFM mix and transitions, the
   coverage, the week's proposals); the bare aggregate again. The check: D-1's DAU and MAU as the rollup has them
   equal a count over the raw log.
6. The API on a real server (granian, 2 workers): each panel for the 90 days ending D, ``--loads`` timed loads
   (20) after 3 warm-up loads, one client: p50 and p95 per panel.
7. The page, on the same server: Debian's Chromium (Playwright) logs in through the admin as a staff user and loads
   the whole dashboard (its default range, the 30 days ending D, every group) ``--page-loads`` times (5) after one
   warm-up load, each timed from navigation to every chart drawn (``body[data-charts-drawn]``); the slowest load
   counts. A screenshot of the last load goes to /tmp/tokenloop-bench-dashboard.png.

Targets: the nightly refresh <= 3x the bare aggregate; each panel's p95 <= 300 ms; the page <= 2 s. They count as
met only when the check holds. The last stdout line is the JSON result (design brief section 7). ``--quick`` ends
within about a minute (20,000 players, 600,000 actions). The bench database and Redis DB are emptied at the end
(``--keep-db`` keeps them).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import statistics
import sys
import time
import urllib.request
import zoneinfo
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import BenchEnv, Server, finish, load_average, log, percentile, target, url_shown
from bench.rfm import _setup_django, checkpoint, generate, generate_day, plan, run_batch

TARGET_REFRESH_TO_AGGREGATE = 3.0
TARGET_PANEL_P95_MS = 300.0
TARGET_PAGE_SECONDS = 2.0
CHROMIUM = "/usr/bin/chromium"
STAFF_PASSWORD = "bench-staff-password-0123"  # a throwaway user in the bench's own database
PANELS = ("daily", "retention", "churn", "tokens", "peak-hours", "rfm", "proposals")
KST = zoneinfo.ZoneInfo("Asia/Seoul")


def bare_day_aggregate(env: BenchEnv, *, day: dt.date) -> float:
    """Seconds of ``GROUP BY user_id`` over the business day's actions, its rows consumed in the server."""
    start = dt.datetime.combine(day, dt.time(), tzinfo=KST)
    end = start + dt.timedelta(days=1)
    with env.connect() as conn:
        t0 = time.monotonic()
        conn.execute(
            "SELECT count(*), sum(n) FROM (SELECT user_id, count(*) AS n FROM user_actions "
            "WHERE action_timestamp >= %(s)s AND action_timestamp < %(e)s GROUP BY user_id) t",
            {"s": start, "e": end},
        ).fetchone()
        return time.monotonic() - t0


def refresh_at(moment: dt.datetime) -> tuple[float, dict[str, Any]]:
    from analytics.services import analytics_refresh

    t0 = time.monotonic()
    report = analytics_refresh(now=moment, nightly=True)
    return time.monotonic() - t0, report.as_dict()


def check_day(env: BenchEnv, *, day: dt.date) -> dict[str, Any]:
    """D-1's DAU and MAU from the rollup against a count over the raw log."""
    from activity.registry import app_activity_types
    from analytics.models import Day

    types = list(app_activity_types())
    start = dt.datetime.combine(day, dt.time(), tzinfo=KST)
    with env.connect() as conn:
        dau, mau = conn.execute(
            "SELECT count(DISTINCT user_id) FILTER (WHERE action_timestamp >= %(s)s), count(DISTINCT user_id) "
            "FROM user_actions WHERE action_type = ANY(%(types)s) AND action_timestamp >= %(m)s "
            "AND action_timestamp < %(e)s",
            {"s": start, "m": start - dt.timedelta(days=29), "e": start + dt.timedelta(days=1), "types": types},
        ).fetchone()
    row = Day.objects.get(day=day)
    return {
        "dau": row.dau,
        "mau": row.mau,
        "dau_raw": int(dau),
        "mau_raw": int(mau),
        "equal": (row.dau, row.mau) == (int(dau), int(mau)),
    }


def panel_loads(base_url: str, key: str, *, d0: dt.date, d1: dt.date, loads: int) -> dict[str, dict[str, float]]:
    out: dict[str, dict[str, float]] = {}
    headers = {"Authorization": f"Api-Key {key}"}
    for name in PANELS:
        url = f"{base_url}/api/analytics/{name}?from={d0.isoformat()}&to={d1.isoformat()}"
        times = []
        for i in range(3 + loads):
            request = urllib.request.Request(url, headers=headers)
            t0 = time.monotonic()
            with urllib.request.urlopen(request, timeout=60) as response:
                body = response.read()
                if response.status != 200:
                    raise SystemExit(f"{name}: HTTP {response.status}")
            if i >= 3:
                times.append((time.monotonic() - t0) * 1000)
        out[name] = {
            "p50_ms": round(percentile(times, 50), 1),
            "p95_ms": round(percentile(times, 95), 1),
            "bytes": len(body),
        }
        log(f"  {name}: p50 {out[name]['p50_ms']} ms, p95 {out[name]['p95_ms']} ms ({len(body):,} bytes)")
    return out


def page_loads(base_url: str, *, loads: int) -> dict[str, Any]:
    """Seconds from navigation to every chart drawn, for ``loads`` loads of the dashboard after one warm-up, in
    Chromium logged in as a staff user (made here, in the bench's database)."""
    from django.contrib.auth import get_user_model
    from playwright.sync_api import sync_playwright

    user_model = get_user_model()
    user_model.objects.filter(username="bench-staff").delete()
    user_model.objects.create_user(username="bench-staff", password=STAFF_PASSWORD, is_staff=True)
    times = []
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=["--no-sandbox", "--disable-gpu", "--no-first-run"]
        )
        page = chromium.new_context(viewport={"width": 1440, "height": 900}).new_page()
        page.set_default_timeout(60_000)
        page.goto(f"{base_url}/admin/login/?next=/admin/dashboard/")
        page.fill("input[name=username]", "bench-staff")
        page.fill("input[name=password]", STAFF_PASSWORD)
        page.click("input[type=submit]")
        page.wait_for_url(f"{base_url}/admin/dashboard/")
        page.wait_for_selector("body[data-charts-drawn]")  # the warm-up load
        for _ in range(loads):
            t0 = time.monotonic()
            page.goto(f"{base_url}/admin/dashboard/")
            page.wait_for_selector("body[data-charts-drawn]")
            times.append(time.monotonic() - t0)
        charts = page.locator("canvas[data-chart][data-drawn]").count()
        summary = page.locator("#kpi-summary").inner_text()
        page.screenshot(path="/tmp/tokenloop-bench-dashboard.png", full_page=True)
        chromium.close()
    log(f"  page: {', '.join(f'{t:.2f}s' for t in times)}; {charts} charts; {summary!r}")
    return {
        "loads_seconds": [round(t, 3) for t in times],
        "median_seconds": round(statistics.median(times), 3),
        "worst_seconds": round(max(times), 3),
        "charts_drawn": charts,
        "summary": summary,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="a small run that ends within about a minute")
    parser.add_argument("--players", type=int, help="players (default 1,000,000; quick 20,000)")
    parser.add_argument("--actions", type=int, help="actions in D's 30-day window (default 30,000,000; quick 600,000)")
    parser.add_argument("--loads", type=int, default=20, help="timed loads of each panel (default 20)")
    parser.add_argument("--page-loads", type=int, default=5, help="timed loads of the dashboard page (default 5)")
    parser.add_argument("--keep-db", action="store_true", help="keep the bench database and Redis DB afterwards")
    args = parser.parse_args()

    players = args.players or (20_000 if args.quick else 1_000_000)
    actions = args.actions or (600_000 if args.quick else 30_000_000)

    env = BenchEnv()
    log(f"bench database {env.dbname}, redis {url_shown(env.redis_url)}")
    env.prepare()
    _setup_django(env)
    from segments.services import business_today

    as_of = business_today()
    new_day = as_of - dt.timedelta(days=1)
    params = {
        "quick": args.quick,
        "players": players,
        "actions_in_window": actions,
        "as_of": as_of.isoformat(),
        "new_day": new_day.isoformat(),
        "loads": args.loads,
        "page_loads": args.page_loads,
        "cores": os.cpu_count(),
    }
    layout = plan(players=players, actions=actions, as_of=as_of)
    data = generate(env, layout)

    log(f"first night: RFM as of {new_day}, then the first rollup (everything from nothing)")
    run_batch(as_of=new_day, range_size=250_000, workers=1)
    checkpoint(env)
    first_seconds, first = refresh_at(dt.datetime.combine(new_day, dt.time(3, 15), tzinfo=KST))
    log(f"  first rollup {first_seconds:.2f}s: {first['days_rolled']} days")
    data.update(generate_day(env, layout, as_of=as_of))
    params["actions_total"] = data.pop("actions_total")
    run_batch(as_of=as_of, range_size=250_000, workers=1)
    with env.connect(autocommit=True) as conn:
        conn.execute("VACUUM (ANALYZE) analytics_player_days")

    checkpoint(env)
    aggregates = [bare_day_aggregate(env, day=new_day)]
    log(f"bare GROUP BY user_id over {new_day}'s actions: {aggregates[0]:.3f}s")
    checkpoint(env)
    refresh_seconds, nightly = refresh_at(dt.datetime.combine(as_of, dt.time(3, 15), tzinfo=KST))
    log(
        f"nightly refresh at {as_of} 03:15: {refresh_seconds:.3f}s; days with new actions {nightly['days_rolled']}, "
        f"figures {nightly['figures']}"
    )
    checkpoint(env)
    aggregates.append(bare_day_aggregate(env, day=new_day))
    log(f"bare aggregate again: {aggregates[1]:.3f}s")
    check = check_day(env, day=new_day)
    log(f"check: {check}")

    key = env.create_api_key("bench-dashboard", scopes=("analytics:read",))
    from django.db import connections

    connections.close_all()
    d0 = as_of - dt.timedelta(days=89)
    env.manage("collectstatic", "--no-input", "--verbosity", "0")  # the page's scripts, served by WhiteNoise
    # plain HTTP on loopback: the session and CSRF cookies may not be Secure-only here
    cookies = {"SESSION_COOKIE_SECURE": "false", "CSRF_COOKIE_SECURE": "false"}
    with Server(env, workers=2, worker_class="granian", threads=4, extra_env=cookies) as server:
        log(f"panels for {d0}..{as_of}, {args.loads} loads each after 3 warm-up loads")
        panels = panel_loads(server.base_url, key, d0=d0, d1=as_of, loads=args.loads)
        log(f"the dashboard page in Chromium, {args.page_loads} loads after one warm-up")
        page = page_loads(server.base_url, loads=args.page_loads)

    aggregate = statistics.fmean(aggregates)
    ratio = refresh_seconds / aggregate
    complete = bool(check["equal"]) and page["charts_drawn"] > 0
    worst = max(p["p95_ms"] for p in panels.values())
    results = {
        "refresh_seconds": round(refresh_seconds, 3),
        "aggregate_seconds": round(aggregate, 3),
        "aggregate_runs_seconds": [round(a, 3) for a in aggregates],
        "refresh_to_aggregate": round(ratio, 3),
        "refresh_days_with_new_actions": nightly["days_rolled"],
        "refresh_figures": nightly["figures"],
        "first_rollup_seconds": round(first_seconds, 3),
        "panels": panels,
        "panel_p95_worst_ms": worst,
        "page": page,
        "check": check,
        "complete": complete,
        "load_average": load_average(),
        **data,
    }
    targets = {
        "refresh_to_aggregate": target(round(ratio, 3), TARGET_REFRESH_TO_AGGREGATE, "<="),
        **{f"{name}_p95_ms": target(p["p95_ms"], TARGET_PANEL_P95_MS, "<=") for name, p in panels.items()},
        "page_worst_seconds": target(page["worst_seconds"], TARGET_PAGE_SECONDS, "<="),
    }
    finish(
        env, bench="dashboard", params=params, results=results, targets=targets, complete=complete, keep_db=args.keep_db
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
