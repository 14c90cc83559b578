from django.urls import include, path
from django.views.generic import RedirectView

from portero.accounts.views import switch_language
from portero.federation import urls as federation_urls
from portero.ops import health

urlpatterns = [
    path("salud/vivo", health.alive, name="health_alive"),
    path("salud/listo", health.ready, name="health_ready"),
    # Redirects answer GET and HEAD only: PUT, PATCH, DELETE get 405 like on every page (HB3).
    path(
        "",
        RedirectView.as_view(
            pattern_name="accounts:sign_in", permanent=False, http_method_names=["get", "head"]
        ),
    ),
    # Browsers and crawlers ask for it whatever the pages say: no 404 in the log for each.
    path(
        "favicon.ico",
        RedirectView.as_view(
            url="/static/portero/favicon.svg", permanent=True, http_method_names=["get", "head"]
        ),
    ),
    path("idioma/", switch_language, name="set_language"),
    path("", include("portero.accounts.urls")),
    path("", include("portero.factors.urls")),
    path("", include("portero.recovery.urls")),
    path("", include("portero.helpdesk.urls")),
    path("", include("portero.organizations.urls")),
    path("o/", include("portero.federation.urls")),
    path("", include((federation_urls.well_known, "federation_discovery"))),
    path("", include((federation_urls.account, "federation"))),
    path("", include("portero.demo.urls")),
]

handler400 = "portero.core.errors.bad_request"
handler403 = "portero.core.errors.permission_denied"
handler404 = "portero.core.errors.page_not_found"
handler500 = "portero.core.errors.server_error"
