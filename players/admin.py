from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.contrib import admin, messages
from django.contrib.admin import actions as admin_actions
from django.core.exceptions import PermissionDenied
from django.db import router, transaction
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.utils.translation import gettext_lazy

from core.admin import ViewOnlyAdmin
from players import selectors, services
from players.models import Player, PlayerAgeVerification, PlayerHarmMarker, PlayerProtection

PAUSED_REFUSAL = (
    "a cool-off or self-exclusion is in force, which deleting the player would lift (to forget a player, erase their "
    "personal data: the safeguards stay)"
)


@admin.register(Player)
class PlayerAdmin(admin.ModelAdmin):
    """Staff cannot weaken a player's safeguards here: a player whose cool-off or self-exclusion is in force cannot
    be deleted (deleting the player would delete the safeguard with them); "Erase personal data" forgets the player
    and keeps them (docs/decisions/0005)."""

    list_display = ("id", "signup_at", "locale", "timezone", "age_verified", "erased_at")
    list_filter = ("locale", "age_verified")
    search_fields = ("id",)
    date_hierarchy = "signup_at"
    show_full_result_count = False
    actions = ("delete_selected", "erase_personal_data", "revoke_tokens")
    # The age comes only from an identity provider, through the audited service (docs/decisions/0014): staff see it.
    readonly_fields = ("birth_date", "age_verified", "age_verified_at", "erased_at", "tokens_valid_after")

    def has_delete_permission(self, request: HttpRequest, obj: Player | None = None) -> bool:
        if not super().has_delete_permission(request, obj):
            return False
        if obj is None:
            return True
        protection = selectors.protection_of(obj)
        return protection is None or not protection.is_paused(timezone.now())

    def get_deleted_objects(
        self, objs: Iterable[Player], request: HttpRequest
    ) -> tuple[list[Any], dict[str, int], set[str], list[Any]]:
        # The protection admin is view-only, so Django would refuse every player with a protection row. Once no
        # cool-off or self-exclusion is in force, the row may go with its player.
        objs = list(objs)
        deleted, counts, perms_needed, protected = super().get_deleted_objects(objs, request)
        if not selectors.players_paused(player_ids=[p.pk for p in objs], now=timezone.now()):
            perms_needed.discard(str(PlayerProtection._meta.verbose_name))
        # The age-verification audit (view-only) is the player's and goes with them.
        perms_needed.discard(str(PlayerAgeVerification._meta.verbose_name))
        return deleted, counts, perms_needed, protected

    # Every admin deletion ends in one of these two: checked again under lock, so a safeguard the player set since
    # the page was shown is never deleted with them.

    def delete_model(self, request: HttpRequest, obj: Player) -> None:
        with transaction.atomic(using=router.db_for_write(Player)):
            _refuse_paused([obj.pk])
            super().delete_model(request, obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Player]) -> None:
        with transaction.atomic(using=router.db_for_write(Player)):
            _refuse_paused(list(queryset.values_list("pk", flat=True)))
            super().delete_queryset(request, queryset)

    @admin.action(permissions=["delete"], description=gettext_lazy("Delete selected %(verbose_name_plural)s"))
    def delete_selected(self, request: HttpRequest, queryset: QuerySet[Player]) -> HttpResponse | None:
        """Django's own action, for the selected players whose cool-off and self-exclusion are over; the others
        are left out and named."""
        paused = selectors.players_paused(player_ids=list(queryset.values_list("pk", flat=True)), now=timezone.now())
        if paused:
            self.message_user(request, f"Not deleted: for {_players(paused)}, {PAUSED_REFUSAL}.", messages.WARNING)
            queryset = queryset.exclude(pk__in=paused)
            if not queryset.exists():
                return None
        # One transaction, so a refusal in delete_queryset also drops the deletion log entries written before it.
        with transaction.atomic(using=router.db_for_write(Player)):
            return admin_actions.delete_selected(self, request, queryset)

    @admin.action(permissions=["change"], description="Erase personal data (keeps safeguards)")
    def erase_personal_data(self, request: HttpRequest, queryset: QuerySet[Player]) -> None:
        now = timezone.now()
        erased = [
            player_id
            for player_id in queryset.values_list("pk", flat=True)
            if services.player_erase(player_id=player_id, now=now).changed
        ]
        if erased:
            self.message_user(
                request,
                f"Erased the personal data (birth date, age verification) of {_players(erased)}. Their cool-off, "
                "self-exclusion and limits are kept.",
                messages.SUCCESS,
            )
        else:
            self.message_user(request, "Nothing to erase: the selected players were already erased.", messages.INFO)

    @admin.action(permissions=["change"], description="Revoke tokens (the player's app must log in again)")
    def revoke_tokens(self, request: HttpRequest, queryset: QuerySet[Player]) -> None:
        now = timezone.now()
        revoked = list(queryset.values_list("pk", flat=True))
        for player_id in revoked:
            services.player_tokens_revoke(player_id=player_id, at=now)
        self.message_user(request, f"Tokens issued before now are refused for {_players(revoked)}.", messages.SUCCESS)


@admin.register(PlayerProtection)
class PlayerProtectionAdmin(ViewOnlyAdmin):
    list_display = (
        "player_id",
        "daily_spend_limit",
        "weekly_spend_limit",
        "monthly_purchase_limit",
        "cool_off_until",
        "self_excluded_until",
    )
    search_fields = ("player__id",)
    raw_id_fields = ("player",)

    # A player's own safeguards are theirs to change (through the API), not staff's: staff may look, but not add
    # a row behind the API's rules nor delete one (which would lift a cool-off or self-exclusion early).


def _refuse_paused(player_ids: list[int]) -> None:
    paused = services.players_lock_paused(player_ids=player_ids, now=timezone.now())
    if paused:
        raise PermissionDenied(f"Not deleted: for {_players(paused)}, {PAUSED_REFUSAL}.")


def _players(ids: Iterable[int]) -> str:
    ids = sorted(ids)
    return ("player " if len(ids) == 1 else "players ") + ", ".join(str(i) for i in ids)


@admin.register(PlayerHarmMarker)
class PlayerHarmMarkerAdmin(ViewOnlyAdmin):
    list_display = ("user_id", "marker", "detected_at", "as_of", "details")
    list_filter = ("marker",)
    search_fields = ("=user__id",)
    raw_id_fields = ("user",)
    date_hierarchy = "detected_at"


@admin.register(PlayerAgeVerification)
class PlayerAgeVerificationAdmin(ViewOnlyAdmin):
    """The audit of age verifications: what each identity provider reported, when, and what it replaced."""

    list_display = ("player_id", "provider", "reference", "verified_at", "recorded_at", "recorded_by")
    list_filter = ("provider",)
    search_fields = ("=player__id", "=reference")
    raw_id_fields = ("player",)
    date_hierarchy = "recorded_at"
