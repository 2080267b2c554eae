"""The beat schedule (conventions item 6): a broken entry fails here, not silently in production."""

from __future__ import annotations

from io import StringIO

import pytest
from celery.schedules import BaseSchedule
from django.conf import settings
from django.core.management import call_command
from django_celery_beat.models import PeriodicTask
from django_celery_beat.schedulers import DatabaseScheduler

from config.celery import app
from config.schedule import BEAT_SCHEDULE, celery_beat_schedule, nightly_task_names

ENTRIES = sorted(BEAT_SCHEDULE.items())


@pytest.fixture(scope="module")
def registered_tasks() -> set[str]:
    app.loader.import_default_modules()
    return set(app.tasks)


def test_schedule_is_not_empty_and_reaches_celery():
    # given the schedule module
    # when the settings and the Celery app are loaded
    # then Celery's beat schedule is that module's, without our own tags
    assert BEAT_SCHEDULE
    assert celery_beat_schedule() == settings.CELERY_BEAT_SCHEDULE
    assert app.conf.beat_schedule == celery_beat_schedule()
    assert all("nightly" not in entry for entry in app.conf.beat_schedule.values())


@pytest.mark.parametrize(("name", "entry"), ENTRIES, ids=[n for n, _ in ENTRIES])
def test_every_task_is_registered(registered_tasks, name, entry):
    # given a schedule entry
    # when the app's tasks are discovered
    # then the entry's task is one of them
    assert entry["task"] in registered_tasks, f"{name}: task {entry['task']!r} is not registered in the Celery app"


@pytest.mark.parametrize(("name", "entry"), ENTRIES, ids=[n for n, _ in ENTRIES])
def test_every_schedule_is_a_valid_celery_schedule(name, entry):
    # given a schedule entry
    schedule = entry["schedule"]
    # when Celery asks it when it is next due
    remaining = schedule.remaining_estimate(schedule.now())
    # then it is a Celery schedule that answers with a time within a day (nightly jobs) or its interval
    assert isinstance(schedule, BaseSchedule), f"{name}: {schedule!r} is not a celery schedule"
    assert 0 <= remaining.total_seconds() <= 86400 * 31
    assert set(entry) <= {"task", "schedule", "args", "kwargs", "options", "relative", "nightly"}


@pytest.mark.django_db
@pytest.mark.parametrize(("name", "entry"), ENTRIES, ids=[n for n, _ in ENTRIES])
def test_beat_database_scheduler_can_store_every_entry(name, entry):
    # given an entry as Celery sees it (DatabaseScheduler would only log an error and drop a bad one)
    fields = celery_beat_schedule()[name]
    # when django-celery-beat stores it
    DatabaseScheduler.Entry.from_entry(name, app=app, **fields)
    # then it is a periodic task row for the same task, enabled
    stored = PeriodicTask.objects.get(name=name)
    assert (stored.task, stored.enabled) == (entry["task"], True)


def test_nightly_jobs_are_in_the_schedule():
    # given the nightly tags
    # when the nightly task names are listed
    names = nightly_task_names()
    # then each is a scheduled task, and they reach run_nightly through the settings, in order
    assert names
    assert set(names) <= {entry["task"] for entry in BEAT_SCHEDULE.values()}
    assert names == settings.NIGHTLY_TASKS


@pytest.mark.django_db
def test_run_nightly_runs_every_nightly_job():
    # given the nightly jobs of the schedule
    out = StringIO()
    # when run_nightly runs
    call_command("run_nightly", stdout=out)
    # then it exits normally having run each one
    output = out.getvalue()
    for name in nightly_task_names():
        assert f"{name} ... done" in output
