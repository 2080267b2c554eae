"""The staff KPI dashboard (issue 16, item 3): custom views inside the admin site. ``analytics.dashboard_urls`` wraps
each in ``admin.site.admin_view``, so the admin's login, its staff check (active and staff, as ``IsStaff`` for the
API) and its navigation are the dashboard's: anyone else is sent to the admin's login form. The figures come from
``analytics.dashboard`` (the selectors'), never from the ORM here."""

from __future__ import annotations

import datetime as dt

from django.contrib import admin
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.http import urlencode
from django.views.decorators.http import require_GET

from analytics import dashboard
from analytics.forms import DashboardFilterForm

TEMPLATE = "admin/analytics/dashboard.html"


def _form(request: HttpRequest) -> DashboardFilterForm:
    """The filters asked for, the default range filling in a missing ``from`` or ``to``."""
    default = dashboard.filters_default().query()
    return DashboardFilterForm({**default, **{k: v for k, v in request.GET.items() if v or k not in default}})


@require_GET
def dashboard_page(request: HttpRequest) -> HttpResponse:
    form = _form(request)
    context = {
        **admin.site.each_context(request),
        "title": "KPI dashboard",
        "form": form,
        "board": None,
    }
    if not form.is_valid():
        return render(request, TEMPLATE, context, status=400)
    f = form.filters()
    query = urlencode(f.query())
    context["board"] = dashboard.dashboard_build(f)
    context["csv"] = {p: f"{reverse('analytics-dashboard-csv', args=[p])}?{query}" for p in dashboard.PANELS}
    context["presets"] = [
        (n, urlencode({**f.query(), "from": (f.d1 - dt.timedelta(days=n - 1)).isoformat()})) for n in (7, 30, 90)
    ]
    return render(request, TEMPLATE, context)


@require_GET
def dashboard_csv(request: HttpRequest, panel: str) -> HttpResponse:
    if panel not in dashboard.PANELS:
        raise Http404("No such panel.")
    form = _form(request)
    if not form.is_valid():
        errors = "; ".join(f"{name}: {' '.join(str(m) for m in e)}" for name, e in form.errors.items())
        return HttpResponse(errors + "\n", status=400, content_type="text/plain; charset=utf-8")
    f = form.filters()
    table = dashboard.panel_table(f, panel)
    name = "-".join(["tokenloop", panel, *f.query().values()]).replace(" ", "_")
    response = HttpResponse(dashboard.table_csv(table), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{name}.csv"'
    return response
