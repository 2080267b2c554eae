from django.urls import path

from recommendations import api

urlpatterns = [
    path("me/recommendations", api.MyRecommendationsApi.as_view(), name="me-recommendations"),
    path("users/<int:user_id>/recommendations", api.UserRecommendationsApi.as_view(), name="user-recommendations"),
    path("recommendations/<str:proposal_id>/click", api.ProposalClickApi.as_view(), name="recommendation-click"),
]
