from django.urls import path

from lifecycle import views

urlpatterns = [
    path("contact-rhythm/", views.contact_rhythm, name="contact-rhythm"),
    path("customers/<int:pk>/stage/", views.stage_change, name="customer-stage-change"),
]
