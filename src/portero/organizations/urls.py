from django.urls import path

from portero.organizations import views

app_name = "organizations"
urlpatterns = [
    path("cuenta/organizaciones/", views.organizations_list, name="list"),
    path("cuenta/organizaciones/registrar/", views.register, name="register"),
    path("cuenta/organizaciones/solicitar/", views.request_access, name="request"),
    path("cuenta/organizaciones/elegir/", views.choose, name="choose"),
    path("cuenta/organizaciones/<int:pk>/solicitudes/", views.requests_page, name="requests"),
    path("cuenta/organizaciones/<int:pk>/miembros/", views.members_page, name="members"),
    path("cuenta/organizaciones/<int:pk>/decidir/<int:membership>/", views.decide, name="decide"),
    path("cuenta/organizaciones/<int:pk>/rol/<int:membership>/", views.change_role, name="role"),
]
