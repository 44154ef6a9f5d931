"""The change-stream listener (`manage.py watch_changes`, or in `serve`): it follows the hospital's
change stream, folds each change into the incrementally kept metrics, stores the values in the
cache layers and broadcasts those that changed to the channel-layer group (live/groups.py).

listener -> following -> folding -> maintained / verifier -> batching; pipeline -> broadcast;
changes, checkpoints, lease. Never imports live.sockets (docs/architecture.md).
"""
