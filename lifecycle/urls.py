from django.urls import path

from lifecycle import views

urlpatterns = [
    path("customers/<int:pk>/stage/", views.stage_change, name="customer-stage-change"),
]
