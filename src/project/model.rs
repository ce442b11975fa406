//! The typed project file `fnops.yaml`. The JSON Schema in `schemas/fnops.schema.json` is
//! generated from these types (`fnops schema`), so editors and fnops agree on every field.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A serverless Python function and how it runs on Kubernetes.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schemars(title = "fnops project file")]
pub struct Project {
    /// Name of the Deployment and of the ArgoCD Applications (`<name>-<env>`).
    #[serde(default = "default_name")]
    pub name: String,
    /// Namespace of every rendered object; left out, the Application's destination decides.
    #[serde(default)]
    pub namespace: Option<String>,
    /// Extra labels on every object (selectors are never changed by these).
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    /// Extra annotations on every object.
    #[serde(default)]
    pub annotations: BTreeMap<String, String>,
    pub function: Function,
    pub redis: Redis,
    /// Time between handler calls, start to start: `5`, `"5s"`, `"500ms"`, `"1m"`.
    #[serde(default = "default_period")]
    pub period: Period,
    /// When the runtime calls the handler: `poll` (every period, as the course runtime),
    /// `change` (only when the input changed) or `notify` (on Redis keyspace notifications).
    /// Default: `change` for the `fnops` runtime, `poll` (the only choice) for `course`.
    #[serde(default)]
    pub trigger: Option<Trigger>,
    #[serde(default)]
    pub runtime: Runtime,
    /// Pod replicas. More than one poller races on the output key, so the strategy is
    /// always `Recreate`.
    #[serde(default = "default_replicas")]
    pub replicas: u32,
    #[serde(default)]
    pub resources: Resources,
    #[serde(default)]
    pub security_context: SecurityContext,
    /// A Service for the runtime's live dashboard (fnops flavour), and an Argo CD link to it.
    #[serde(default)]
    pub dashboard: Option<Dashboard>,
    /// ArgoCD Applications, one per environment. Left out, no Application is rendered.
    #[serde(default)]
    pub argocd: Option<ArgoCd>,
    /// Validation rules to skip for this project's objects (`fnops explain` lists them).
    #[serde(default)]
    pub ignore: Vec<String>,
}

fn default_name() -> String {
    "serverless-redis".into()
}
fn default_replicas() -> u32 {
    1
}
fn default_period() -> Period {
    Period(Duration::from_secs(5))
}

#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Function {
    /// A `.py` file (ConfigMap `pyfile`, key `pyfile`) or a package directory (zipped into
    /// `binaryData`), relative to the project file, inside the project directory.
    pub source: String,
    /// Entry point: `handler` (a function of the module) or `package.module.function`.
    #[serde(default = "default_handler")]
    pub handler: String,
    /// A JSON document shaped like the real input, for the handler checks.
    #[serde(default)]
    pub input_sample: Option<String>,
}

fn default_handler() -> String {
    "handler".into()
}

#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Redis {
    /// Redis host name or address, as seen from the pod.
    pub host: String,
    #[serde(default = "default_port")]
    pub port: u16,
    /// Key holding the JSON input document.
    #[serde(default = "default_input_key")]
    pub input_key: String,
    /// Key the handler's result is written to (ConfigMap `outputkey`, key `REDIS_OUTPUT_KEY`).
    pub output_key: String,
    /// The Secret holding the Redis password.
    #[serde(default)]
    pub password_secret: Option<SecretRef>,
    /// Connect with TLS (`fnops` runtime only). The server's certificate and host name are
    /// always verified: `{}` trusts the image's system CAs.
    #[serde(default)]
    pub tls: Option<RedisTls>,
    /// Refused: passwords never go into Git. Accepted by the parser only to say so clearly.
    #[serde(default, skip_serializing)]
    #[schemars(skip)]
    pub password: Option<serde_json::Value>,
}

fn default_port() -> u16 {
    6379
}
fn default_input_key() -> String {
    "metrics".into()
}

/// TLS to Redis. Certificates come from Secrets mounted read-only into the pod.
#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RedisTls {
    /// The key of a Secret holding the PEM certificate of the CA that signed the server's
    /// certificate (a private CA); left out, the system CAs are trusted.
    #[serde(default)]
    pub ca_secret: Option<SecretRef>,
    /// A `kubernetes.io/tls` Secret (`tls.crt`, `tls.key`) with a client certificate, for
    /// servers that require one (`tls-auth-clients yes`).
    #[serde(default)]
    pub client_secret: Option<String>,
}

