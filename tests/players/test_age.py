"""Who is an adult (``players.age``; docs/decisions/0014): from the 19th birthday, on the business-timezone calendar,
only with a verified birth date."""

from __future__ import annotations

import datetime as dt
import zoneinfo

import pytest
from django.test import override_settings

from players.age import adult_from, business_today, is_adult, is_verified_adult
from players.models import Player

SEOUL = zoneinfo.ZoneInfo("Asia/Seoul")


def test_18_years_and_364_days_is_not_an_adult_and_the_19th_birthday_is():
    # given someone whose 19th birthday is 20 November 2026
    born = dt.date(2007, 11, 20)
    # when their age is judged the day before and on the day
    # then they are a minor on the 19th (18 years and 364 days) and an adult from the 20th
    assert not is_adult(born, dt.date(2026, 11, 19))
    assert is_adult(born, dt.date(2026, 11, 20))
    assert adult_from(born) == dt.date(2026, 11, 20)


def test_born_on_29_february_the_19th_birthday_is_1_march_in_a_year_without_one():
    # given someone born on 29 February 2008 (2027 has no 29 February)
    born = dt.date(2008, 2, 29)
    # then they are 19 from 1 March 2027, not on 28 February
    assert adult_from(born) == dt.date(2027, 3, 1)
    assert not is_adult(born, dt.date(2027, 2, 28))
    assert is_adult(born, dt.date(2027, 3, 1))


def test_a_birth_date_counts_only_when_verified():
    # given a birth date that makes someone 40
    born = dt.date(1986, 1, 1)
    today = dt.date(2026, 11, 20)
    # then it makes a verified adult only when verified, and no birth date never does
    assert is_verified_adult(age_verified=True, birth_date=born, today=today)
    assert not is_verified_adult(age_verified=False, birth_date=born, today=today)
    assert not is_verified_adult(age_verified=True, birth_date=None, today=today)


@override_settings(BUSINESS_TIMEZONE="Asia/Seoul")
def test_today_is_the_business_timezones_date_whatever_the_players_own():
    # given 00:30 on 20 November in Seoul, still 19 November in UTC and in Los Angeles
    now = dt.datetime(2026, 11, 20, 0, 30, tzinfo=SEOUL)
    player = Player(
        id=1, birth_date=dt.date(2007, 11, 20), age_verified=True, timezone="America/Los_Angeles"
    )  # not saved: the rule reads no database
    # when the age is judged on the business calendar
    today = business_today(now)
    # then it is 20 November, the player's 19th birthday: an adult, though their own clock still says the 19th
    assert today == dt.date(2026, 11, 20)
    assert player.is_verified_adult(today)
    assert not player.is_verified_adult(today - dt.timedelta(days=1))


@pytest.mark.parametrize("age", [18, 20])
def test_the_adult_age_is_the_setting(age):
    # given another ADULT_AGE
    with override_settings(ADULT_AGE=age):
        # then the first adult day moves with it
        assert adult_from(dt.date(2000, 6, 1)) == dt.date(2000 + age, 6, 1)
