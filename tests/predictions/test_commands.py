"""The commands print one JSON line on stdout; bad input is a CommandError."""

from __future__ import annotations

import io
from pathlib import Path

import orjson
import pytest
from django.core.management import CommandError, call_command

from activity.models import UserAction
from predictions.models import PlayerPrediction, PredictionModel
from tests.predictions import population

pytestmark = pytest.mark.django_db


def _run(*args: str) -> dict:
    out, err = io.StringIO(), io.StringIO()
    call_command(*args, stdout=out, stderr=err)
    lines = out.getvalue().splitlines()
    assert len(lines) == 1
    return orjson.loads(lines[0])


def test_train_score_and_export_each_print_one_json_line(tmp_path: Path) -> None:
    population.build(players=150)
    end = population.END.isoformat()

    trained = _run("train_models", "--as-of", end, "--churn-horizon-days", "7", "--ltv-horizon-days", "14")
    scored = _run("score_players", "--as-of", end)
    exported = _run("export_predictions", "--as-of", end, "--out", str(tmp_path / "p.csv"))

    model = PredictionModel.objects.get()
    assert trained["model_version"] == model.version and trained["churn"]["horizon_days"] == 7
    assert set(trained["churn"]["model"]) == set(trained["churn"]["baseline_recency"]) >= {"auc", "log_loss", "brier"}
    assert set(trained["ltv"]["model"]) == set(trained["ltv"]["baseline_repeat"]) >= {"mae", "spearman"}
    seen = UserAction.objects.values("user_id").distinct().count()  # players with any history (one may have none)
    assert scored["players"] == seen == PlayerPrediction.objects.count() and scored["model_version"] == model.version
    assert exported["rows"] == seen and (tmp_path / "p.csv").exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("train_models", "--as-of", "2026-13-01"), "is not a date"),
        (("train_models", "--as-of", "2026-11-20", "--churn-horizon-days", "0"), "at least 1"),
        (("train_models", "--as-of", "2026-11-20"), "days of history"),
        (("score_players", "--as-of", "2026-11-20"), "train_models first"),
        (("export_predictions", "--as-of", "2026-11-20", "--out", "/no/such/dir/p.csv"), "does not exist"),
    ],
)
def test_bad_input_is_a_clear_command_error(args: tuple[str, ...], message: str) -> None:
    with pytest.raises(CommandError, match=message):
        call_command(*args, stdout=io.StringIO(), stderr=io.StringIO())