#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SecretRef {
    pub name: String,
    pub key: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Trigger {
    Poll,
    Change,
    Notify,
}

impl Trigger {
    pub fn as_str(self) -> &'static str {
        match self {
            Trigger::Poll => "poll",
            Trigger::Change => "change",
            Trigger::Notify => "notify",
        }
    }
}

#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Runtime {
    #[serde(default)]
    pub flavor: Flavor,
    /// Container image. Default: the fnops runtime image of this fnops version, or
    /// `lucasmsp/serverless:redis` for the `course` flavour.
    #[serde(default)]
    pub image: Option<String>,
    /// Default: `IfNotPresent` (`Always` for the `course` flavour, as the course did).
    #[serde(default)]
    pub image_pull_policy: Option<PullPolicy>,
    /// A handler call running longer is killed (the worker restarts, state is kept).
    #[serde(default)]
    pub handler_timeout: Option<Period>,
    /// Port of `/healthz`, `/readyz`, `/metrics` and the dashboard (fnops flavour).
    #[serde(default = "default_metrics_port")]
    pub metrics_port: u16,
    /// Refuse outputs holding NaN or Infinity (strict JSON, what JSON readers other than
    /// Python's accept). The runtime's own default is the course's (write them, warn once); the
    /// fnops flavour renders strict JSON unless this is `false`.
    #[serde(default = "yes")]
    pub strict_json: bool,
}

fn default_metrics_port() -> u16 {
    8080
}

impl Default for Runtime {
    fn default() -> Self {
        Runtime {
            flavor: Flavor::default(),
            image: None,
            image_pull_policy: None,
            handler_timeout: None,
            metrics_port: default_metrics_port(),
            strict_json: true,
        }
    }
}

/// Which runtime contract the rendered Deployment follows.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Flavor {
    /// The bundled `fnops-runtime`: `runtime-config` ConfigMap, code mounted as a directory.
    #[default]
    Fnops,
    /// The course image `lucasmsp/serverless:redis`, exactly its contract.
    Course,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
pub enum PullPolicy {
    Always,
    IfNotPresent,
    Never,
}

#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Resources {
    #[serde(default = "default_requests")]
    pub requests: ResourceList,
    #[serde(default = "default_limits")]
    pub limits: ResourceList,
}

impl Default for Resources {
    fn default() -> Self {
        Resources { requests: default_requests(), limits: default_limits() }
    }
}

fn default_requests() -> ResourceList {
    ResourceList { cpu: Some(Quantity("100m".into())), memory: Some(Quantity("300Mi".into())) }
}
fn default_limits() -> ResourceList {
    ResourceList { cpu: Some(Quantity("1".into())), memory: Some(Quantity("512Mi".into())) }
}

/// CPU and memory. A field left out keeps its default, so an overlay may change one alone.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ResourceList {
    #[serde(default)]
    pub cpu: Option<Quantity>,
    #[serde(default)]
    pub memory: Option<Quantity>,
}

impl Resources {
    /// Requests and limits with every field left out filled from the defaults.
    pub fn resolved(&self) -> Resources {
        let fill = |given: &ResourceList, default: ResourceList| ResourceList {
            cpu: given.cpu.clone().or(default.cpu),
            memory: given.memory.clone().or(default.memory),
        };
        Resources {
            requests: fill(&self.requests, default_requests()),
            limits: fill(&self.limits, default_limits()),
        }
    }
}

/// A Kubernetes quantity: `100m`, `1`, `0.5`, `300Mi`, `1e3`, `500u`: a non-negative decimal
/// with a binary (`Ki`...`Ei`) or decimal (`n`, `u`, `m`, `k`, `M`...`E`) suffix, or an
/// exponent. The parser and [`QUANTITY_PATTERN`] accept exactly the same text (a property test
/// holds them to it).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Quantity(pub String);

/// The grammar of [`Quantity`] strings, for the JSON Schema.
pub const QUANTITY_PATTERN: &str =
    "^\\+?([0-9]+(\\.[0-9]*)?|\\.[0-9]+)([eE][+-]?[0-9]+|Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE])?$";

