from __future__ import annotations

import pytest

from predictions.models import PredictionModel
from predictions.services import models_train
from tests.predictions import population


@pytest.fixture
def trained(db: None) -> PredictionModel:
    """The small population, and both models trained on it (churn 7 days, LTV 14 days) as of its end."""
    population.build(players=200)
    return models_train(as_of=population.END, churn_horizon_days=7, ltv_horizon_days=14).model
