from django.urls import path

from . import views

urlpatterns = [
    path("token/", views.TokenObtainView.as_view(), name="auth-token"),
    path("token/refresh/", views.TokenRefreshView.as_view(), name="auth-token-refresh"),
    path("ticket/", views.TicketView.as_view(), name="auth-ticket"),
    path("logout/", views.LogoutView.as_view(), name="auth-logout"),
]
