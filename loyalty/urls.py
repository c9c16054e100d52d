from django.urls import path

from loyalty import views

urlpatterns = [
    path("members/", views.member_list, name="loyalty-members"),
    path("customers/<int:pk>/ledger/", views.member_ledger, name="loyalty-ledger"),
    path("customers/<int:pk>/enrol/", views.enrol, name="loyalty-enrol"),
    path("customers/<int:pk>/redeem/", views.redeem, name="loyalty-redeem"),
    path("customers/<int:pk>/adjust/", views.adjust, name="loyalty-adjust"),
]
