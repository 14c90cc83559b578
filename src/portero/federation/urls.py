"""The provider's endpoints (under /o/, named as django-oauth-toolkit expects) and the
person's own page of applications."""

from django.urls import path
from oauth2_provider import views as oauth_views

from portero.federation import views

app_name = "oauth2_provider"  # the library reverses its endpoints in this namespace
urlpatterns = [
    path("authorize/", views.AuthorizeView.as_view(), name="authorize"),
    path("token/", views.TokenView.as_view(), name="token"),
    path("revoke_token/", oauth_views.RevokeTokenView.as_view(), name="revoke-token"),
    path("userinfo/", oauth_views.UserInfoView.as_view(), name="user-info"),
    path("logout/", views.LogoutView.as_view(), name="rp-initiated-logout"),
    path("jwks/", views.jwks, name="jwks-info"),
]

well_known = [
    path(".well-known/openid-configuration", views.DiscoveryView.as_view(), name="discovery"),
]

account = [
    path("cuenta/aplicaciones/", views.applications_list, name="applications"),
    path(
        "cuenta/aplicaciones/<str:client_id>/revocar/",
        views.application_revoke,
        name="application_revoke",
    ),
]
