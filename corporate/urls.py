from django.urls import path

from corporate.api import CorporateWebhookApi

urlpatterns = [path("corporate/webhook", CorporateWebhookApi.as_view(), name="corporate-webhook")]
