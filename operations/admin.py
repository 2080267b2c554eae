from django.contrib import admin

from operations.models import ImportCheckpoint


@admin.register(ImportCheckpoint)
class ImportCheckpointAdmin(admin.ModelAdmin):
    list_display = ("path", "lines_done", "stored", "duplicates", "finished_at", "updated_at")
    readonly_fields = ("fingerprint", "path", "lines_done", "stored", "duplicates", "finished_at", "updated_at")
