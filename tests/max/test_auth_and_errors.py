"""The token stays in the Authorization header; errors are typed and never carry it; TLS is configurable."""

from __future__ import annotations

import json
import shutil
import ssl
import subprocess
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest
from structlog.testing import capture_logs

from domchat.emulators.max import MaxEmulator
from domchat.errors import MaxApiError, MaxError, MaxUnavailable
from domchat.max_client import MaxClient, TokenBucket
from domchat.settings import Secret

from .support import TOKEN, Control, settings_for


def test_wrong_token_is_401_verify_token_and_never_shown(emulator: MaxEmulator) -> None:
    wrong = "wrong-token-9d1e77"
    c = MaxClient(settings_for(emulator.base_url), Secret(wrong), limiter=TokenBucket(1000))
    with capture_logs() as logs, pytest.raises(MaxApiError) as e:
        c.me()
    assert (e.value.status, e.value.code) == (401, "verify.token")
    for text in (str(e.value), repr(e.value), repr(e.value.args), repr(c), str(logs)):
        assert wrong not in text


def test_the_token_is_not_accepted_in_the_query(emulator: MaxEmulator) -> None:
    import requests

    answer = requests.get(emulator.base_url + "/me", params={"access_token": TOKEN}, timeout=5)
    assert answer.status_code == 401 and answer.json()["code"] == "verify.token"


class Recorder(BaseHTTPRequestHandler):
    """Answers whatever the test put in `server.answer` and records what it was sent."""

    server: RecordingServer

    def do_GET(self) -> None:
        self.server.seen.append((self.path, dict(self.headers.items())))
        status, body = self.server.answer
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


class RecordingServer(HTTPServer):
    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), Recorder)
        self.seen: list[tuple[str, dict[str, str]]] = []
        self.answer: tuple[int, bytes] = (200, b"{}")

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


@pytest.fixture
def recorder() -> Iterator[RecordingServer]:
    server = RecordingServer()
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def _client(url: str) -> MaxClient:
    return MaxClient(settings_for(url, retries=0), Secret(TOKEN), limiter=TokenBucket(1000))


def test_token_goes_only_in_the_authorization_header(recorder: RecordingServer) -> None:
    recorder.answer = (200, json.dumps({"user_id": 1, "first_name": "Bot", "is_bot": True}).encode())
    with capture_logs() as logs:
        assert _client(recorder.url).me().user_id == 1
    ((path, headers),) = recorder.seen
    assert headers["Authorization"] == TOKEN  # as is: no "Bearer"
    assert TOKEN not in path
    assert TOKEN not in str(logs)


def test_a_non_json_answer_is_a_max_error(recorder: RecordingServer) -> None:
    recorder.answer = (200, b"<html>captive portal</html>")
    with pytest.raises(MaxError, match="not JSON") as e:
        _client(recorder.url).me()
    assert not isinstance(e.value, MaxApiError)


def test_an_error_without_the_platforms_shape_keeps_the_status(recorder: RecordingServer) -> None:
    recorder.answer = (404, b"Not Found")
    with pytest.raises(MaxApiError) as e:
        _client(recorder.url).get_chat(-5)
    assert (e.value.status, e.value.code, e.value.endpoint) == (404, "http.404", "GET /chats/-5")


def test_an_answer_missing_ids_is_a_max_error_naming_the_endpoint(recorder: RecordingServer) -> None:
    recorder.answer = (200, json.dumps({"members": [{"first_name": "no id"}], "marker": None}).encode())
    with pytest.raises(MaxError, match="GET /chats/-5/members"):
        list(_client(recorder.url).members(-5))


def test_paging_that_does_not_advance_is_caught(recorder: RecordingServer) -> None:
    recorder.answer = (200, json.dumps({"members": [], "marker": 7}).encode())
    with pytest.raises(MaxError, match="did not advance"):
        list(_client(recorder.url).members(-5))
    assert len(recorder.seen) == 2


def test_unknown_enum_values_are_kept(recorder: RecordingServer) -> None:
    member = {"user_id": 5, "is_admin": True, "permissions": ["read_all_messages", "summon_dragons"]}
    recorder.answer = (200, json.dumps({"members": [member], "marker": None}).encode())
    (m,) = _client(recorder.url).admins(-5)
    assert m.permissions == {"read_all_messages", "summon_dragons"}


@pytest.fixture
def tls_pair(tmp_path: Path) -> tuple[Path, Path]:
    if shutil.which("openssl") is None:
        pytest.skip("needs the openssl command to make a certificate")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
        check=True,
        capture_output=True,
    )  # fmt: skip
    return cert, key


def test_the_ca_bundle_setting_decides_which_server_is_trusted(recorder: RecordingServer, tls_pair: tuple[Path, Path]) -> None:
    cert, key = tls_pair
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    recorder.socket = context.wrap_socket(recorder.socket, server_side=True)
    recorder.answer = (200, json.dumps({"user_id": 1, "first_name": "Bot"}).encode())
    url = recorder.url.replace("http://", "https://")
    with pytest.raises(MaxUnavailable, match="TLS verification failed"):
        _client(url).me()
    trusting = MaxClient(settings_for(url, ca_bundle=cert), Secret(TOKEN), limiter=TokenBucket(1000))
    assert trusting.me().user_id == 1


def test_stats_count_what_the_emulator_refused(emulator: MaxEmulator, control: Control) -> None:
    _client(emulator.base_url).me()
    with pytest.raises(MaxApiError):
        MaxClient(settings_for(emulator.base_url), Secret("nope-nope"), limiter=TokenBucket(1000)).me()
    counts = control.get("/stats")["counts"]
    assert counts["requests"] == 2 and counts["status_200"] == 1 and counts["status_401"] == 1
