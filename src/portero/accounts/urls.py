from django.urls import path

from portero.accounts import views

app_name = "accounts"
urlpatterns = [
    path("ingresar/", views.sign_in, name="sign_in"),
    path("salir/", views.sign_out, name="sign_out"),
    path("cuenta/", views.home, name="home"),
    path("cuenta/contrasena/", views.change_password, name="change_password"),
    path("cuenta/historial/", views.history, name="history"),
    path("cuenta/sesiones/", views.sessions, name="sessions"),
    path("cuenta/notificaciones/", views.notifications, name="notifications"),
    path("cuenta/idioma/", views.language, name="language"),
    path("contrasena/evaluar/", views.password_strength, name="password_strength"),
]
