from django.apps import AppConfig


class LiveConfig(AppConfig):
    name = "live"
    verbose_name = "Live dashboard"

    def ready(self) -> None:
        from metrics.acknowledgements import alert_acknowledged

        from .stream.broadcast import refresh_after_acknowledgement

        alert_acknowledged.connect(refresh_after_acknowledgement, dispatch_uid="live-ack-refresh")
