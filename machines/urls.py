from django.urls import path

from machines import views

app_name = "machines"

urlpatterns = [
    path("", views.machines_home, name="home"),
    path("vehicles/new", views.vehicle_create, name="vehicle-create"),
    path("vehicles/<int:vehicle_id>/", views.vehicle_detail, name="vehicle-detail"),
    path("vehicles/<int:vehicle_id>/limits", views.vehicle_limits, name="vehicle-limits"),
    path("vehicles/<int:vehicle_id>/top-up", views.vehicle_top_up, name="vehicle-top-up"),
    path("vehicles/<int:vehicle_id>/wallet/top-up", views.vehicle_owner_top_up, name="vehicle-owner-top-up"),
    path("vehicles/<int:vehicle_id>/operators", views.vehicle_operators, name="vehicle-operators"),
    path(
        "vehicles/<int:vehicle_id>/operators/<int:operator_id>/revoke",
        views.vehicle_operator_revoke,
        name="vehicle-operator-revoke",
    ),
    path("vehicles/<int:vehicle_id>/price-ceiling", views.vehicle_price_ceiling, name="vehicle-price-ceiling"),
    path("stations/new", views.station_create, name="station-create"),
    path("stations/review/", views.station_review_list, name="station-review-list"),
    path("stations/<int:station_pk>/review", views.station_review, name="station-review"),
    path("stations/live/", views.station_live, name="station-live"),
    path("stations/live.json", views.station_live_data, name="station-live-data"),
    path("stations/<int:station_pk>/", views.station_detail, name="station-detail"),
    path("invoices/<int:invoice_id>/", views.invoice_detail, name="invoice-detail"),
]
