from django.contrib import admin

from core.admin import ViewOnlyAdmin
from players.models import Player, PlayerHarmMarker, PlayerProtection


@admin.register(Player)
class PlayerAdmin(admin.ModelAdmin):
    list_display = ("id", "signup_at", "locale", "timezone", "age_verified")
    list_filter = ("locale", "age_verified")
    search_fields = ("id",)
    date_hierarchy = "signup_at"
    show_full_result_count = False


@admin.register(PlayerProtection)
class PlayerProtectionAdmin(ViewOnlyAdmin):
    list_display = ("player_id", "daily_spend_limit", "weekly_spend_limit", "cool_off_until", "self_excluded_until")
    search_fields = ("player__id",)
    raw_id_fields = ("player",)

    # A player's own safeguards are theirs to change (through the API), not staff's: staff may look, but not add
    # a row behind the API's rules nor delete one (which would lift a cool-off or self-exclusion early).


@admin.register(PlayerHarmMarker)
class PlayerHarmMarkerAdmin(ViewOnlyAdmin):
    list_display = ("user_id", "marker", "detected_at", "as_of", "details")
    list_filter = ("marker",)
    search_fields = ("=user__id",)
    raw_id_fields = ("user",)
    date_hierarchy = "detected_at"