impl<'de> Deserialize<'de> for Quantity {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            S(String),
            I(u64),
            F(f64),
        }
        let s = match Raw::deserialize(d)
            .map_err(|_| serde::de::Error::custom("expected a quantity such as `100m`, `1` or `300Mi`"))?
        {
            Raw::S(s) => s,
            Raw::I(i) => i.to_string(),
            // `-0` is zero; other negative numbers are refused below.
            Raw::F(0.0) => "0".to_owned(),
            Raw::F(f) => f.to_string(),
        };
        if !is_quantity(&s) {
            return Err(serde::de::Error::custom(format!(
                "`{s}` is not a Kubernetes quantity (e.g. `100m`, `1`, `300Mi`)"
            )));
        }
        Ok(Quantity(s))
    }
}

/// Whether `s` is a quantity: [`QUANTITY_PATTERN`], by hand.
fn is_quantity(s: &str) -> bool {
    let s = s.strip_prefix('+').unwrap_or(s);
    let digits = |t: &str| t.bytes().take_while(u8::is_ascii_digit).count();
    let int = digits(s);
    let mut rest = &s[int..];
    let mut frac = 0;
    let dot = rest.starts_with('.');
    if dot {
        rest = &rest[1..];
        frac = digits(rest);
        rest = &rest[frac..];
    }
    if int == 0 && frac == 0 {
        return false;
    }
    match rest {
        "" | "n" | "u" | "m" | "k" | "M" | "G" | "T" | "P" | "E" | "Ki" | "Mi" | "Gi" | "Ti" | "Pi"
        | "Ei" => true,
        exp if exp.starts_with(['e', 'E']) => {
            let e = exp[1..].strip_prefix(['+', '-']).unwrap_or(&exp[1..]);
            !e.is_empty() && digits(e) == e.len()
        }
        _ => false,
    }
}

impl JsonSchema for Quantity {
    fn schema_name() -> Cow<'static, str> {
        "Quantity".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "A Kubernetes quantity such as `100m`, `1`, `300Mi` or `1e3`.",
            "anyOf": [
                {"type": "string", "pattern": QUANTITY_PATTERN},
                {"type": "number", "minimum": 0}
            ]
        })
    }
}

#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SecurityContext {
    /// Non-root, read-only root filesystem (with a `/tmp` emptyDir), no privilege escalation,
    /// all capabilities dropped, seccomp `RuntimeDefault`.
    #[serde(default = "yes")]
    pub hardened: bool,
    /// UID the container runs as.
    #[serde(default = "default_uid")]
    pub run_as_user: u32,
}

impl Default for SecurityContext {
    fn default() -> Self {
        SecurityContext { hardened: true, run_as_user: default_uid() }
    }
}

fn yes() -> bool {
    true
}
fn default_uid() -> u32 {
    10001
}

/// The Service in front of the runtime's dashboard (served on `runtime.metricsPort`).
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Dashboard {
    /// `ClusterIP` (reach it with `kubectl port-forward`) or `NodePort`.
    #[serde(default)]
    pub service: ServiceType,
    /// The node port of a `NodePort` Service (30000 to 32767); default: one the cluster picks.
    #[serde(default)]
    pub node_port: Option<u16>,
    /// The address people open, for the Application's Argo CD link; default: the Service's
    /// address inside the cluster.
    #[serde(default)]
    pub url: Option<String>,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
pub enum ServiceType {
    #[default]
    ClusterIP,
    NodePort,
}

#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ArgoCd {
    /// Git repository ArgoCD syncs from.
    #[serde(rename = "repoURL")]
    pub repo_url: String,
    #[serde(default = "default_revision")]
    pub target_revision: String,
    /// ArgoCD project.
    #[serde(default = "default_project")]
    pub project: String,
    /// Namespace where ArgoCD's Applications live.
    #[serde(default = "default_argocd_namespace")]
    pub namespace: String,
    #[serde(default)]
    pub destination: Destination,
    #[serde(default)]
    pub sync_policy: SyncPolicy,
    /// Give the Applications Argo CD's `resources-finalizer.argocd.argoproj.io`: deleting an
    /// Application (an app-of-apps pruning it) deletes its objects too, instead of leaving the
    /// Deployment running and writing to the shared Redis.
    #[serde(default = "yes")]
    pub finalizer: bool,
    /// One ApplicationSet (a Git files generator over `environments/*.yaml`) instead of one
    /// Application per environment.
    #[serde(default)]
    pub application_set: bool,
}

fn default_revision() -> String {
    "HEAD".into()
}
fn default_project() -> String {
    "default".into()
}
fn default_argocd_namespace() -> String {
    "argocd".into()
}

