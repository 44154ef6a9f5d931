"""The framework's limit: a bare Channels consumer on the same channel layer as the dashboard.

One group, joined on connect; every group message is sent to the socket as
it came (`event["text"]`). Nothing else: no authentication, no parsing, no
hub. Served by daphne or uvicorn as `bench.bare.asgi:application`.
"""
