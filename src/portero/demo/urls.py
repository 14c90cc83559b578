from django.urls import path

from portero.demo import views

app_name = "demo"
urlpatterns = [
    path("demo/correo/", views.inbox, name="inbox"),
    path("demo/correo/<str:key>/", views.message, name="message"),
    path("demo/correo/<str:key>/html/", views.message_html, name="message_html"),
]
