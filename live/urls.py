"""The live streams (server-sent events) beside the pages they follow."""

from django.urls import path

from live import views

urlpatterns = [
    path(
        "services/<slug:name>/releases/<str:version>/events/",
        views.release_events,
        name="release-events",
    ),
    path("deployments/<int:pk>/events/", views.deployment_events, name="deployment-events"),
    path("live/lanes/", views.lanes_events, name="lanes-events"),
]
