from django.urls import path

from account import views

app_name = "account"

urlpatterns = [
    path("", views.home, name="home"),
    path("sign-in/", views.request_link, name="request"),
    path("sign-in/<str:token>/", views.sign_in, name="signin"),
    path("sign-out/", views.sign_out, name="signout"),
    path(
        "recurring/<uuid:public_id>/<str:action>/",
        views.recurring_action,
        name="recurring_action",
    ),
    path("newsletters/", views.newsletters, name="newsletters"),
    path("receipts/<str:number>.pdf", views.receipt_pdf, name="receipt_pdf"),
]
