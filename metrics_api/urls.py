from django.urls import path

from . import views

urlpatterns = [
    path("", views.CatalogueView.as_view(), name="metrics-catalogue"),
    path("snapshot/", views.SnapshotView.as_view(), name="metrics-snapshot"),
    path("historical/", views.HistoricalView.as_view(), name="metrics-historical"),
    path("types.d.ts", views.typescript_declarations, name="metrics-typescript"),
]