#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Destination {
    #[serde(default = "default_server")]
    pub server: String,
    /// Default: the project's `namespace`.
    #[serde(default)]
    pub namespace: Option<String>,
}

impl Default for Destination {
    fn default() -> Self {
        Destination { server: default_server(), namespace: None }
    }
}

fn default_server() -> String {
    "https://kubernetes.default.svc".into()
}

#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SyncPolicy {
    /// Sync automatically on every commit.
    #[serde(default = "yes")]
    pub automated: bool,
    /// Delete objects removed from Git.
    #[serde(default = "yes")]
    pub prune: bool,
    /// Undo changes made in the cluster by hand.
    #[serde(default = "yes")]
    pub self_heal: bool,
    /// Let ArgoCD create the destination namespace.
    #[serde(default)]
    pub create_namespace: bool,
    /// Retry a failed sync, with backoff (Argo CD's `syncPolicy.retry`); default: no retry.
    #[serde(default)]
    pub retry: Option<Retry>,
}

impl Default for SyncPolicy {
    fn default() -> Self {
        SyncPolicy { automated: true, prune: true, self_heal: true, create_namespace: false, retry: None }
    }
}

/// Argo CD's sync retry.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Retry {
    /// Attempts before giving up.
    #[serde(default = "default_retry_limit")]
    pub limit: u32,
    /// The first wait (a duration: `5s`, `1m`).
    #[serde(default = "default_backoff_duration")]
    pub backoff_duration: String,
    /// Each wait is the previous one times this.
    #[serde(default = "default_backoff_factor")]
    pub backoff_factor: u32,
    /// The longest wait.
    #[serde(default = "default_backoff_max")]
    pub max_backoff_duration: String,
}

fn default_retry_limit() -> u32 {
    5
}
fn default_backoff_duration() -> String {
    "5s".into()
}
fn default_backoff_factor() -> u32 {
    2
}
fn default_backoff_max() -> String {
    "3m".into()
}

/// A duration written as seconds (`5`, `0.5`) or with a unit (`"500ms"`, `"5s"`, `"1m"`), from 0
/// (back to back) to under a million seconds. The parser and [`PERIOD_PATTERN`] accept exactly
/// the same text (a property test holds them to it); sub-millisecond parts round to the
/// nearest millisecond.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Period(pub Duration);

/// The grammar of [`Period`] strings, for the JSON Schema: the digit counts bound the value
/// below a million seconds whatever the unit.
pub const PERIOD_PATTERN: &str =
    "^([0-9]{1,9}(\\.[0-9]+)?ms|[0-9]{1,6}(\\.[0-9]+)?s?|[0-9]{1,4}(\\.[0-9]+)?m)$";
/// The largest number of seconds a period may be (exclusive).
const PERIOD_MAX_SECONDS: f64 = 1_000_000.0;

impl Period {
    /// Seconds as the runtime reads them: `5`, `0.5`.
    pub fn seconds_text(self) -> String {
        let ms = self.0.as_millis();
        if ms.is_multiple_of(1000) { (ms / 1000).to_string() } else { format!("{}", ms as f64 / 1000.0) }
    }

    /// Parse [`PERIOD_PATTERN`] text.
    pub fn parse(text: &str) -> Result<Period, String> {
        let invalid = || format!("`{text}` is not a duration (write `5`, `\"5s\"`, `\"500ms\"` or `\"1m\"`)");
        let (number, scale, max_int) = if let Some(n) = text.strip_suffix("ms") {
            (n, 0.001, 9)
        } else if let Some(n) = text.strip_suffix('s') {
            (n, 1.0, 6)
        } else if let Some(n) = text.strip_suffix('m') {
            (n, 60.0, 4)
        } else {
            (text, 1.0, 6)
        };
        let (int, frac) = number.split_once('.').map_or((number, None), |(i, f)| (i, Some(f)));
        let digits = |t: &str| !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit());
        if !digits(int) || int.len() > max_int || frac.is_some_and(|f| !digits(f)) {
            return Err(invalid());
        }
        let value: f64 = number.parse().map_err(|_| invalid())?;
        Period::from_secs(value * scale).ok_or_else(invalid)
    }

    fn from_secs(secs: f64) -> Option<Period> {
        (secs.is_finite() && (0.0..PERIOD_MAX_SECONDS).contains(&secs))
            .then(|| Period(Duration::from_millis((secs * 1000.0).round() as u64)))
    }
}

