"""A Python server that calls a Convex function with a signed call.

    POST /messages   {"body": "hello", "author"?: "…"}   Authorization: Bearer $API_TOKEN
    → 200 {"id": "<the new message's id>"}

The server checks its own caller first (a bearer token: a server that signs for whoever
reaches it lends its key to the whole internet), then signs ``messages:send`` with
callsign for the deployment and posts it to the deployment's HTTP API:

    POST $CONVEX_URL/api/mutation  {"path": "messages:send", "args": <signed args>, "format": "json"}

The Convex function (a ``signedMutation``, see the repository's README) verifies it and runs
once; a replay of the same request is refused with ``replayed``.

Environment: CONVEX_URL (the deployment, e.g. https://happy-otter-123.convex.cloud),
CALLSIGN_KEY (csk1_… or the key derived for CONVEX_URL; never printed), API_TOKEN (what
this server's own callers must present), HOST (default 127.0.0.1), PORT (default 8000;
0 picks a free port). Needs only the standard library and convex-callsign.
"""

import hmac
import json
import os
import sys
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Dict, Tuple

from convex_callsign import CallsignError, Signer, to_convex_json

CONVEX_URL = os.environ["CONVEX_URL"].rstrip("/")
# One signer per key and deployment; the key stays inside it.
SIGNER = Signer(os.environ["CALLSIGN_KEY"], audience=CONVEX_URL)
API_TOKEN = os.environ["API_TOKEN"]
MAX_REQUEST_BYTES = 64 * 1024


class ConvexFunctionError(Exception):
    """The function threw; ``code`` is its ConvexError's ``data.code`` (callsign's refusals have one)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


def call_convex(kind: str, function: str, args: Dict[str, Any]) -> Any:
    """Signs a call to `function` and posts it to the deployment's HTTP API; its value.

    With the websocket client instead (``pip install convex``), the same call is
    ``ConvexClient(CONVEX_URL).mutation(function, SIGNER.sign(function, args))``.
    """
    # Convex JSON in, the signed args out as canonical Convex JSON text, spliced in as is.
    signed_args = SIGNER.sign_json(function, to_convex_json(args))
    body = '{"path":%s,"args":%s,"format":"json"}' % (json.dumps(function), signed_args)
    request = urllib.request.Request(
        f"{CONVEX_URL}/api/{kind}",
        data=body.encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            answer = json.load(response)
    except urllib.error.HTTPError as e:
        if e.code != 560:  # older deployments answer a function's error with 560
            raise
        answer = json.load(e)
    if answer.get("status") == "success":
        return answer["value"]
    data = answer.get("errorData")
    if isinstance(data, dict) and isinstance(data.get("code"), str):
        raise ConvexFunctionError(data["code"], str(data.get("message", "")))
    raise ConvexFunctionError("function_error", str(answer.get("errorMessage", answer)))


class Handler(BaseHTTPRequestHandler):
    def do_POST(self) -> None:  # noqa: N802 (http.server's name)
        if self.path != "/messages":
            return self.reply(404, {"error": "not_found"})
        # Authenticate the caller before anything is signed.
        token = self.headers.get("Authorization", "").removeprefix("Bearer ")
        if not hmac.compare_digest(token.encode(), API_TOKEN.encode()):
            return self.reply(401, {"error": "unauthorized"})
        ok, body = self.read_json()
        if not ok:
            return self.reply(400, {"error": "bad_request", "message": body})
        args = {"body": body.get("body")}
        if "author" in body:
            args["author"] = body["author"]
        if not all(isinstance(v, str) for v in args.values()):
            return self.reply(400, {"error": "bad_request", "message": "body (and author) must be strings"})
        try:
            value = call_convex("mutation", "messages:send", args)
        except CallsignError as e:  # the call could not be signed (bad args); nothing was sent
            return self.reply(400, {"error": e.code, "message": e.message})
        except ConvexFunctionError as e:  # the deployment refused it, or the function threw
            return self.reply(502, {"error": e.code, "message": e.message})
        except (urllib.error.URLError, OSError, ValueError) as e:
            return self.reply(502, {"error": "unreachable", "message": str(e)})
        self.reply(200, {"id": value})

    def read_json(self) -> Tuple[bool, Any]:
        try:
            length = int(self.headers.get("Content-Length", "0"))
        except ValueError:
            return False, "bad Content-Length"
        if not 0 < length <= MAX_REQUEST_BYTES:
            return False, f"send a JSON object of at most {MAX_REQUEST_BYTES} bytes"
        try:
            body = json.loads(self.rfile.read(length))
        except ValueError:
            return False, "not JSON"
        return (True, body) if isinstance(body, dict) else (False, "not a JSON object")

    def reply(self, status: int, body: Dict[str, Any]) -> None:
        text = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(text)))
        self.end_headers()
        self.wfile.write(text)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        sys.stderr.write("%s %s\n" % (self.address_string(), format % args))


def main() -> None:
    host = os.environ.get("HOST", "127.0.0.1")
    server = ThreadingHTTPServer((host, int(os.environ.get("PORT", "8000"))), Handler)
    print(f"listening on http://{host}:{server.server_port} (signing as {SIGNER.kid} for {SIGNER.audience})", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
