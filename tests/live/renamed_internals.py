"""`manage.py` as if a new release of uvicorn and of daphne had renamed an internal name that
live/sockets/frames.py writes through.

The start-up check then finds the name missing, as it would after such a
release: the server process must say so once and deliver every update through
ASGI `send`. Run as `python tests/live/renamed_internals.py serve ...`.
"""

import sys
from pathlib import Path

RENAMED = "close_sent_before_the_rename"

if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
    from live.sockets import frames

    for needed in frames._INTERNALS.values():
        module, cls, _ = needed[0]
        needed.append((module, cls, (RENAMED,)))

    from runtime.cli import main

    main()