impl fmt::Display for Period {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}s", self.seconds_text())
    }
}

impl Serialize for Period {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_string())
    }
}

impl<'de> Deserialize<'de> for Period {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            N(f64),
            S(String),
        }
        let raw = Raw::deserialize(d).map_err(|_| {
            serde::de::Error::custom("expected a duration such as `5`, `\"5s\"` or `\"500ms\"`")
        })?;
        match raw {
            Raw::N(n) => Period::from_secs(n).ok_or_else(|| {
                serde::de::Error::custom(format!("`{n}` must be a number of seconds from 0 to under 1000000"))
            }),
            Raw::S(s) => Period::parse(&s).map_err(serde::de::Error::custom),
        }
    }
}

impl JsonSchema for Period {
    fn schema_name() -> Cow<'static, str> {
        "Period".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "Seconds (`5`, `0.5`; `0` runs back to back) or a duration with a unit (`\"500ms\"`, `\"5s\"`, `\"1m\"`), under a million seconds.",
            "anyOf": [
                {"type": "number", "minimum": 0, "exclusiveMaximum": PERIOD_MAX_SECONDS},
                {"type": "string", "pattern": PERIOD_PATTERN}
            ]
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn periods() {
        assert_eq!(Period::parse("500ms").map(Period::seconds_text), Ok("0.5".into()));
        assert_eq!(Period::parse("5s").map(Period::seconds_text), Ok("5".into()));
        assert_eq!(Period::parse("1m").map(Period::seconds_text), Ok("60".into()));
        assert_eq!(Period::parse("2").map(Period::seconds_text), Ok("2".into()));
        assert_eq!(Period::parse("0").map(Period::seconds_text), Ok("0".into()));
        for bad in ["soon", "1.", " 5s", "5 s", "-1", "1e3", "1000000", "99999m"] {
            assert!(Period::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn quantities() {
        for ok in ["100m", "1", "0.5", "300Mi", "2Gi", "500u", "10n", "1e3", "1E-2", "1E", "+1", ".5", "1."] {
            assert!(is_quantity(ok), "{ok}");
        }
        for bad in ["", "m", "1.2.3", "300MB", "abc", "-1", "1e", "1Ki2", "."] {
            assert!(!is_quantity(bad), "{bad}");
        }
    }

    /// The JSON Schema editors use and the parser fnops uses agree on every value: schema-valid
    /// exactly when the parser accepts it, for strings and numbers alike.
    mod schema_and_parser_agree {
        use proptest::prelude::*;

        use super::super::{Period, Quantity};

        fn validator(def: &str) -> jsonschema::Validator {
            let schema: serde_json::Value =
                serde_json::from_str(&crate::project_schema()).expect("the project schema is JSON");
            let sub = schema["definitions"][def].clone();
            assert!(sub.is_object(), "`definitions/{def}` in the schema");
            jsonschema::options().build(&sub).expect("compiles")
        }

        fn text() -> impl Strategy<Value = String> {
            prop_oneof![
                "[0-9.+eE-]{0,4}(ms|s|m|Ki|Mi|n|u|k|M|E|Gi|e|)?",
                "[0-9]{0,10}(\\.[0-9]{0,3})?(ms|s|m)?",
                "[ 0-9a-zA-Z.+-]{0,6}",
            ]
        }

        fn number() -> impl Strategy<Value = f64> {
            prop_oneof![
                any::<f64>().prop_filter("finite", |f| f.is_finite()),
                -10.0..2e6f64,
                (0u32..3_000_000).prop_map(f64::from)
            ]
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(2000))]

            #[test]
            fn for_quantities(s in text(), n in number()) {
                let v = validator("Quantity");
                for value in [serde_json::json!(s), serde_json::json!(n)] {
                    let parsed = serde_json::from_value::<Quantity>(value.clone()).is_ok();
                    prop_assert_eq!(v.is_valid(&value), parsed, "{}", value);
                }
            }

            #[test]
            fn for_periods(s in text(), n in number()) {
                let v = validator("Period");
                for value in [serde_json::json!(s), serde_json::json!(n)] {
                    let parsed = serde_json::from_value::<Period>(value.clone()).is_ok();
                    prop_assert_eq!(v.is_valid(&value), parsed, "{}", value);
                }
            }
        }
    }
}
