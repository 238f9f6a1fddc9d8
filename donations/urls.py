from django.urls import path

from donations import views_form, webhooks

app_name = "donations"

urlpatterns = [
    path("donate/", views_form.donate, name="donate"),
    path("donate/thanks/<uuid:public_id>/", views_form.thanks, name="thanks"),
    path("donate/declined/", views_form.declined, name="declined"),
    path("stripe/webhook/", webhooks.stripe_webhook, name="stripe-webhook"),
]
