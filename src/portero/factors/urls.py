from django.urls import path

from portero.factors import assisted_views, passkey_views, views

app_name = "factors"
urlpatterns = [
    path("ingresar/verificacion/", views.second_step, name="second_step"),
    path("cuenta/confirmar/", views.confirm, name="confirm"),
    path("cuenta/seguridad/", views.security, name="security"),
    path("cuenta/seguridad/aplicacion/", views.authenticator_add, name="authenticator_add"),
    path(
        "cuenta/seguridad/aplicacion/quitar/",
        views.authenticator_remove,
        name="authenticator_remove",
    ),
    path("cuenta/seguridad/codigos/", views.backup_codes, name="backup_codes"),
    # Passkeys (passkey_views): Mi cuenta, the script's options, the answers posted.
    path("cuenta/seguridad/llaves/nueva/", passkey_views.add, name="passkey_add"),
    path(
        "cuenta/seguridad/llaves/opciones/", passkey_views.add_options, name="passkey_add_options"
    ),
    path(
        "cuenta/seguridad/llaves/<int:passkey_id>/quitar/",
        passkey_views.remove,
        name="passkey_remove",
    ),
    path("ingresar/llave/", passkey_views.sign_in, name="passkey_sign_in"),
    path("ingresar/llave/opciones/", passkey_views.options, name="passkey_options"),
    path("ingresar/verificacion/llave/", passkey_views.second_step, name="passkey_second_step"),
    path("cuenta/confirmar/llave/", passkey_views.confirm, name="passkey_confirm"),
    path("cuenta/seguridad/continuar/", views.continue_after_enrolment, name="continue"),
    path(
        "cuenta/recuperacion-asistida/<str:token>/",
        assisted_views.assisted_cancel,
        name="assisted_cancel",
    ),
]
