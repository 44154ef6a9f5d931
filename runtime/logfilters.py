"""Log filters: an outage is one line per event, not a traceback a second."""

import logging

import redis.exceptions

_OUTAGE_ERRORS = (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError, OSError)


class OutageWithoutTraceback(logging.Filter):
    """channels-redis logs a full traceback each time it fails to reach Redis; keep the message."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and isinstance(record.exc_info[1], _OUTAGE_ERRORS):
            error = record.exc_info[1]
            record.msg = f"{record.getMessage()}: {type(error).__name__}: {error}"
            record.args = ()
            record.exc_info = None
            record.exc_text = None
        return True
