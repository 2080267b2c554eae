from django.urls import path

from webclient import views

urlpatterns = [
    path("app/", views.app_page, name="webclient-app"),
    path("dev/players/", views.dev_players, name="dev-players"),
    path("dev/players/open", views.dev_player_open, name="dev-player-open"),
]
