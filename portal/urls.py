from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.templatetags.static import static
from django.urls import include, path, re_path
from django.views.generic import RedirectView

from accounts.views import LoginView
from api.docs import docs_page
from api.errors import unknown_endpoint
from api.v1 import api
from portal import health


class FaviconView(RedirectView):
    """/favicon.ico, which browsers ask for where a page links no icon: the portal's SVG."""

    permanent = True

    def get_redirect_url(self, *args, **kwargs) -> str:
        return static("favicon.svg")  # resolved per request: the manifest's hashed name


urlpatterns = [
    path("favicon.ico", FaviconView.as_view(), name="favicon"),
    path("health", health.liveness, name="health"),
    path("health/ready", health.readiness, name="health-ready"),
    path("login/", LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("admin/", admin.site.urls),
    path("api/v1/docs", docs_page, name="api-docs"),
    path("api/v1/", api.urls),
    re_path(r"^api/v1/", unknown_endpoint, name="api-unknown"),
    path("tokens/", include("api.token_urls")),
    path("throttles/", include("accounts.urls")),
    path("", include("live.urls")),
    path("", include("web.urls")),
]
