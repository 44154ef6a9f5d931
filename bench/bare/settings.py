"""Settings for the bare consumer: only what Channels needs, the dashboard's channel layer.

REDIS_URL and DASHBOARD_CHANNEL_PREFIX come from the environment, as for the
dashboard, so a benchmark run keeps its keys apart from everything else.
"""

import os

SECRET_KEY = "bench-bare-not-secret"
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
INSTALLED_APPS = ["channels"]
USE_TZ = True
ASGI_APPLICATION = "bench.bare.asgi.application"

CHANNEL_LAYERS = {
    "default": {
        "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
        "CONFIG": {
            "hosts": [{"address": os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")}],
            "prefix": os.environ.get("DASHBOARD_CHANNEL_PREFIX", "bench-bare"),
        },
    }
}
