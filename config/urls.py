from django.contrib import admin
from django.urls import include, path
from django.views.generic import TemplateView

from config.csp import csp_report
from config.health import healthz
from staffauth.forms import ThrottledAdminAuthenticationForm

admin.site.site_header = "Pledge"
admin.site.site_title = "Pledge staff"
admin.site.login_form = ThrottledAdminAuthenticationForm

urlpatterns = [
    path("", TemplateView.as_view(template_name="home.html"), name="home"),
    path("healthz", healthz, name="healthz"),
    path("csp-report/", csp_report, name="csp-report"),
    path("admin/", admin.site.urls),
    path("staff/2fa/", include("staffauth.urls")),
    path("", include("donations.urls")),
    path("receipts/", include("receipts.urls")),
    path("", include("members.urls")),
    path("account/", include("account.urls")),
]
