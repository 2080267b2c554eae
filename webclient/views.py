"""The web client's pages. ``/app/`` serves the bundle with its settings; the player's token reaches it in the
URL's fragment (``/app/#token=<JWT>``), which the app's web view sets and no server ever sees.

``/dev/players/`` (development only: ``settings.DEV_PAGES``, on with the local settings' DEBUG, never with the
production settings) lists demo players and opens the client as one of them with a short-lived token minted here.
"""

from __future__ import annotations

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from core.auth import MAX_PLAYER_ID, player_token_issue
from players import selectors as player_selectors
from webclient.bundle import bundle_get

DEV_PLAYERS_LISTED = 40


def client_config() -> dict[str, str]:
    """What the client reads from the page (frontend/src/types.ts, ClientConfig)."""
    return {
        "apiBase": "/api",
        "gameUrl": settings.WEBCLIENT_GAME_URL,
        "corporateUrl": settings.WEBCLIENT_CORPORATE_URL,
        "protectionUrl": settings.WEBCLIENT_PROTECTION_URL,
        "devPlayersUrl": reverse("dev-players") if settings.DEV_PAGES else "",
    }


@require_GET
@never_cache
def app_page(request: HttpRequest) -> HttpResponse:
    return render(request, "webclient/app.html", {"bundle": bundle_get(), "config": client_config()})


def _dev_pages_only() -> None:
    if not settings.DEV_PAGES:
        raise Http404("No such page.")


@require_GET
@never_cache
def dev_players(request: HttpRequest) -> HttpResponse:
    _dev_pages_only()
    players = player_selectors.players_first(limit=DEV_PLAYERS_LISTED)
    return render(
        request,
        "webclient/dev_players.html",
        {
            "players": players,
            "error": request.GET.get("error"),
            "ttl_minutes": settings.DEV_PLAYER_TOKEN_TTL_SECONDS // 60,
        },
    )


@require_POST
def dev_player_open(request: HttpRequest) -> HttpResponse:
    """Mints a player token (``DEV_PLAYER_TOKEN_TTL_SECONDS``) and opens the client with it."""
    _dev_pages_only()
    raw = request.POST.get("player_id", "").strip()
    if not raw.isdigit() or not 0 < int(raw) <= MAX_PLAYER_ID:
        return HttpResponseRedirect(reverse("dev-players") + "?error=player_id")
    token = player_token_issue(player_id=int(raw), ttl_seconds=settings.DEV_PLAYER_TOKEN_TTL_SECONDS)
    return HttpResponseRedirect(f"{reverse('webclient-app')}#token={token}")
