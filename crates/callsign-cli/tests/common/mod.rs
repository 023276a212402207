//! Running the `callsign` binary from tests.

// Each test file uses its own subset of these helpers.
#![allow(dead_code)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};

/// The root key most tests sign with.
pub const KEY: &str = "csk1_k1_000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
pub const AUD: &str = "https://happy-otter-123.convex.cloud";
pub const NONCE: &str = "00112233445566778899aabbccddeeff";
pub const TS: u64 = 1_700_000_000_000;

/// What a run of `callsign` produced.
#[derive(Debug)]
pub struct Run {
    /// Exit code (-1 if killed by a signal).
    pub code: i32,
    pub stdout: Vec<u8>,
    pub stderr: String,
}

impl Run {
    pub fn stdout(&self) -> String {
        String::from_utf8(self.stdout.clone()).expect("stdout is UTF-8")
    }

    /// Asserts success and returns stdout.
    pub fn ok(&self) -> String {
        assert_eq!(self.code, 0, "expected success, got {self:?}");
        assert!(self.stderr.is_empty(), "unexpected stderr: {}", self.stderr);
        self.stdout()
    }

    /// Asserts the CLI's failure shape — exit 1, nothing on stdout, one
    /// stderr line starting with `<code>: ` — and returns that line.
    pub fn fails_with(&self, code: &str) -> &str {
        assert_eq!(self.code, 1, "expected exit 1 with {code}, got {self:?}");
        assert!(
            self.stderr.starts_with(&format!("{code}: ")),
            "expected `{code}: …` on stderr, got {:?}",
            self.stderr
        );
        assert!(
            self.stderr.ends_with('\n') && self.stderr.lines().count() == 1,
            "expected one stderr line, got {:?}",
            self.stderr
        );
        assert!(self.stdout.is_empty(), "unexpected stdout: {self:?}");
        &self.stderr
    }
}

/// `callsign` with `args`, with the key variables of the caller's
/// environment removed so they cannot leak into tests.
pub fn callsign(args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_callsign"));
    cmd.args(args)
        .env_remove("CALLSIGN_KEY")
        .env_remove("CALLSIGN_KEYS");
    cmd
}

/// Runs `cmd` with `stdin` as its input.
pub fn run(cmd: &mut Command, stdin: impl AsRef<[u8]>) -> Run {
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn callsign");
    let mut pipe = child.stdin.take().expect("stdin is piped");
    let input = stdin.as_ref().to_vec();
    // Feed stdin from a thread so a large input cannot deadlock against a
    // large output; a write error only means the child stopped reading
    // early (e.g. past --max-bytes), which the exit code will tell.
    let feeder = std::thread::spawn(move || {
        let _ = pipe.write_all(&input);
    });
    let out = child.wait_with_output().expect("wait for callsign");
    feeder.join().expect("stdin feeder");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: out.stdout,
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Shorthand: `callsign args` with `stdin`.
pub fn cs(args: &[&str], stdin: impl AsRef<[u8]>) -> Run {
    run(&mut callsign(args), stdin)
}

/// `callsign sign` for [`AUD`] with `key`, a fixed `ts` and `nonce`, and
/// `extra` flags, signing `args`.
pub fn sign_fixed(
    key: &str,
    function: &str,
    ts: u64,
    nonce: &str,
    args: &str,
    extra: &[&str],
) -> Run {
    let ts = ts.to_string();
    let flags = [
        "sign",
        "--key",
        key,
        "--audience",
        AUD,
        "--function",
        function,
        "--now",
        &ts,
        "--nonce",
        nonce,
    ];
    cs(&[&flags[..], extra].concat(), args)
}

/// A directory under the system temp dir, removed on drop.
pub struct TempDir(PathBuf);

impl TempDir {
    pub fn new(label: &str) -> TempDir {
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let path = std::env::temp_dir().join(format!(
            "callsign-cli-{label}-{}-{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&path).expect("create temp dir");
        TempDir(path)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
