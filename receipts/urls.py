from django.urls import path

from receipts import views

app_name = "receipts"

urlpatterns = [
    path("mine/<str:token>/", views.mine, name="mine"),
    path("mine/<str:token>/<str:number>.pdf", views.mine_pdf, name="mine_pdf"),
]
