"""The admin shows models with their figures and the players' scores, read-only."""

from __future__ import annotations

import pytest
from django.test import Client

from predictions.models import PlayerPrediction, PredictionModel
from predictions.services import players_score
from tests import factories
from tests.predictions import population

pytestmark = pytest.mark.django_db


def test_staff_see_models_with_their_figures_and_scores_they_cannot_change(trained: PredictionModel) -> None:
    players_score(as_of=population.END)
    client = Client()
    client.force_login(factories.make_staff_user())
    row = PlayerPrediction.objects.order_by("user_id").first()
    assert row is not None

    models_page = client.get("/admin/predictions/predictionmodel/").content.decode()
    model_page = client.get(f"/admin/predictions/predictionmodel/{trained.pk}/change/").content.decode()
    scores_page = client.get(f"/admin/predictions/playerprediction/?q={row.user_id}").content.decode()
    filtered = client.get(f"/admin/predictions/playerprediction/?as_of={population.END.isoformat()}")

    assert trained.version in models_page and "baseline_recency" in model_page and "log_loss" in models_page
    assert str(row.user_id) in scores_page and filtered.status_code == 200
    assert client.get("/admin/predictions/playerprediction/add/").status_code == 403
    assert client.post(f"/admin/predictions/playerprediction/{row.pk}/delete/").status_code == 403
