"""Shared fixtures: the repository, the `callsign` CLI, Node, and a loopback deployment.

Run against the *installed* wheel, from outside the source tree (scripts/test does:
``maturin build``, ``pip install`` the wheel, ``pytest`` here). The interop and
end-to-end tests need the CLI (built with cargo unless ``CALLSIGN_BIN`` names it) and
``pkg/build``'s output (the wasm Verifier, the Convex stand-in); they fail, saying so,
when it is missing: nothing is skipped.
"""

import json
import os
import shutil
import subprocess
import sys
import urllib.request
from pathlib import Path
from typing import Any, Dict, Iterator, List

import pytest

import convex_callsign

REPO = Path(__file__).resolve().parents[3]
VECTORS = REPO / "tests" / "vectors"
PKG_DIST = REPO / "pkg" / "dist" / "index.js"
STUB = REPO / "tests" / "e2e" / "convex-stub.mjs"

# The comparisons with the convex client (which needs CPython >= 3.10) skip where it is not
# installed; scripts/python-test sets this so that in CI they run or fail.
if os.environ.get("CALLSIGN_REQUIRE_CONVEX") == "1":
    import convex  # noqa: F401

# The tests must exercise the installed package, not a source tree without its .so.
assert Path(convex_callsign.__file__).resolve().parent != REPO / "crates" / "callsign-py" / "python" / "convex_callsign", (
    "convex_callsign was imported from the source tree; install the wheel and run pytest elsewhere"
)


def load_vectors(name: str) -> Dict[str, Any]:
    with open(VECTORS / name, encoding="utf-8") as f:
        return json.load(f)


def node() -> str:
    found = shutil.which("node")
    if found is None:
        pytest.fail("node is not on PATH (Node >= 20 runs the wasm verifier and the Convex stand-in)")
    if not PKG_DIST.exists():
        pytest.fail(f"{PKG_DIST} is missing: run pkg/build first")
    return found


@pytest.fixture(scope="session")
def callsign_bin() -> str:
    """The `callsign` binary: $CALLSIGN_BIN, else `cargo build -p callsign-cli`'s."""
    given = os.environ.get("CALLSIGN_BIN")
    if given:
        return given
    out = subprocess.run(
        ["cargo", "build", "--quiet", "--locked", "-p", "callsign-cli", "--message-format=json-render-diagnostics"],
        cwd=REPO,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    for line in out.splitlines():
        msg = json.loads(line)
        if msg.get("reason") == "compiler-artifact" and msg.get("executable") and msg["target"]["name"] == "callsign":
            return str(msg["executable"])
    pytest.fail("cargo built no callsign binary")


def run_cli(binary: str, args: List[str], stdin: str, env: Dict[str, str]) -> subprocess.CompletedProcess:
    """Runs the CLI with only PATH and `env` in its environment."""
    return subprocess.run(
        [binary, *args],
        input=stdin.encode(),
        capture_output=True,
        env={"PATH": os.environ.get("PATH", ""), **env},
        timeout=60,
    )


class Deployment:
    """The loopback stand-in (tests/e2e/convex-stub.mjs) serving pkg/test/convex."""

    def __init__(self, url: str, control: str, process: subprocess.Popen) -> None:
        self.url = url
        self.control = control
        self.process = process

    def state(self) -> Dict[str, Any]:
        with urllib.request.urlopen(f"{self.control}/state", timeout=30) as r:
            return json.load(r)

    def messages(self) -> List[str]:
        return self.state()["messages"]

    def post(self, endpoint: str, body: Any) -> Dict[str, Any]:
        """POSTs `body` (JSON text as is, else json.dumps) to `endpoint`; the answer's JSON."""
        data = body if isinstance(body, str) else json.dumps(body)
        request = urllib.request.Request(
            f"{self.url}{endpoint}",
            data=data.encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=30) as r:
            return json.load(r)


@pytest.fixture(scope="session")
def root_key() -> str:
    """The signers' root key; the deployment holds only the key derived for its URL."""
    return convex_callsign.generate_key("py-e2e")


@pytest.fixture(scope="session")
def deployment(root_key: str) -> Iterator[Deployment]:
    process = subprocess.Popen(
        [node(), str(STUB)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=sys.stderr,
        env={"PATH": os.environ.get("PATH", ""), "CALLSIGN_TEST_ROOT_KEY": root_key},
        text=True,
    )
    assert process.stdout is not None
    line = process.stdout.readline()
    if not line:
        process.wait(timeout=30)
        pytest.fail(f"the Convex stand-in exited ({process.returncode}) before listening")
    ready = json.loads(line)
    try:
        yield Deployment(ready["url"], ready["control"], process)
    finally:
        assert process.stdin is not None
        process.stdin.close()  # the stand-in exits when its stdin closes
        process.wait(timeout=30)
