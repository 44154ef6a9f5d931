"""ASGI entry point of the bare consumer: `bench.bare.asgi:application` at /ws/bare/."""

import os

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.bare.settings")
django.setup()

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from django.urls import path  # noqa: E402

from .consumer import BareConsumer  # noqa: E402

application = ProtocolTypeRouter(
    {"websocket": URLRouter([path("ws/bare/", BareConsumer.as_asgi())])}
)
