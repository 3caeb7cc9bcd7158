from django.urls import path

from deployments import views

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("services/<slug:name>/", views.service_detail, name="service-detail"),
    path("services/<slug:name>/rollback/", views.roll_back, name="service-rollback"),
    path("deployments/<int:pk>/", views.deployment_detail, name="deployment-detail"),
]
