from django.urls import path

from portero.recovery import views

app_name = "recovery"
urlpatterns = [
    path("recuperar/contrasena/", views.forgot_password, name="forgot_password"),
    path("recuperar/contrasena/enviado/", views.password_sent, name="password_sent"),
    path("recuperar/usuario/", views.forgot_username, name="forgot_username"),
    path("recuperar/usuario/enviado/", views.username_sent, name="username_sent"),
    path("restablecer/", views.reset, name="reset"),
    path("restablecer/listo/", views.reset_done, name="reset_done"),
    path("restablecer/nuevo-correo/", views.new_link, name="new_link"),
    path("restablecer/codigo/", views.enter_code, name="enter_code"),
    path("restablecer/<str:token>/", views.open_link, name="open_link"),
]
