from django.urls import path

from receipts import views, views_export

app_name = "receipts"

urlpatterns = [
    path("mine/<str:token>/", views.mine, name="mine"),
    path("mine/<str:token>/<str:number>.pdf", views.mine_pdf, name="mine_pdf"),
    # Finance exports (finance staff only; see receipts/views_export.py).
    path("exports/new", views_export.export_new, name="export_new"),
    path("exports/<int:pk>", views_export.export_detail, name="export_detail"),
    path("exports/<int:pk>/status", views_export.export_status, name="export_status"),
    path("exports/<int:pk>/download", views_export.export_download, name="export_download"),
]
