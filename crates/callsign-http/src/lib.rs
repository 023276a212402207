//! Signed calls to a Convex deployment over its HTTP API.
//!
//! A [`Client`] holds a [`callsign::Signer`] for one deployment. It signs a
//! call and posts `{"path", "args", "format": "json"}` to
//! `{url}/api/{query|mutation|action}`, the signed args spliced in as the
//! signer wrote them, so the deployment parses exactly the text that was
//! signed. With [`Client::call_gateway`], an internal function is reached
//! through the deployment's gateway (`callsign:runMutation` and its query and
//! action siblings) with `{function, args, _callsign}`, signed for the internal
//! function's own name and args.
//!
//! ```no_run
//! use callsign::Key;
//! use callsign_http::{Client, Kind, Outcome};
//!
//! let key = Key::parse(&std::env::var("CALLSIGN_KEY")?)?;
//! let client = Client::new(&std::env::var("CONVEX_URL")?, &key)?;
//! match client.call(Kind::Mutation, "messages:send", r#"{"body":"hello"}"#)? {
//!     Outcome::Returned(value) => println!("{value}"),
//!     Outcome::Threw(error) => eprintln!("{}: {}", error.code.as_deref().unwrap_or("error"), error.message),
//! }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! The pieces are public too, for other transports: [`Request::new`] (the
//! body), [`gateway_args`] and [`parse_answer`] (what an answer means). The
//! transport is [ureq](https://docs.rs/ureq) with rustls (ring, webpki roots):
//! HTTPS without OpenSSL. It reads `HTTPS_PROXY`/`HTTP_PROXY`/`NO_PROXY`.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use callsign::spec::write_canonical_string;
use callsign::{Error, ErrorCode, Key, SignedCall, Signer};
use serde_json::Value;

/// The module exporting the gateway functions, as `convex/callsign.ts` does.
pub const DEFAULT_GATEWAY_MODULE: &str = "callsign";

/// How long a call may take, connection included, unless set otherwise.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);

/// Longest piece of an unexpected answer quoted in an error.
const MAX_QUOTED_ANSWER: usize = 500;

/// The kinds of Convex functions, each with its own endpoint.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Kind {
    /// `POST /api/query`.
    Query,
    /// `POST /api/mutation`.
    Mutation,
    /// `POST /api/action`.
    Action,
}

impl Kind {
    /// Every kind.
    pub const ALL: [Kind; 3] = [Kind::Query, Kind::Mutation, Kind::Action];

    /// `"query"`, `"mutation"` or `"action"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Query => "query",
            Kind::Mutation => "mutation",
            Kind::Action => "action",
        }
    }

    /// The endpoint's path under the deployment URL: `/api/mutation`.
    pub fn endpoint(self) -> &'static str {
        match self {
            Kind::Query => "/api/query",
            Kind::Mutation => "/api/mutation",
            Kind::Action => "/api/action",
        }
    }

    /// The gateway function of this kind: `runQuery`, `runMutation`, `runAction`.
    pub fn gateway_export(self) -> &'static str {
        match self {
            Kind::Query => "runQuery",
            Kind::Mutation => "runMutation",
            Kind::Action => "runAction",
        }
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Kind {
    type Err = String;

    fn from_str(s: &str) -> Result<Kind, String> {
        Kind::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| format!("{s:?} is not a kind of function: query, mutation or action"))
    }
}

/// One request to the HTTP API, ready to post (and, to show a replay, to post again).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Request {
    /// Which endpoint.
    pub kind: Kind,
    /// The function the request names (`messages:send`, or the gateway's `callsign:runMutation`).
    pub path: String,
    /// The body: `{"path":…,"args":…,"format":"json"}`.
    pub body: String,
}

impl Request {
    /// A request calling `path` with `args_json` (Convex JSON text, an object),
    /// spliced into the body as it is. `format: json` asks for the value in the
    /// HTTP API's readable form (int64 as a decimal string, bytes as base64).
    pub fn new(kind: Kind, path: &str, args_json: &str) -> Request {
        let mut body = String::with_capacity(args_json.len() + path.len() + 40);
        body.push_str("{\"path\":");
        write_canonical_string(path, &mut body);
        body.push_str(",\"args\":");
        body.push_str(args_json);
        body.push_str(",\"format\":\"json\"}");
        Request {
            kind,
            path: path.to_owned(),
            body,
        }
    }
}

