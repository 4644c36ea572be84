from django.urls import path

from machines.api import views

app_name = "machines-api"

urlpatterns = [
    path("me/balance", views.MachineBalanceGetApi.as_view(), name="me-balance"),
    path("me/sessions", views.MachineSessionListApi.as_view(), name="me-sessions"),
    path("me/payments", views.MachinePaymentCreateApi.as_view(), name="me-payments"),
]
