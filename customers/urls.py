from django.urls import path

from customers.views import customers as views

urlpatterns = [
    path("", views.home, name="home"),
]
