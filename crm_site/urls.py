from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_not_required
from django.urls import include, path
from django.utils.translation import gettext_lazy as _
from django.views.i18n import set_language

# The admin under the product's name rather than Django's.
admin.site.site_header = _("CRM administration")
admin.site.site_title = _("CRM administration")

urlpatterns = [
    # Choosing a language must work on the login page too.
    path("i18n/setlang/", login_not_required(set_language), name="set_language"),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("admin/", admin.site.urls),
    path("lifecycle/", include("lifecycle.urls")),
    path("retention/", include("retention.urls")),
    path("loyalty/", include("loyalty.urls")),
    path("", include("customers.urls")),
]
