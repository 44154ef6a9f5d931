"""An embedded store that behaves like a MongoDB replica set for what the dashboard uses.

Documents live in a SQLite file (shared by every process that opens it) and an
oplog table records every write; each process keeps a mongomock mirror of the
documents, brought up to date from the oplog before every operation, and uses
it as the query engine. Change streams read the oplog. docs/embedded-store.md
says what it does and does not do; tests/store pins it against MongoDB.
"""

from .client import EmbeddedClient

__all__ = ["EmbeddedClient"]
