"""Top-level URLs: plain path()s, one include per app."""

import django_rq.urls
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from tdp import api, views
from tdp.roles import ADMIN, role_required

# The django-rq dashboard, for admins only: others get 403 rather than a staff login page.
_admin_only = role_required(ADMIN)
rq_dashboard_patterns = [
    *django_rq.urls.get_admin_urlpatterns(view_wrapper=_admin_only),
    *(
        re_path(p.pattern.regex.pattern, _admin_only(p.callback), name=p.name)
        for p in django_rq.urls.get_api_urlpatterns()
    ),
]

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("audit/", views.audit_list, name="audit_list"),
    path("intel/", include("intel.urls")),
    path("detection/", include("detection.urls")),
    path("cases/", include("cases.urls")),
    path("automation/", include("automation.urls")),
    path("metrics/", include("metrics.urls")),
    path("tuning/", include("tuning.urls")),
    path("jobs/", include((rq_dashboard_patterns, "django_rq"))),
    path("django-admin/", admin.site.urls),
    path("api/v1/", api.api_root, name="api_root"),
    path("api/v1/", include("intel.api_urls")),
    path("api/v1/", include("detection.api_urls")),
    path("api/v1/", include("cases.api_urls")),
    path("api/v1/", include("metrics.api_urls")),
    path("api/v1/", include("tuning.api_urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api_schema"),
    path(
        "api/docs/",
        login_required(SpectacularSwaggerSplitView.as_view(url_name="api_schema")),
        name="api_docs",
    ),
]
