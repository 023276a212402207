"""End to end over loopback HTTP: Python-signed calls against a deployment stand-in.

The deployment (tests/e2e/convex-stub.mjs) is Convex's HTTP API in front of convex-test
running pkg/test/convex: ``messages:send`` is a ``signedMutation`` (the nonce recorded in its
own transaction), ``settings:save`` a signed mutation taking any value, and the gateway
(``callsign:runMutation``) may run ``settings:store``. It holds only the key derived for its
URL. Each call is accepted once; its replay is refused with ``replayed``.
"""

import json
import math
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any, Dict, Iterator, Tuple

import pytest

from conftest import REPO, Deployment
from convex_callsign import Signer, generate_key, to_convex_json

convex = pytest.importorskip("convex")
from convex import ConvexError, ConvexInt64  # noqa: E402
from convex.http_client import ConvexHttpClient  # noqa: E402


@pytest.fixture()
def signer(deployment: Deployment, root_key: str) -> Signer:
    return Signer(root_key, audience=deployment.url)


@pytest.fixture()
def client(deployment: Deployment) -> ConvexHttpClient:
    return ConvexHttpClient(deployment.url)


def refusal(call: Any) -> str:
    """The callsign code of the ConvexError the call raises."""
    with pytest.raises(ConvexError) as raised:
        call()
    return raised.value.data["code"]


def raw_call(deployment: Deployment, function: str, signed_args: str, kind: str = "mutation") -> Dict[str, Any]:
    body = '{"path":%s,"args":%s,"format":"json"}' % (json.dumps(function), signed_args)
    return deployment.post(f"/api/{kind}", body)


def test_convex_http_client_accepted_once_then_replay_refused(
    deployment: Deployment, signer: Signer, client: ConvexHttpClient
) -> None:
    args = signer.sign("messages:send", {"body": "python: ConvexHttpClient"})
    message_id = client.mutation("messages:send", args)
    assert isinstance(message_id, str) and message_id
    assert deployment.messages().count("python: ConvexHttpClient") == 1
    sent = deployment.state()["requests"][-1]
    assert sent["endpoint"] == "/api/mutation" and sent["body"]["format"] == "convex_encoded_json"
    assert sent["body"]["args"]["_callsign"]["nonce"] == args["_callsign"]["nonce"]

    assert refusal(lambda: client.mutation("messages:send", args)) == "replayed"
    assert deployment.messages().count("python: ConvexHttpClient") == 1, "the replay wrote nothing"


def test_every_kind_of_value_survives_the_wire(deployment: Deployment, signer: Signer, client: ConvexHttpClient) -> None:
    """The deployment re-encodes what it received (convexToJson) and checks the MAC over that."""
    settings = {
        "theme": "dark",
        "int64": ConvexInt64(2**40),
        "negative int64": ConvexInt64(-(2**63)),
        "bytes": b"\x00\xff\x10",
        "nan": math.nan,
        "-0.0": -0.0,
        "inf": -math.inf,
        "2^53": 2**53,
        "1e21": 1e21,
        "tiny": 5e-324,
        "text": "hé😀\u2028\"\\\x01",
        "tuple": (1, 2.5),
        "nested": {"a": [None, True, {"b": []}]},
    }
    args = signer.sign("settings:save", {"settings": settings})
    assert client.mutation("settings:save", args) == {"theme": "dark", "isAdmin": False}
    assert refusal(lambda: client.mutation("settings:save", args)) == "replayed"


def test_raw_http_api_with_sign_json(deployment: Deployment, signer: Signer) -> None:
    signed_args = signer.sign_json("messages.js:send", to_convex_json({"body": "python: raw POST"}))
    ok = raw_call(deployment, "messages.js:send", signed_args)
    assert ok["status"] == "success" and isinstance(ok["value"], str)
    assert deployment.messages().count("python: raw POST") == 1
    replay = raw_call(deployment, "messages:send", signed_args)
    assert replay["status"] == "error" and replay["errorData"]["code"] == "replayed"
    assert "already accepted" in replay["errorData"]["message"]


