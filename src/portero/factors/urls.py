from django.urls import path

from portero.factors import assisted_views, views

app_name = "factors"
urlpatterns = [
    path("ingresar/verificacion/", views.second_step, name="second_step"),
    path("cuenta/confirmar/", views.confirm, name="confirm"),
    path("cuenta/seguridad/", views.security, name="security"),
    path("cuenta/seguridad/aplicacion/", views.authenticator_add, name="authenticator_add"),
    path("cuenta/seguridad/aplicacion/quitar/", views.authenticator_remove,
         name="authenticator_remove"),
    path("cuenta/seguridad/codigos/", views.backup_codes, name="backup_codes"),
    path("cuenta/seguridad/continuar/", views.continue_after_enrolment, name="continue"),
    path("cuenta/recuperacion-asistida/<str:token>/", assisted_views.assisted_cancel,
         name="assisted_cancel"),
]
