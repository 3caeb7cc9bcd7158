from django.urls import path

from web import deployment_views, message_views, release_views, service_views, views

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("messages/", message_views.message_list, name="messages"),
    path("services/<slug:name>/", views.service_detail, name="service-detail"),
    path("services/<slug:name>/rollback/", views.roll_back, name="service-rollback"),
    path(
        "services/<slug:name>/rollback/confirm/",
        service_views.rollback_confirm,
        name="service-rollback-confirm",
    ),
    path(
        "services/<slug:name>/promote/<slug:environment>/",
        service_views.promote,
        name="service-promote",
    ),
    path(
        "services/<slug:name>/promote/<slug:environment>/confirm/",
        service_views.promote_confirm,
        name="service-promote-confirm",
    ),
    path(
        "services/<slug:name>/break-glass/<slug:environment>/",
        service_views.break_glass,
        name="service-break-glass",
    ),
    path(
        "services/<slug:name>/environments/<slug:environment>/lock/",
        service_views.lock,
        name="environment-lock",
    ),
    path(
        "services/<slug:name>/environments/<slug:environment>/unlock/",
        service_views.unlock,
        name="environment-unlock",
    ),
    path("services/<slug:name>/build/", release_views.build_release, name="service-build"),
    path(
        "services/<slug:name>/releases/<str:version>/",
        release_views.release_detail,
        name="release-detail",
    ),
    path(
        "services/<slug:name>/releases/<str:version>/log/",
        release_views.release_log,
        name="release-log",
    ),
    path(
        "services/<slug:name>/releases/<str:version>/sections/",
        release_views.release_sections,
        name="release-sections",
    ),
    path(
        "services/<slug:name>/releases/<str:version>/cancel/",
        release_views.cancel_build,
        name="release-cancel",
    ),
    path(
        "environments/<slug:name>/timeline/",
        views.environment_timeline,
        name="environment-timeline",
    ),
    path("deployments/<int:pk>/", views.deployment_detail, name="deployment-detail"),
    path("deployments/<int:pk>/log/", deployment_views.log_lines, name="deployment-log"),
    path("deployments/<int:pk>/sections/", deployment_views.sections, name="deployment-sections"),
    path("deployments/<int:pk>/decide/", deployment_views.decide, name="deployment-decide"),
    path("deployments/<int:pk>/cancel/", deployment_views.cancel, name="deployment-cancel"),
    path(
        "deployments/<int:pk>/review/",
        deployment_views.review_break_glass,
        name="deployment-review",
    ),
    path(
        "deployments/<int:pk>/checklist/<int:item_id>/answer/",
        deployment_views.answer_item,
        name="checklist-answer",
    ),
    path(
        "deployments/<int:pk>/checklist/check-again/",
        deployment_views.check_again,
        name="checklist-check-again",
    ),
    path(
        "deployments/<int:pk>/checklist/<int:item_id>/waive/",
        deployment_views.waive_item,
        name="checklist-waive",
    ),
]
