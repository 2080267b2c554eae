"""The dashboard's pages under /admin/dashboard/ (config/urls.py mounts them before the admin's own), each behind the
admin site's login and staff check (``admin.site.admin_view``)."""

from django.contrib import admin
from django.urls import path

from analytics import views

urlpatterns = [
    path("", admin.site.admin_view(views.dashboard_page), name="analytics-dashboard"),
    path("<slug:panel>.csv", admin.site.admin_view(views.dashboard_csv), name="analytics-dashboard-csv"),
]
