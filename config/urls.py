from django.conf import settings
from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from core import views as core_views

urlpatterns = [
    path("", RedirectView.as_view(url="/api/docs/", permanent=False)),
    # The staff KPI dashboard: custom views inside the admin (its login, staff check and navigation).
    path("admin/dashboard/", include("analytics.dashboard_urls")),
    path("admin/", admin.site.urls),
    path("healthz", core_views.healthz, name="healthz"),
    path("readyz", core_views.readyz, name="readyz"),
    path("metrics", core_views.metrics, name="metrics"),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="api-docs"),
    path("api/", include("activity.urls")),
    path("api/", include("players.urls")),
    path("api/", include("wallet.urls")),
    path("api/", include("corporate.urls")),
    path("api/", include("notifications.urls")),
    path("api/", include("segments.urls")),
    path("api/", include("quiz.urls")),
    path("api/", include("content.urls")),
    path("api/", include("recommendations.urls")),
    path("api/", include("predictions.urls")),
    path("api/", include("analytics.urls")),
    path("", include("webclient.urls")),  # /app/ (the player's web client); /dev/players/ only with DEV_PAGES
]

if settings.BENCH_ENDPOINTS:  # benchmarks only (bench/recommend.py): a bare Django JSON view to compare against
    urlpatterns.append(path("api/bench/bare", core_views.bench_bare, name="bench-bare"))

# Unhandled exceptions outside DRF's handler, and paths no route matches: JSON on /api/ paths, Django's HTML pages
# elsewhere (admin, dashboard).
handler500 = "core.views.server_error"
handler404 = "core.views.page_not_found"
