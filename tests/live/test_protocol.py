"""The protocol module: every client message validated, every error code named."""

import pytest

from live.sockets import protocol
from live.sockets.protocol import ProtocolError, parse_client_message


def code_of(text: str) -> str:
    with pytest.raises(ProtocolError) as caught:
        parse_client_message(text)
    return caught.value.code


def test_each_client_event_parses():
    assert parse_client_message('{"type":"authenticate","token":"abc"}').token == "abc"
    assert parse_client_message(
        '{"type":"subscribe_metrics","metrics":["patientCount","revenue","patientCount"]}'
    ).metrics == ("patientCount", "revenue")
    assert parse_client_message('{"type":"unsubscribe_metrics","metrics":["revenue"]}').metrics == (
        "revenue",
    )
    assert parse_client_message('{"type":"request_snapshot"}').type == "request_snapshot"
    historical = parse_client_message(
        '{"type":"request_historical","timeRange":{"start":"2026-01-01T00:00:00+00:00",'
        '"end":"2026-01-02T00:00:00+00:00"}}'
    )
    assert historical.time_range == ("2026-01-01T00:00:00+00:00", "2026-01-02T00:00:00+00:00")
    assert parse_client_message('{"type":"acknowledge_alert","alertId":"w1"}').alert_id == "w1"
    assert parse_client_message('{"type":"ping","requestId":"r-1"}').request_id == "r-1"


@pytest.mark.parametrize(
    "text, code",
    [
        ("not json", "invalid_json"),
        ("{", "invalid_json"),
        ("[1, 2]", "invalid_message"),
        ('"ping"', "invalid_message"),
        ("null", "invalid_message"),
        ('{"type": 5}', "invalid_message"),
        ("{}", "invalid_message"),
        ('{"type": "fly"}', "unknown_event"),
        ('{"type": "authenticate"}', "invalid_message"),
        ('{"type": "authenticate", "token": 12}', "invalid_message"),
        ('{"type": "authenticate", "token": ""}', "invalid_message"),
        ('{"type": "subscribe_metrics"}', "invalid_message"),
        ('{"type": "subscribe_metrics", "metrics": []}', "invalid_message"),
        ('{"type": "subscribe_metrics", "metrics": "patientCount"}', "invalid_message"),
        ('{"type": "subscribe_metrics", "metrics": [1]}', "invalid_message"),
        ('{"type": "request_historical"}', "invalid_message"),
        ('{"type": "request_historical", "timeRange": {"start": 1, "end": 2}}', "invalid_message"),
        ('{"type": "acknowledge_alert"}', "invalid_message"),
        ('{"type": "ping", "requestId": 7}', "invalid_message"),
        ('{"type": "ping", "requestId": "' + "x" * 65 + '"}', "invalid_message"),
    ],
)
def test_invalid_messages_get_their_code(text, code):
    assert code_of(text) == code


def test_request_id_is_kept_on_errors_after_it_was_read():
    with pytest.raises(ProtocolError) as caught:
        parse_client_message('{"type": "fly", "requestId": "abc"}')
    assert caught.value.request_id == "abc"


def test_every_error_code_is_a_contract_code():
    assert {
        "not_authenticated",
        "invalid_json",
        "invalid_message",
        "unknown_event",
        "unknown_metric",
        "forbidden",
        "rate_limited",
    } <= protocol.ERROR_CODES
    assert protocol.AUTH_ERRORS == {
        "invalid_token",
        "token_expired",
        "user_inactive",
        "no_dashboard_access",
        "invalid_ticket",  # a handshake's ticket refused (docs/websocket-api.md)
        "different_user",  # `authenticate` again with another user's token, refused
    }


def test_encode_is_compact_json():
    text = protocol.encode(protocol.error("forbidden", "no", "r", metrics=["revenue"]))
    assert text == (
        '{"type":"error","code":"forbidden","message":"no","metrics":["revenue"],"requestId":"r"}'
    )
