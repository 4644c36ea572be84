from django.urls import path

from machines import views

app_name = "machines"

urlpatterns = [
    path("", views.machines_home, name="home"),
    path("vehicles/new", views.vehicle_create, name="vehicle-create"),
    path("vehicles/<int:vehicle_id>/", views.vehicle_detail, name="vehicle-detail"),
    path("vehicles/<int:vehicle_id>/limits", views.vehicle_limits, name="vehicle-limits"),
    path("vehicles/<int:vehicle_id>/top-up", views.vehicle_top_up, name="vehicle-top-up"),
    path("stations/new", views.station_create, name="station-create"),
    path("stations/live/", views.station_live, name="station-live"),
    path("stations/live.json", views.station_live_data, name="station-live-data"),
    path("stations/<int:station_pk>/", views.station_detail, name="station-detail"),
    path("invoices/<int:invoice_id>/", views.invoice_detail, name="invoice-detail"),
]
