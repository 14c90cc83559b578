from django.urls import path

from portero.helpdesk import organization_views, views

app_name = "helpdesk"
urlpatterns = [
    path("mesa/", views.search, name="search"),
    path("mesa/usuario/<int:pk>/", views.user_detail, name="user"),
    path("mesa/usuario/<int:pk>/accion/", views.act, name="act"),
    path("mesa/cola/", views.queue, name="queue"),
    path("mesa/usuario/<int:pk>/cierre/<int:delivery>/", views.logout_resend, name="logout_resend"),
    path(
        "mesa/organizacion/<int:pk>/", organization_views.organization_detail, name="organization"
    ),
    path(
        "mesa/organizacion/<int:pk>/decidir/<int:membership>/",
        organization_views.membership_decide,
        name="membership_decide",
    ),
    path(
        "mesa/usuario/<int:pk>/recuperacion-asistida/", views.assisted_start, name="assisted_start"
    ),
    path(
        "mesa/usuario/<int:pk>/recuperacion-asistida/cancelar/",
        views.assisted_cancel,
        name="assisted_cancel",
    ),
]
