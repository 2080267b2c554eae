"""The dashboard's filters as a form: the date range (``from``, ``to``: the API's names and rules), the RFM group and
the locale (docs/metrics.md, "Filters")."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.conf import settings

from analytics.dashboard import Filters
from analytics.selectors import GROUPS
from analytics.serializers import DATE_FORMAT
from texts.registry import LOCALE_CHOICES

DATE_INPUT = forms.DateInput(format=DATE_FORMAT, attrs={"type": "date"})


class DashboardFilterForm(forms.Form):
    """``from`` and ``to`` (YYYY-MM-DD, inclusive; ``to`` not before ``from``; at most ``ANALYTICS_MAX_RANGE_DAYS``
    days, as for the API), ``group`` and ``locale`` (empty: all)."""

    group = forms.ChoiceField(choices=[("", "All groups"), *((g, g) for g in GROUPS)], required=False)
    locale = forms.ChoiceField(choices=[("", "All locales"), *LOCALE_CHOICES], required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # "from" is a Python keyword: the fields are named here, as the query string names them.
        self.fields = {
            "from": forms.DateField(input_formats=[DATE_FORMAT], widget=DATE_INPUT, label="From"),
            "to": forms.DateField(input_formats=[DATE_FORMAT], widget=DATE_INPUT, label="To"),
            **self.fields,
        }

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        start: dt.date | None = data.get("from")
        end: dt.date | None = data.get("to")
        if start and end:
            if end < start:
                self.add_error("to", "Must be on or after from.")
            elif (end - start).days + 1 > (limit := settings.ANALYTICS_MAX_RANGE_DAYS):
                self.add_error("to", f"The range may cover at most {limit} days.")
        return data

    def filters(self) -> Filters:
        """The valid form's filters."""
        data = self.cleaned_data
        return Filters(d0=data["from"], d1=data["to"], group=data["group"] or None, locale=data["locale"] or None)
