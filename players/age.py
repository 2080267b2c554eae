"""Who is an adult (design brief section 6; docs/decisions/0014): pure functions, no database.

A player is an adult from their ``ADULT_AGE``th birthday (19, the age the issue names after Korea's Youth Protection
Act) counted on the business-timezone calendar (``BUSINESS_TIMEZONE``), whatever the player's own time zone: one
date for everyone, the one the business's own days are counted by. Someone born on 29 February has their birthday
on 1 March in a year without one (Korea's Civil Act, Articles 158 and 160: a period of years with no matching day
ends on the last day of the month, so the new age starts the day after).

The age counts only when it is verified: ``age_verified`` with a birth date, both recorded from a trusted identity
provider (``players.services.age_verification_record``), never from the player's own claim.
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.utils import timezone

from core.timezones import zone


def business_today(now: dt.datetime | None = None) -> dt.date:
    """Today's date in the business timezone (the calendar the age rule counts by)."""
    return (now or timezone.now()).astimezone(zone(settings.BUSINESS_TIMEZONE)).date()


def birthday_in(born: dt.date, year: int) -> dt.date:
    """The birthday of someone born on ``born`` in ``year``: 29 February is 1 March in a year without it."""
    try:
        return born.replace(year=year)
    except ValueError:  # 29 February, not a leap year
        return dt.date(year, 3, 1)


def adult_from(born: dt.date, *, age: int | None = None) -> dt.date:
    """The first day on which someone born on ``born`` is an adult (``ADULT_AGE``, or ``age``)."""
    return birthday_in(born, born.year + (settings.ADULT_AGE if age is None else age))


def is_adult(born: dt.date | None, today: dt.date) -> bool:
    """Whether someone born on ``born`` is an adult on ``today`` (False for an unknown birth date)."""
    return born is not None and today >= adult_from(born)


def is_verified_adult(*, age_verified: bool, birth_date: dt.date | None, today: dt.date) -> bool:
    """A verified birth date that makes the player an adult on ``today`` (a business-timezone date)."""
    return bool(age_verified) and is_adult(birth_date, today)