/// The gateway's args for a signed call to an internal function:
/// `{"<envelope field>": <envelope>, "args": <canonical args>, "function": "<canonical name>"}`.
pub fn gateway_args(call: &SignedCall, envelope_field: &str) -> String {
    let envelope = call.envelope.to_json();
    let mut out = String::with_capacity(call.canonical_args.len() + envelope.len() + 80);
    out.push('{');
    write_canonical_string(envelope_field, &mut out);
    out.push(':');
    out.push_str(&envelope);
    out.push_str(",\"args\":");
    out.push_str(&call.canonical_args);
    out.push_str(",\"function\":");
    write_canonical_string(&call.function, &mut out);
    out.push('}');
    out
}

/// What the deployment answered to a call.
#[derive(Clone, Debug, PartialEq)]
pub enum Outcome {
    /// The function returned this value (the HTTP API's `json` format).
    Returned(Value),
    /// The function threw.
    Threw(FunctionError),
}

/// A function's error, as the HTTP API reports it.
#[derive(Clone, Debug, PartialEq)]
pub struct FunctionError {
    /// `errorData.code` when the function threw a `ConvexError` whose data
    /// carries a string `code`: callsign's refusals do (`replayed`,
    /// `bad_signature`, …, SPEC.md §9).
    pub code: Option<String>,
    /// `errorData.message` when it is a string (the part meant for the caller),
    /// else the deployment's `errorMessage`.
    pub message: String,
    /// The deployment's `errorMessage` (request id, `Uncaught …`).
    pub error_message: String,
    /// The whole `errorData`, if any.
    pub data: Option<Value>,
}

/// The request failed, or its answer is not a function outcome (an HTTP
/// error such as `400 BadJsonBody`, a proxy's page): the function may or may
/// not have run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TransportError {
    message: String,
}

impl TransportError {
    /// What went wrong.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for TransportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for TransportError {}

/// Why [`Client::call`] has no outcome.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CallError {
    /// The call could not be signed: nothing was sent.
    Sign(Error),
    /// The request failed: see [`TransportError`].
    Transport(TransportError),
}

