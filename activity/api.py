from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from activity import services
from activity.serializers import ActionBatchInput, ActionBatchOutput
from activity.validation import parse_batch
from core.exceptions import InvalidInput
from core.metrics import ACTIONS_REJECTED
from core.parsers import body_may_contain_nul
from core.permissions import IsService
from core.scopes import Scope


class ActionIngestApi(APIView):
    """Batch ingest of player actions from trusted services."""

    permission_classes = [IsService]
    required_scope = Scope.INGEST

    @extend_schema(request=ActionBatchInput, responses={200: ActionBatchOutput}, tags=["activity"])
    def post(self, request: Request) -> Response:
        body = request.data
        items = body.get("actions") if isinstance(body, dict) else None
        limit = settings.ACTIONS_MAX_BATCH
        if type(items) is not list or not 0 < len(items) <= limit:
            ACTIONS_REJECTED.labels("api").inc()
            raise InvalidInput("Invalid input.", fields={"actions": [f"Required: a list of 1 to {limit} actions."]})
        actions, errors = parse_batch(
            items,
            now=timezone.now(),
            max_future=dt.timedelta(seconds=settings.ACTIONS_MAX_FUTURE_SECONDS),
            allow_token_moving=False,
            check_nul=body_may_contain_nul(request),  # a scan of the raw body: no walk of 1,000s of items
        )
        if errors:
            ACTIONS_REJECTED.labels("api").inc()
            raise InvalidInput(
                f"{len(items) - len(actions)} of {len(items)} actions are invalid; none was stored.", fields=errors
            )
        result = services.actions_ingest(actions=actions, path="api")
        return Response({"stored": result.stored, "duplicates": result.duplicates})
