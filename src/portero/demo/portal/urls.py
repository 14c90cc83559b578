from django.urls import path

from portero.demo.portal import views

urlpatterns = [
    path("", views.home, name="home"),
    path("auth/login/", views.login, name="login"),
    path("auth/callback/", views.callback, name="callback"),
    path("auth/logout/", views.logout, name="logout"),
    path("auth/backchannel-logout/", views.backchannel_logout, name="backchannel_logout"),
]
