"""The channel-layer group that carries metric values from the listener to every server process.

Only server processes' hubs are members (one channel each): a flush is one
message to this group, one PUBLISH on Redis (the layer's prefix keeps
deployments that share a Redis apart). Inside a process, sockets are grouped
per metric x scope (live/sockets/hub.py), so a socket only ever receives values
computed over the departments it may see.
"""

UPDATES_GROUP = "dashboard.updates"
