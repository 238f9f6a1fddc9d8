from django.urls import path

from staffauth import views

app_name = "staffauth"

urlpatterns = [
    path("setup/", views.setup, name="setup"),
    path("verify/", views.verify, name="verify"),
]
