"""The live side of the dashboard, one Django app in two towers that never import each other:
live.stream (the change-stream listener) and live.sockets (the servers and their sockets).
What both need is here, beside the app itself: groups, instance, liveness, models. apps,
health, serving and the management commands put the two together (docs/architecture.md).
"""
