"""The socket side: the ASGI servers and their workers, the edge checks (hosts, origins, client
errors), admission, signing in, the dashboard consumer, and each process's hub that takes the
listener's broadcasts off the channel layer (live/groups.py) and fans them out to its sockets.

routing -> consumers -> signin -> websocket -> hub -> fanout -> outbox -> frames; admission,
board, protocol, subscriptions, ratelimit, origins, hosts, registry, servers, workers, api.
Never imports live.stream (docs/architecture.md).
"""
