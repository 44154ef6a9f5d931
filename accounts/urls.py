from django.urls import path

from . import display_views, views

urlpatterns = [
    path("token/", views.TokenObtainView.as_view(), name="auth-token"),
    path("token/refresh/", views.TokenRefreshView.as_view(), name="auth-token-refresh"),
    path("ticket/", views.TicketView.as_view(), name="auth-ticket"),
    path("logout/", views.LogoutView.as_view(), name="auth-logout"),
    # Display devices (docs/sign-in.md).
    path("display/pairing/", display_views.PairingView.as_view(), name="display-pairing"),
    path(
        "display/pairing/status/",
        display_views.PairingStatusView.as_view(),
        name="display-pairing-status",
    ),
    path("display/token/", display_views.DisplayTokenView.as_view(), name="display-token"),
]
