from django.urls import path

from retention import views

urlpatterns = [
    path("risk/", views.risk_list, name="churn-risk-list"),
    path("risk/export/", views.risk_export, name="churn-risk-export"),
    path("lost/", views.lost_list, name="lost-customer-list"),
    path("plans/", views.plan_list, name="follow-up-plans"),
    path("plans/new/", views.plan_create, name="follow-up-plan-create"),
    path("plans/<int:pk>/", views.plan_detail, name="follow-up-plan-detail"),
]
