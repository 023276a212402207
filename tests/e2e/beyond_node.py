"""The closing run of "beyond Node": three signers outside Node, one signed mutation.

A Convex app (the README's quick start, examples/quickstart, as scripts/test installs it from
the package tarball) runs in convex-test behind the loopback stand-in for Convex's HTTP API
(tests/e2e/convex-stub.mjs: ``serveConvex`` and ``register`` from ``convex-callsign/test``).
The deployment holds only the key derived for its URL. Its ``messages:send`` is a
``signedMutation``. Three signers call it, each once and then once more with the very same
signed args (a replay):

1. Python: ``convex_callsign.Signer`` (the installed wheel), sent by the ``convex`` 0.8.1
   package's own ``ConvexHttpClient``;
2. Rust: ``callsign_convex::ConvexSigner`` over ``BTreeMap<String, convex::Value>``, the args
   as the ``convex`` crate's client writes them (``crates/callsign-convex/examples/signed_args.rs``),
   POSTed to ``/api/mutation``;
3. the CLI: ``callsign call messages:send …``; its request, captured by the deployment, is
   sent again.

Each first call must be accepted and each replay refused with ``replayed``, writing nothing;
``callsign call`` must exit 1 with the refusal's code first on stderr for a call the
deployment refuses. Prints a transcript (and writes it to --transcript); exits 1 on any
unexpected outcome.

    target/python/venv/bin/python tests/e2e/beyond_node.py --app target/user-quickstart \\
        --callsign target/debug/callsign --signed-args target/debug/examples/signed_args
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import urllib.request
from pathlib import Path
from typing import Any, Dict, List, Optional

import convex_callsign
from convex import ConvexError
from convex.http_client import ConvexHttpClient

STUB = Path(__file__).resolve().parent / "convex-stub.mjs"


class Run:
    """The transcript, and the checks: each failed check is recorded, and fails the run."""

    def __init__(self) -> None:
        self.lines: List[str] = []
        self.failures: List[str] = []

    def say(self, text: str = "") -> None:
        self.lines.append(text)
        print(text, flush=True)

    def check(self, ok: bool, what: str) -> None:
        self.say(f"  {'ok  ' if ok else 'FAIL'} {what}")
        if not ok:
            self.failures.append(what)


class Deployment:
    def __init__(self, app: Path, root_key: str) -> None:
        # Its console (the functions' logs, refusals included) is shown only if the run fails.
        self.log = tempfile.TemporaryFile(mode="w+")
        self.process = subprocess.Popen(
            ["node", str(STUB), str(app)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self.log,
            env={"PATH": os.environ["PATH"], "CALLSIGN_TEST_ROOT_KEY": root_key},
            text=True,
        )
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line:
            self.process.wait(timeout=30)
            self.log.seek(0)
            raise SystemExit(f"the Convex stand-in exited ({self.process.returncode}) before listening:\n{self.log.read()}")
        ready = json.loads(line)
        self.url: str = ready["url"]
        self.control: str = ready["control"]

    def state(self) -> Dict[str, Any]:
        with urllib.request.urlopen(f"{self.control}/state", timeout=30) as r:
            state: Dict[str, Any] = json.load(r)
            return state

    def post(self, endpoint: str, body: str) -> Dict[str, Any]:
        request = urllib.request.Request(
            f"{self.url}{endpoint}", data=body.encode(), headers={"Content-Type": "application/json"}, method="POST"
        )
        with urllib.request.urlopen(request, timeout=30) as r:
            answer: Dict[str, Any] = json.load(r)
            return answer

    def close(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.close()  # the stand-in exits when its stdin closes
        self.process.wait(timeout=30)


def envelope(args: Dict[str, Any]) -> str:
    e = args["_callsign"]
    return f"_callsign: kid={e['kid']} ts={e['ts']} nonce={e['nonce']} sig={e['sig'][:16]}…"


def refusal_code(answer: Dict[str, Any]) -> Optional[str]:
    return answer.get("errorData", {}).get("code") if answer.get("status") == "error" else None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--app", type=Path, required=True, help="an installed Convex app (its convex/ folder, node_modules)")
    parser.add_argument("--callsign", required=True, help="the callsign CLI binary")
    parser.add_argument("--signed-args", required=True, help="callsign-convex's signed_args example binary")
    parser.add_argument("--transcript", type=Path, help="also write the transcript here")
    opts = parser.parse_args()

    run = Run()
    root_key = convex_callsign.generate_key("server")  # never printed
    deployment = Deployment(opts.app, root_key)
    try:
        run.say("callsign beyond Node: three signers, one signed mutation, over loopback HTTP")
        run.say(f"deployment: {deployment.url} (convex-test running {opts.app}/convex behind serveConvex)")
        run.say("the deployment holds CALLSIGN_KEYS = the key derived for its URL; the signers hold the root key, kid 'server'")
        bodies: List[str] = []

        # 1. Python.
        run.say()
        run.say("1. Python: convex_callsign.Signer (abi3 wheel), sent by convex 0.8.1's ConvexHttpClient")
        signer = convex_callsign.Signer(root_key, audience=deployment.url)
        args = signer.sign("messages:send", {"body": "signed in Python"})
        run.say(f"  args = signer.sign('messages:send', {{'body': 'signed in Python'}})  # {envelope(args)}")
        client = ConvexHttpClient(deployment.url)
        message_id = client.mutation("messages:send", args)
        run.say(f"  client.mutation('messages:send', args) -> {message_id!r}")
        run.check(isinstance(message_id, str) and bool(message_id), "accepted: the mutation returned the new message's id")
        bodies.append("signed in Python")
        try:
            client.mutation("messages:send", args)
            run.check(False, "the replay is refused")
        except ConvexError as e:
            run.say(f"  client.mutation('messages:send', args) again -> ConvexError {json.dumps(e.data)}")
            run.check(e.data.get("code") == "replayed", "the replay is refused: replayed")

        # 2. The convex crate.
        run.say()
        run.say("2. Rust: callsign_convex::ConvexSigner over BTreeMap<String, convex::Value>, the convex client's JSON, POST /api/mutation")
        env = {"PATH": os.environ["PATH"], "CONVEX_URL": deployment.url, "CALLSIGN_KEY": root_key}
        signed = subprocess.run(
            [opts.signed_args, "messages:send", '{"body":"signed by the convex crate"}'],
            env=env, capture_output=True, text=True, timeout=60,
        )
        run.check(signed.returncode == 0, f"signed_args exited {signed.returncode} {signed.stderr.strip()}")
        wire = signed.stdout.strip()
        run.say(f"  signed_args messages:send '{{\"body\":\"signed by the convex crate\"}}'  # {envelope(json.loads(wire))}")
        run.say(f"    the client's JSON: {wire}")
        body = '{"path":"messages:send","args":%s,"format":"json"}' % wire
        first = deployment.post("/api/mutation", body)
        run.say(f"  POST /api/mutation -> {json.dumps(first)}")
        run.check(first.get("status") == "success", "accepted")
        bodies.append("signed by the convex crate")
        again = deployment.post("/api/mutation", body)
        run.say(f"  POST /api/mutation, the same body -> {json.dumps(again)}")
        run.check(refusal_code(again) == "replayed", "the replay is refused: replayed")

        # 3. callsign call.
        run.say()
        run.say("3. CLI: callsign call (CONVEX_URL, CALLSIGN_KEY in the environment)")
        cli = subprocess.run(
            [opts.callsign, "call", "messages:send", '{"body":"sent by callsign call"}'],
            env=env, capture_output=True, text=True, timeout=60,
        )
        run.say(f"  $ callsign call messages:send '{{\"body\":\"sent by callsign call\"}}'")
        run.say(f"  {cli.stdout.strip()}   (exit {cli.returncode})")
        accepted = cli.returncode == 0 and isinstance(json.loads(cli.stdout or "null"), str)
        run.check(accepted, "accepted: exit 0, the new id on stdout as JSON")
        bodies.append("sent by callsign call")
        captured = deployment.state()["requests"][-1]
        run.say(f"  the request it sent: POST {captured['endpoint']}  {envelope(captured['body']['args'])}")
        again = deployment.post(captured["endpoint"], json.dumps(captured["body"]))
        run.say(f"  that request again -> {json.dumps(again)}")
        run.check(refusal_code(again) == "replayed", "the replay is refused: replayed")
        stranger = subprocess.run(
            [opts.callsign, "call", "messages:send", '{"body":"from a stranger"}'],
            env={**env, "CALLSIGN_KEY": convex_callsign.generate_key("stranger")},
            capture_output=True, text=True, timeout=60,
        )
        run.say("  $ CALLSIGN_KEY=<a key the deployment does not hold> callsign call messages:send '{\"body\":\"from a stranger\"}'")
        run.say(f"  stderr: {stranger.stderr.strip()}   (exit {stranger.returncode})")
        run.check(
            stranger.returncode == 1 and stranger.stderr.startswith("unknown_key: "),
            "refused by the deployment: exit 1, its code first on stderr",
        )

        run.say()
        stored = deployment.state()["messages"]
        run.say(f"messages stored: {json.dumps(stored)}")
        run.check(stored == bodies, "each accepted call wrote once; no replay or refusal wrote")
        secret = root_key.rsplit("_", 1)[1]
        run.check(all(secret not in line for line in run.lines), "no key material in this transcript")
    finally:
        deployment.close()
        if run.failures:
            deployment.log.seek(0)
            print(f"--- the stand-in's console ---\n{deployment.log.read()}", file=sys.stderr)

    run.say()
    run.say("every outcome as expected" if not run.failures else f"{len(run.failures)} unexpected outcome(s)")
    if opts.transcript is not None:
        opts.transcript.parent.mkdir(parents=True, exist_ok=True)
        opts.transcript.write_text("\n".join(run.lines) + "\n", encoding="utf-8")
    return 1 if run.failures else 0


if __name__ == "__main__":
    sys.exit(main())