def test_changed_misdirected_foreign_and_expired_calls_are_refused(
    deployment: Deployment, signer: Signer, client: ConvexHttpClient, root_key: str
) -> None:
    before = len(deployment.messages())
    changed = dict(signer.sign("messages:send", {"body": "meant"}), body="changed")
    assert refusal(lambda: client.mutation("messages:send", changed)) == "bad_signature"
    other_function = signer.sign("messages:remove", {"body": "x"})
    assert refusal(lambda: client.mutation("messages:send", other_function)) == "bad_signature"
    other_deployment = Signer(root_key, audience="https://other-deployment-1.convex.cloud").sign("messages:send", {"body": "x"})
    assert refusal(lambda: client.mutation("messages:send", other_deployment)) == "bad_signature"
    stranger = Signer(generate_key("stranger"), audience=deployment.url).sign("messages:send", {"body": "x"})
    assert refusal(lambda: client.mutation("messages:send", stranger)) == "unknown_key"
    old = signer.sign("messages:send", {"body": "x"}, now=int(time.time() * 1000) - 120_000)
    assert refusal(lambda: client.mutation("messages:send", old)) == "expired"
    assert len(deployment.messages()) == before, "no refused call wrote"


def test_the_gateway_runs_an_allowed_internal_function_once(signer: Signer, client: ConvexHttpClient) -> None:
    args = signer.gateway_args("settings:store", {"settings": {"theme": "via the gateway"}})
    assert client.mutation("callsign:runMutation", args) == {"theme": "via the gateway", "isAdmin": False}
    assert refusal(lambda: client.mutation("callsign:runMutation", args)) == "replayed"
    # The query gateway's allow-list is empty: verified, then refused.
    as_query = signer.gateway_args("settings:store", {"settings": {}})
    assert refusal(lambda: client.query("callsign:runQuery", as_query)) == "not_allowed"
    # The signature covers the internal function's args.
    tampered = dict(signer.gateway_args("settings:store", {"settings": {"theme": "a"}}), args={"settings": {"theme": "b"}})
    assert refusal(lambda: client.mutation("callsign:runMutation", tampered)) == "bad_signature"


# --- The example server (examples/python-server) ---------------------------------------

EXAMPLE = REPO / "examples" / "python-server" / "server.py"
TOKEN = "test-token-0123"


@pytest.fixture()
def example(deployment: Deployment, root_key: str) -> Iterator[Tuple[str, subprocess.Popen]]:
    env = {
        "PATH": os.environ.get("PATH", ""),
        "CONVEX_URL": deployment.url + "/",
        "CALLSIGN_KEY": root_key,
        "API_TOKEN": TOKEN,
        "PORT": "0",
    }
    process = subprocess.Popen(
        [sys.executable, str(EXAMPLE)], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    assert process.stdout is not None
    line = process.stdout.readline()
    assert line.startswith("listening on http://127.0.0.1:"), line + (process.stderr.read() if process.stderr else "")
    url = line.split()[2]
    try:
        yield url, process
    finally:
        process.terminate()
        process.wait(timeout=30)


def post(url: str, body: Any, token: str = TOKEN) -> Tuple[int, Dict[str, Any]]:
    request = urllib.request.Request(
        f"{url}/messages",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as r:
            return r.status, json.load(r)
    except urllib.error.HTTPError as e:
        return e.code, json.load(e)


def test_the_example_server_signs_for_its_authenticated_callers(
    deployment: Deployment, example: Tuple[str, subprocess.Popen], root_key: str
) -> None:
    url, process = example
    status, answer = post(url, {"body": "python: example server"})
    assert status == 200 and isinstance(answer["id"], str), answer
    assert deployment.messages().count("python: example server") == 1
    sent = deployment.state()["requests"][-1]["body"]
    assert (sent["path"], sent["format"], set(sent["args"])) == ("messages:send", "json", {"body", "_callsign"})

    # Not its caller: nothing is signed or sent.
    requests = len(deployment.state()["requests"])
    assert post(url, {"body": "intruder"}, token="wrong") == (401, {"error": "unauthorized"})
    assert post(url, {"body": 5})[0] == 400
    assert len(deployment.state()["requests"]) == requests
    # The deployment's refusal comes back with its code (messages:send takes no author).
    status, answer = post(url, {"body": "x", "author": "y"})
    assert status == 502 and answer["error"] == "function_error", answer

    process.terminate()
    out, err = process.communicate(timeout=30)
    assert root_key.split("_")[2] not in out + err
