from django.urls import path

from members import views

app_name = "members"

urlpatterns = [
    path("newsletters/unsubscribe/<str:token>/", views.unsubscribe, name="unsubscribe"),
    path(
        "newsletters/confirm/<str:token>/",
        views.confirm_subscription,
        name="confirm_subscription",
    ),
]
