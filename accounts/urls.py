from django.urls import path

from accounts import views

urlpatterns = [
    path("", views.throttle_list, name="throttles"),
    path("lift/", views.lift, name="throttle-lift"),
]
