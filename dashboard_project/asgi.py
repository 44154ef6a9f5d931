"""ASGI entry point: every request's host checked first; HTTP through Django, WebSocket through
Channels behind the origin check."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dashboard_project.settings")
# Initialise Django (apps, settings) before importing code that uses models.
django_asgi_app = get_asgi_application()

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402

from live.sockets.hosts import AllowedHosts  # noqa: E402
from live.sockets.origins import AllowedHostAndOrigin  # noqa: E402
from live.sockets.routing import websocket_urlpatterns  # noqa: E402

application = AllowedHosts(
    ProtocolTypeRouter(
        {
            "http": django_asgi_app,
            "websocket": AllowedHostAndOrigin(URLRouter(websocket_urlpatterns)),
        }
    )
)