impl fmt::Display for CallError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CallError::Sign(e) => write!(f, "cannot sign: {e}"),
            CallError::Transport(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for CallError {}

impl From<Error> for CallError {
    fn from(e: Error) -> Self {
        CallError::Sign(e)
    }
}

impl From<TransportError> for CallError {
    fn from(e: TransportError) -> Self {
        CallError::Transport(e)
    }
}

/// Interprets an HTTP API answer: `status` and the body's text.
///
/// A function's outcome is `{"status":"success","value":…}` or
/// `{"status":"error","errorMessage":…,"errorData"?:…}`, under 200 or the
/// older 560 ("function failed"). Anything else — a 400 with
/// `{"code","message"}`, a proxy's HTML — is a [`TransportError`].
pub fn parse_answer(status: u16, text: &str) -> Result<Outcome, TransportError> {
    let json: Option<Value> = serde_json::from_str(text).ok();
    if status != 200 && status != 560 {
        let detail = match json.as_ref().map(|j| (j.get("code"), j.get("message"))) {
            Some((Some(Value::String(code)), Some(Value::String(message)))) => {
                format!("{code}: {message}")
            }
            _ => quote(text),
        };
        return Err(TransportError {
            message: format!("HTTP {status}: {detail}"),
        });
    }
    let invalid = || TransportError {
        message: format!("not a Convex function answer: {}", quote(text)),
    };
    let json = json.ok_or_else(invalid)?;
    match json.get("status").and_then(Value::as_str) {
        Some("success") => Ok(Outcome::Returned(
            json.get("value").cloned().ok_or_else(invalid)?,
        )),
        Some("error") => {
            let error_message = json
                .get("errorMessage")
                .and_then(Value::as_str)
                .ok_or_else(invalid)?
                .to_owned();
            let data = json.get("errorData").cloned();
            let field = |name| {
                data.as_ref()
                    .and_then(|d| d.get(name))
                    .and_then(Value::as_str)
                    .map(str::to_owned)
            };
            Ok(Outcome::Threw(FunctionError {
                code: field("code"),
                message: field("message").unwrap_or_else(|| error_message.clone()),
                error_message,
                data,
            }))
        }
        _ => Err(invalid()),
    }
}

/// An answer's text, cut short for an error message.
fn quote(text: &str) -> String {
    match text.char_indices().nth(MAX_QUOTED_ANSWER) {
        Some((end, _)) => format!("{:?}…", &text[..end]),
        None => format!("{text:?}"),
    }
}

/// Signs calls for one deployment and posts them to its HTTP API.
///
/// The key lives in the [`Signer`]; `Debug` shows only its kid.
#[derive(Clone)]
pub struct Client {
    url: String,
    signer: Signer,
    gateway_module: String,
    agent: ureq::Agent,
}

impl Client {
    /// A client for the deployment at `url` (e.g.
    /// `https://happy-otter-123.convex.cloud`), signing with `key` for that URL
    /// without its trailing slash (as the deployment's `CONVEX_CLOUD_URL` reads).
    ///
    /// # Errors
    /// `malformed` for a URL that is not `http(s)://…` or not a valid audience;
    /// `invalid_key` for a derived key bound to another deployment.
    pub fn new(url: &str, key: &Key) -> callsign::Result<Client> {
        let url = deployment_url(url)?;
        Client::with_signer(url, Signer::new(key, url)?)
    }

    /// A client posting to `url`, signing with `signer` (whose audience may
    /// differ from `url`, e.g. for a custom domain).
    ///
    /// # Errors
    /// `malformed` for a URL that is not `http(s)://…`.
    pub fn with_signer(url: &str, signer: Signer) -> callsign::Result<Client> {
        Ok(Client {
            url: deployment_url(url)?.to_owned(),
            signer,
            gateway_module: DEFAULT_GATEWAY_MODULE.to_owned(),
            agent: agent(DEFAULT_TIMEOUT),
        })
    }

    /// Uses `module` (e.g. `lib/callsign`) instead of `callsign` for the gateway.
    pub fn with_gateway_module(mut self, module: &str) -> Client {
        module.clone_into(&mut self.gateway_module);
        self
    }

    /// Gives up on a call after `timeout` (default [`DEFAULT_TIMEOUT`]).
    pub fn with_timeout(mut self, timeout: Duration) -> Client {
        self.agent = agent(timeout);
        self
    }

    /// The deployment URL requests go to (no trailing slash).
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The signer calls are signed with.
    pub fn signer(&self) -> &Signer {
        &self.signer
    }

    /// Signs a call to `function` with `args_json` (Convex JSON, an object).
    ///
    /// # Errors
    /// The signer's: `malformed`, `too_large`.
    pub fn sign(&self, kind: Kind, function: &str, args_json: &str) -> callsign::Result<Request> {
        let call = self.signer.sign(function, args_json)?;
        Ok(Request::new(kind, &call.function, &call.signed_args))
    }

    /// Signs a call to the internal function `function` through the gateway of
    /// this kind (`<gateway module>:runMutation`, …).
    ///
    /// # Errors
    /// The signer's: `malformed`, `too_large`.
    pub fn sign_gateway(
        &self,
        kind: Kind,
        function: &str,
        args_json: &str,
    ) -> callsign::Result<Request> {
        let call = self.signer.sign(function, args_json)?;
        let args = gateway_args(&call, self.signer.envelope_field());
        let path = format!("{}:{}", self.gateway_module, kind.gateway_export());
        Ok(Request::new(kind, &path, &args))
    }

    /// Posts `request` and reads the answer.
    ///
    /// # Errors
    /// [`TransportError`] when the request fails or the answer is not a
    /// function outcome.
    pub fn send(&self, request: &Request) -> Result<Outcome, TransportError> {
        let endpoint = format!("{}{}", self.url, request.kind.endpoint());
        let failed = |e: ureq::Error, doing: &str| TransportError {
            message: format!("POST {endpoint}: {doing}{e}"),
        };
        let mut response = self
            .agent
            .post(&endpoint)
            .header("Content-Type", "application/json")
            .send(&request.body)
            .map_err(|e| failed(e, ""))?;
        let status = response.status().as_u16();
        let text = response
            .body_mut()
            .read_to_string()
            .map_err(|e| failed(e, "reading the answer: "))?;
        parse_answer(status, &text)
    }

    /// Signs a call and posts it.
    ///
    /// # Errors
    /// [`CallError::Sign`] (nothing sent) or [`CallError::Transport`].
    pub fn call(&self, kind: Kind, function: &str, args_json: &str) -> Result<Outcome, CallError> {
        Ok(self.send(&self.sign(kind, function, args_json)?)?)
    }

    /// Signs a call to an internal function and posts it to the gateway.
    ///
    /// # Errors
    /// [`CallError::Sign`] (nothing sent) or [`CallError::Transport`].
    pub fn call_gateway(
        &self,
        kind: Kind,
        function: &str,
        args_json: &str,
    ) -> Result<Outcome, CallError> {
        Ok(self.send(&self.sign_gateway(kind, function, args_json)?)?)
    }
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("url", &self.url)
            .field("signer", &self.signer)
            .field("gateway_module", &self.gateway_module)
            .finish_non_exhaustive()
    }
}

