from django.urls import path

from api import token_views as views

urlpatterns = [
    path("", views.token_list, name="tokens"),
    path("new/", views.create, name="token-create"),
    path("new/shown/", views.created, name="token-created"),
    path("<int:pk>/revoke/", views.revoke, name="token-revoke"),
]
