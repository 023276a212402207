"""Python-signed calls verify in the other runtimes: the `callsign` CLI (native Rust) and
the npm package's wasm ``Verifier`` (pkg/dist), given exactly what the ``convex`` client
sends. A changed call does not.
"""

import json
import subprocess
from pathlib import Path
from typing import Any, Dict, List

import pytest

from conftest import node, run_cli
from convex_callsign import Signer, canonicalize, derive_key, to_convex_json
from test_values import VALID, client_wire

AUDIENCE = "https://happy-otter-123.convex.cloud"
ROOT = "csk1_py_202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f"
DEPLOYMENT_KEY = derive_key(ROOT, AUDIENCE)  # what the deployment holds
TS = 1_700_000_000_000
VERIFY_WASM = Path(__file__).with_name("verify_wasm.mjs")

SIGNER = Signer(ROOT, audience=AUDIENCE)
CASES = {name: {"x": value, "body": name} for name, value in VALID.items()}


def cli_verify(binary: str, function: str, text: str, *extra: str) -> subprocess.CompletedProcess:
    return run_cli(
        binary,
        ["verify", "--audience", AUDIENCE, "--function", function, "--now", str(TS + 1000), *extra],
        text,
        {"CALLSIGN_KEYS": DEPLOYMENT_KEY},
    )


def wasm_verify(calls: List[Dict[str, Any]]) -> List[Dict[str, Any]]:
    payload = [{"keys": DEPLOYMENT_KEY, "audience": AUDIENCE, "now": TS + 1000, **c} for c in calls]
    out = subprocess.run(
        [node(), str(VERIFY_WASM)], input=json.dumps(payload), capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


@pytest.mark.parametrize("args", CASES.values(), ids=CASES.keys())
def test_the_cli_verifies_what_the_client_sends(callsign_bin: str, args: Dict[str, Any]) -> None:
    signed = SIGNER.sign("messages.js:send", args, now=TS)
    result = cli_verify(callsign_bin, "messages:send", client_wire(signed))
    assert result.returncode == 0, result.stderr.decode()
    claims = json.loads(result.stdout)
    assert claims["kid"] == "py" and claims["function"] == "messages:send" and claims["ts"] == TS
    assert claims["nonce"] == signed["_callsign"]["nonce"]
    assert claims["canonical_args"] == canonicalize(to_convex_json(args))


def test_the_cli_refuses_a_changed_call_and_a_replay(callsign_bin: str, tmp_path: Path) -> None:
    signed = SIGNER.sign("messages:send", {"body": "hi", "n": 1}, now=TS)
    changed = dict(signed, n=2.0)
    assert cli_verify(callsign_bin, "messages:send", client_wire(changed)).stderr.startswith(b"bad_signature: ")
    assert cli_verify(callsign_bin, "messages:remove", client_wire(signed)).stderr.startswith(b"bad_signature: ")
    seen = str(tmp_path / "seen.jsonl")
    assert cli_verify(callsign_bin, "messages:send", client_wire(signed), "--seen", seen).returncode == 0
    again = cli_verify(callsign_bin, "messages:send", client_wire(signed), "--seen", seen)
    assert (again.returncode, again.stderr[:10]) == (1, b"replayed: ")
    # sign_json's text is the canonical signed args: it verifies as it is.
    text = SIGNER.sign_json("messages:send", '{"body":"hi"}', now=TS)
    assert json.loads(cli_verify(callsign_bin, "messages:send", text).stdout)["canonical_args"] == '{"body":"hi"}'


def test_the_wasm_verifier_verifies_what_the_client_sends() -> None:
    calls = []
    for args in CASES.values():
        signed = SIGNER.sign("messages:send", args, now=TS)
        calls.append({"function": "messages:send", "signedArgs": client_wire(signed)})
    signed = SIGNER.sign("messages:send", {"body": "hi"}, now=TS)
    refused = [
        {"function": "messages:send", "signedArgs": client_wire(dict(signed, body="changed"))},
        {"function": "messages:remove", "signedArgs": client_wire(signed)},
        {"function": "messages:send", "signedArgs": client_wire(Signer(ROOT, audience="https://other-1.convex.cloud").sign("messages:send", {}, now=TS))},
    ]
    results = wasm_verify(calls + refused)
    for args, result in zip(CASES.values(), results):
        for verified in (result["text"], result["values"]):
            assert "error" not in verified, (args, result)
            assert verified["kid"] == "py" and verified["function"] == "messages:send"
            assert verified["canonicalArgs"] == canonicalize(to_convex_json(args))
    assert [r["text"] for r in results[len(calls) :]] == [{"error": "bad_signature"}] * 3
    assert [r["values"] for r in results[len(calls) :]] == [{"error": "bad_signature"}] * 3