/// `url` without trailing slashes, checked to be an `http(s)://` URL.
fn deployment_url(url: &str) -> callsign::Result<&str> {
    let url = url.trim_end_matches('/');
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"));
    match rest {
        Some(host) if !host.is_empty() => Ok(url),
        _ => Err(Error::new(
            ErrorCode::Malformed,
            format!(
                "the deployment URL must be https://… (or http://… for a local backend), got {}",
                quote(&url.chars().take(64).collect::<String>())
            ),
        )),
    }
}

fn agent(timeout: Duration) -> ureq::Agent {
    ureq::Agent::config_builder()
        // A function's error comes back as a JSON body, also under a non-2xx
        // status (560 on some deployments): read it instead of failing.
        .http_status_as_error(false)
        .timeout_global(Some(timeout))
        .build()
        .into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use callsign::Nonce;
    use serde_json::json;

    const KEY: &str = "csk1_prod_000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
    const URL: &str = "https://happy-otter-123.convex.cloud";
    const NONCE: &str = "00112233445566778899aabbccddeeff";

    fn client() -> Client {
        let key = Key::parse(KEY).unwrap();
        let signer = Signer::new(&key, URL)
            .unwrap()
            .with_clock(|| 1_700_000_000_000)
            .with_nonce_source(|| Nonce::parse(NONCE));
        Client::with_signer(&format!("{URL}/"), signer).unwrap()
    }

    #[test]
    fn a_request_carries_the_signed_args_verbatim() {
        let client = client();
        let request = client
            .sign(
                Kind::Mutation,
                "messages.js:send",
                r#"{"body":"hi \"there\""}"#,
            )
            .unwrap();
        let call = client
            .signer()
            .sign("messages:send", r#"{"body":"hi \"there\""}"#)
            .unwrap();
        assert_eq!(request.kind, Kind::Mutation);
        assert_eq!(request.path, "messages:send");
        assert_eq!(
            request.body,
            format!(
                r#"{{"path":"messages:send","args":{},"format":"json"}}"#,
                call.signed_args
            )
        );
        let parsed: Value = serde_json::from_str(&request.body).unwrap();
        assert_eq!(parsed["args"]["_callsign"]["nonce"], NONCE);
        assert_eq!(client.url(), URL);
    }

    #[test]
    fn a_gateway_request_is_signed_for_the_internal_function() {
        let client = client().with_gateway_module("lib/callsign");
        let request = client
            .sign_gateway(Kind::Action, "admin.js:digest", r#"{"n": 1.0}"#)
            .unwrap();
        assert_eq!(
            (request.kind, request.path.as_str()),
            (Kind::Action, "lib/callsign:runAction")
        );
        let body: Value = serde_json::from_str(&request.body).unwrap();
        assert_eq!(body["path"], "lib/callsign:runAction");
        assert_eq!(body["args"]["function"], "admin:digest");
        assert_eq!(body["args"]["args"], json!({"n": 1}));
        // The envelope is the one a direct call to admin:digest would carry.
        let direct = client.signer().sign("admin:digest", r#"{"n":1}"#).unwrap();
        let envelope: Value = serde_json::from_str(&direct.envelope.to_json()).unwrap();
        assert_eq!(body["args"]["_callsign"], envelope);
        // And it verifies as that call, once put back together.
        let keys = callsign::KeySet::parse(KEY).unwrap();
        let verifier = callsign::Verifier::new(&keys, URL).unwrap();
        let args = &body["args"];
        let signed = format!(r#"{{"n":1,"_callsign":{}}}"#, args["_callsign"]);
        let verified = verifier
            .verify(
                args["function"].as_str().unwrap(),
                &signed,
                1_700_000_000_000,
            )
            .unwrap();
        assert_eq!(verified.function, "admin:digest");
    }

    #[test]
    fn kinds_have_their_endpoints_and_gateways() {
        let table: Vec<_> = Kind::ALL
            .iter()
            .map(|k| (k.as_str(), k.endpoint(), k.gateway_export()))
            .collect();
        assert_eq!(
            table,
            [
                ("query", "/api/query", "runQuery"),
                ("mutation", "/api/mutation", "runMutation"),
                ("action", "/api/action", "runAction")
            ]
        );
        assert_eq!("action".parse(), Ok(Kind::Action));
        assert!("internal".parse::<Kind>().is_err());
    }

    #[test]
    fn deployment_urls_are_checked() {
        let key = Key::parse(KEY).unwrap();
        for bad in [
            "",
            "happy-otter-123.convex.cloud",
            "https://",
            "ftp://x",
            "https://a b",
        ] {
            let err = Client::new(bad, &key).unwrap_err();
            assert_eq!(err.code(), ErrorCode::Malformed, "{bad}");
        }
        let client = Client::new("http://127.0.0.1:3210//", &key).unwrap();
        assert_eq!(client.url(), "http://127.0.0.1:3210");
        assert_eq!(client.signer().audience(), "http://127.0.0.1:3210");
        let derived = key.derive(URL).unwrap();
        let err = Client::new("https://other-1.convex.cloud", &derived).unwrap_err();
        assert_eq!(err.code(), ErrorCode::InvalidKey);
        assert!(!format!("{client:?}").contains("0001020304050607"));
    }

    #[test]
    fn a_success_yields_the_value() {
        let answer = r#"{"status":"success","value":{"n":"3"},"logLines":[]}"#;
        assert_eq!(
            parse_answer(200, answer),
            Ok(Outcome::Returned(json!({"n": "3"})))
        );
    }

    #[test]
    fn a_convex_error_yields_its_code_under_200_or_560() {
        let answer = r#"{"status":"error","errorMessage":"Uncaught ConvexError: x","errorData":{"code":"replayed","message":"call already accepted"}}"#;
        for status in [200, 560] {
            let Ok(Outcome::Threw(error)) = parse_answer(status, answer) else {
                panic!("a function error under {status}");
            };
            assert_eq!(error.code.as_deref(), Some("replayed"));
            assert_eq!(error.message, "call already accepted");
            assert_eq!(error.error_message, "Uncaught ConvexError: x");
            assert_eq!(
                error.data,
                Some(json!({"code": "replayed", "message": "call already accepted"}))
            );
        }
    }

    #[test]
    fn a_plain_error_has_no_code() {
        let threw = |answer| match parse_answer(200, answer) {
            Ok(Outcome::Threw(e)) => (e.code, e.message),
            other => panic!("{other:?}"),
        };
        assert_eq!(
            threw(r#"{"status":"error","errorMessage":"Server Error"}"#),
            (None, "Server Error".into())
        );
        assert_eq!(
            threw(r#"{"status":"error","errorMessage":"m","errorData":"just a string"}"#),
            (None, "m".into())
        );
        assert_eq!(
            threw(r#"{"status":"error","errorMessage":"m","errorData":{"code":"c","message":7}}"#),
            (Some("c".into()), "m".into())
        );
    }

    #[test]
    fn http_errors_and_foreign_answers_are_transport_errors() {
        let bad_request = r#"{"code":"BadJsonBody","message":"Expected request with `Content-Type: application/json`"}"#;
        assert_eq!(
            parse_answer(400, bad_request).unwrap_err().message(),
            "HTTP 400: BadJsonBody: Expected request with `Content-Type: application/json`"
        );
        let err = parse_answer(502, &"<html>".repeat(1000)).unwrap_err();
        assert!(err.message().starts_with("HTTP 502: \"<html>") && err.message().ends_with('…'));
        assert!(err.message().len() < MAX_QUOTED_ANSWER + 100);
        for answer in [
            "not json",
            r#"{"status":"success"}"#,
            r#"{"status":"weird"}"#,
            r#"{"status":"error"}"#,
        ] {
            assert!(parse_answer(200, answer).is_err(), "{answer}");
        }
    }

    #[test]
    fn nothing_listening_is_a_transport_error() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        drop(listener);
        let key = Key::parse(KEY).unwrap();
        let client = Client::new(&format!("http://127.0.0.1:{port}"), &key).unwrap();
        match client.call(Kind::Query, "m:f", "{}") {
            Err(CallError::Transport(e)) => {
                assert!(e
                    .message()
                    .starts_with(&format!("POST http://127.0.0.1:{port}/api/query: ")));
            }
            other => panic!("{other:?}"),
        }
        match client.call(Kind::Query, "m:f", "[]") {
            Err(CallError::Sign(e)) => assert_eq!(e.code(), ErrorCode::Malformed),
            other => panic!("{other:?}"),
        }
    }
}
