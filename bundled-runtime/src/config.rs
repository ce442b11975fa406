//! CONFIG: the environment (as ConfigMap `runtime-config` provides it) into typed settings.
//! Each bad setting is one error naming the variable; the process exits 1 on it.

use std::path::PathBuf;
use std::time::Duration;

/// The module path of the course runtime.
pub const DEFAULT_PYFILE: &str = "/opt/usermodule.py";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Trigger {
    /// Call every period, whatever the input (the course runtime).
    Poll,
    /// Call only when the input value differs from the last one the handler saw.
    Change,
    /// React to keyspace notifications for the input key; poll as a fallback.
    Notify,
}

/// How to reach Redis. The password is kept apart from anything that gets logged.
#[derive(Clone)]
pub struct RedisSettings {
    /// `redis://host:port/db` without credentials: safe to log.
    pub url: String,
    /// The URL as given, credentials included (percent-encoded): the redis crate parses it, so
    /// a password with `@`, `:` or `/` works. Never logged.
    pub connect_url: String,
    pub host: String,
    pub port: u16,
    pub username: Option<String>,
    pub password: Option<String>,
    /// Set for `rediss://` (or `REDIS_TLS=true`): the server's certificate is always verified.
    pub tls: Option<TlsSettings>,
}

impl std::fmt::Debug for RedisSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisSettings")
            .field("url", &self.url)
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "<redacted>"))
            .field("tls", &self.tls)
            .finish()
    }
}

/// TLS to Redis: PEM files read at start, so a missing or unreadable file is a configuration
/// error rather than an endless outage.
#[derive(Clone, Default)]
pub struct TlsSettings {
    /// `REDIS_TLS_CA_FILE`: the CA that signed the server's certificate (else the system's).
    pub ca_pem: Option<Vec<u8>>,
    /// `REDIS_TLS_CERT_FILE` and `REDIS_TLS_KEY_FILE`: a client certificate, for servers that
    /// require one (`tls-auth-clients yes`).
    pub client_pem: Option<(Vec<u8>, Vec<u8>)>,
}

impl std::fmt::Debug for TlsSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsSettings")
            .field("ca", &self.ca_pem.as_ref().map(|_| "<pem>"))
            .field("client_certificate", &self.client_pem.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

/// Where the user's code comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CodeSource {
    /// A module file, imported as `usermodule`.
    Pyfile(PathBuf),
    /// A local ZIP, extracted into a private directory.
    Zip(PathBuf),
    /// A ZIP downloaded once at start (size-capped, pinned by sha256 unless waived).
    Url { url: String, sha256: Option<String>, max_bytes: u64 },
}

#[derive(Clone, Debug)]
pub struct Settings {
    pub redis: RedisSettings,
    pub input_key: String,
    pub output_key: Option<String>,
    pub period: Duration,
    pub trigger: Trigger,
    /// `handler`, `module.function` or `package.module.function`.
    pub handler: String,
    pub code: CodeSource,
    /// The pyfile's directory goes on `sys.path` too, for dotted handlers next to it.
    pub pyfile: Option<PathBuf>,
    pub handler_timeout: Duration,
    /// `MAX_INPUT_BYTES`: a bigger input is not read whole, and the tick fails. Replies from the
    /// worker are capped from it too (see [`Settings::max_payload`]).
    pub max_input: usize,
    pub allow_nan: bool,
    /// The live dashboard on the HTTP port (`DASHBOARD`, default on).
    pub dashboard: bool,
    pub state_key: Option<String>,
    /// 0 turns the HTTP endpoints off.
    pub metrics_port: u16,
    pub metrics_addr: String,
    pub log_json: bool,
    /// `NEW_REQUERIMENTS` (sic): a requirements file pip-installs before the worker starts.
    pub requirements: Option<PathBuf>,
    pub python: String,
    pub reload: bool,
}

/// A setting that cannot be used, and why.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("`{setting}`: {message}")]
pub struct ConfigError {
    pub setting: &'static str,
    pub message: String,
}

fn err(setting: &'static str, message: impl Into<String>) -> ConfigError {
    ConfigError { setting, message: message.into() }
}

fn seconds(setting: &'static str, text: &str, allow_zero: bool) -> Result<Duration, ConfigError> {
    let value: f64 =
        text.trim().parse().map_err(|_| err(setting, format!("`{text}` is not a number of seconds")))?;
    // Up to a million seconds (11.5 days): what `fnops.yaml` can say.
    if !value.is_finite() || value < 0.0 || (!allow_zero && value == 0.0) || value >= 1_000_000.0 {
        return Err(err(setting, format!("`{text}` is out of range")));
    }
    Ok(Duration::from_secs_f64(value))
}

fn flag(setting: &'static str, text: Option<String>) -> Result<bool, ConfigError> {
    match text.as_deref().map(str::trim).map(str::to_ascii_lowercase).as_deref() {
        None | Some("") | Some("0" | "false" | "no" | "off") => Ok(false),
        Some("1" | "true" | "yes" | "on") => Ok(true),
        Some(other) => Err(err(setting, format!("`{other}` is not `true` or `false`"))),
    }
}

impl Settings {
    /// The largest output, snapshot or JSON state the worker may send: the input cap, at least
    /// 1 MiB. A reply holds at most three of them (97 MiB by default), well inside the 512 MiB a
    /// rendered Deployment allows.
    pub fn max_payload(&self) -> usize {
        self.max_input.max(1 << 20)
    }

    /// The largest reply frame the host reads from the worker.
    pub fn max_frame(&self) -> usize {
        self.max_payload() * 3 + (1 << 20)
    }

    /// Read settings through `get` (the process environment in production, a map in tests).
    pub fn from_env(get: impl Fn(&str) -> Option<String>) -> Result<Settings, ConfigError> {
        let var = |name: &str| get(name).filter(|v| !v.trim().is_empty());

        let host = var("REDIS_HOST").unwrap_or_else(|| "localhost".into());
        let port = match var("REDIS_PORT") {
            Some(p) => {
                p.trim().parse().map_err(|_| err("REDIS_PORT", format!("`{p}` is not a port number")))?
            }
            None => 6379,
        };
        let (url, connect_url) = match var("REDIS_URL") {
            Some(url) => {
                if !(url.starts_with("redis://")
                    || url.starts_with("rediss://")
                    || url.starts_with("unix://"))
                {
                    return Err(err("REDIS_URL", "must start with `redis://`, `rediss://` or `unix://`"));
                }
                if flag("REDIS_TLS", var("REDIS_TLS"))? && !url.starts_with("rediss://") {
                    return Err(err("REDIS_TLS", "is true but `REDIS_URL` does not start with `rediss://`"));
                }
                // The redis crate parses (and percent-decodes) the credentials; only the form
                // without them is ever logged.
                if let Err(e) = redis::IntoConnectionInfo::into_connection_info(url.as_str()) {
                    return Err(err("REDIS_URL", format!("is not a Redis URL: {e}")));
                }
                (without_credentials(&url), url)
            }
            None if flag("REDIS_TLS", var("REDIS_TLS"))? => {
                let url = format!("rediss://{host}:{port}/");
                (url.clone(), url)
            }
            None => {
                let url = format!("redis://{host}:{port}/");
                (url.clone(), url)
            }
        };
        let tls = tls_settings(url.starts_with("rediss://"), &var)?;
        let redis = RedisSettings {
            url,
            connect_url,
            host,
            port,
            username: var("REDIS_USERNAME"),
            password: var("REDIS_PASSWORD"),
            tls,
        };

        let period = match (var("MONITORING_PERIOD"), var("INTERVAL")) {
            (Some(p), _) => seconds("MONITORING_PERIOD", &p, true)?,
            (None, Some(i)) => seconds("INTERVAL", &i, true)?,
            (None, None) => Duration::from_secs(5),
        };
        let trigger = match var("TRIGGER").as_deref().map(str::trim) {
            None | Some("poll") => Trigger::Poll,
            Some("change") => Trigger::Change,
            Some("notify") => Trigger::Notify,
            Some(other) => {
                return Err(err("TRIGGER", format!("`{other}` is not `poll`, `change` or `notify`")));
            }
        };
        let handler = var("HANDLER_FUNCTION").unwrap_or_else(|| "handler".into()).trim().to_owned();
        let valid_name = |part: &str| {
            let mut chars = part.chars();
            chars.next().is_some_and(|c| c == '_' || c.is_alphabetic())
                && chars.all(|c| c == '_' || c.is_alphanumeric())
        };
        if !handler.split('.').all(valid_name) {
            return Err(err(
                "HANDLER_FUNCTION",
                format!("`{handler}` is not `function` or `module.function`"),
            ));
        }

        let pyfile = var("PYFILE_PATH").map(PathBuf::from);
        let code = match (var("ZIP_URL"), var("ZIP_PATH")) {
            (Some(url), _) => zip_url(&url, &handler, &var)?,
            (None, Some(zip)) => {
                let zip = PathBuf::from(zip);
                if !zip.is_file() {
                    return Err(err("ZIP_PATH", format!("`{}` is not a file", zip.display())));
                }
                if !handler.contains('.') {
                    return Err(err("HANDLER_FUNCTION", "code from a ZIP needs `package.module.function`"));
                }
                CodeSource::Zip(zip)
            }
            (None, None) => {
                let path = pyfile.clone().unwrap_or_else(|| PathBuf::from(DEFAULT_PYFILE));
                if !path.is_file() {
                    return Err(err("PYFILE_PATH", format!("no user module at `{}`", path.display())));
                }
                CodeSource::Pyfile(path)
            }
        };
        let handler_timeout = match var("HANDLER_TIMEOUT") {
            Some(t) => seconds("HANDLER_TIMEOUT", &t, false)?,
            None => Duration::from_secs(60),
        };
        let metrics_port = match var("METRICS_PORT") {
            Some(p) => {
                p.trim().parse().map_err(|_| err("METRICS_PORT", format!("`{p}` is not a port number")))?
            }
            None => 8080,
        };
        let max_input = match var("MAX_INPUT_BYTES") {
            Some(m) => m.trim().parse::<usize>().ok().filter(|&n| (1024..=1 << 30).contains(&n)).ok_or_else(
                || err("MAX_INPUT_BYTES", format!("`{m}` is not a number of bytes from 1024 to 1073741824")),
            )?,
            None => 32 << 20,
        };
        let log_json = match var("LOG_FORMAT").as_deref().map(str::trim) {
            None | Some("text") => false,
            Some("json") => true,
            Some(other) => return Err(err("LOG_FORMAT", format!("`{other}` is not `text` or `json`"))),
        };
        Ok(Settings {
            redis,
            input_key: var("REDIS_INPUT_KEY").unwrap_or_else(|| "metrics".into()),
            output_key: var("REDIS_OUTPUT_KEY"),
            period,
            trigger,
            handler,
            code,
            pyfile,
            handler_timeout,
            max_input,
            // The course runtime wrote NaN and Infinity (`json.dumps`): so does this one, with a
            // warning, unless told otherwise (the fnops flavour renders `false`).
            allow_nan: get("JSON_ALLOW_NAN").map_or(Ok(true), |v| flag("JSON_ALLOW_NAN", Some(v)))?,
            state_key: var("STATE_KEY"),
            metrics_port,
            metrics_addr: var("METRICS_ADDR").unwrap_or_else(|| "0.0.0.0".into()),
            log_json,
            requirements: var("NEW_REQUERIMENTS").map(PathBuf::from),
            python: var("PYTHON").unwrap_or_else(|| "python3".into()),
            reload: !matches!(var("RELOAD").as_deref(), Some("false" | "0" | "off" | "no")),
            dashboard: get("DASHBOARD").map_or(Ok(true), |v| flag("DASHBOARD", Some(v)))?,
        })
    }
}

/// Upper bound on a TLS file (a certificate chain is a few KiB).
const MAX_PEM_BYTES: u64 = 1 << 20;

/// The TLS files, read now; naming one without a TLS connection is a mistake worth an error
/// (the user believes the traffic is encrypted).
fn tls_settings(
    enabled: bool,
    var: &dyn Fn(&str) -> Option<String>,
) -> Result<Option<TlsSettings>, ConfigError> {
    let read = |setting: &'static str| -> Result<Option<Vec<u8>>, ConfigError> {
        let Some(path) = var(setting) else { return Ok(None) };
        let path = path.trim();
        if !enabled {
            return Err(err(
                setting,
                "is set but the connection is not TLS: use a `rediss://` URL or `REDIS_TLS=true`",
            ));
        }
        // PEM files are small: a cap keeps a wrong path (`/dev/zero`) from eating memory.
        let mut pem = Vec::new();
        std::fs::File::open(path)
            .and_then(|f| {
                std::io::Read::read_to_end(&mut std::io::Read::take(f, MAX_PEM_BYTES + 1), &mut pem)
            })
            .map_err(|e| err(setting, format!("cannot read `{path}`: {e}")))?;
        if pem.len() as u64 > MAX_PEM_BYTES {
            return Err(err(setting, format!("`{path}` is larger than 1 MiB: not a certificate file")));
        }
        if !pem.windows(11).any(|w| w == b"-----BEGIN ") {
            return Err(err(setting, format!("`{path}` is not a PEM file")));
        }
        Ok(Some(pem))
    };
    let ca_pem = read("REDIS_TLS_CA_FILE")?;
    let client_pem = match (read("REDIS_TLS_CERT_FILE")?, read("REDIS_TLS_KEY_FILE")?) {
        (Some(cert), Some(key)) => Some((cert, key)),
        (None, None) => None,
        (Some(_), None) => return Err(err("REDIS_TLS_KEY_FILE", "is needed with `REDIS_TLS_CERT_FILE`")),
        (None, Some(_)) => return Err(err("REDIS_TLS_CERT_FILE", "is needed with `REDIS_TLS_KEY_FILE`")),
    };
    Ok(enabled.then_some(TlsSettings { ca_pem, client_pem }))
}

/// `ZIP_URL` with its pin and cap: https only unless `ZIP_ALLOW_HTTP=true`, `ZIP_SHA256`
/// required unless `ZIP_ALLOW_UNPINNED=true`.
fn zip_url(
    url: &str,
    handler: &str,
    var: &dyn Fn(&str) -> Option<String>,
) -> Result<CodeSource, ConfigError> {
    let url = url.trim().to_owned();
    let allow_http = flag("ZIP_ALLOW_HTTP", var("ZIP_ALLOW_HTTP"))?;
    if url.starts_with("http://") && !allow_http {
        return Err(err(
            "ZIP_URL",
            "plain http is refused (the code could be swapped in transit); use https or set `ZIP_ALLOW_HTTP=true`",
        ));
    }
    if !(url.starts_with("https://") || url.starts_with("http://")) {
        return Err(err("ZIP_URL", format!("`{url}` is not an https URL")));
    }
    let sha256 = match var("ZIP_SHA256") {
        Some(pin) => {
            let pin = pin.trim().to_ascii_lowercase();
            if pin.len() != 64 || !pin.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err(err("ZIP_SHA256", "must be 64 hexadecimal digits"));
            }
            Some(pin)
        }
        None if flag("ZIP_ALLOW_UNPINNED", var("ZIP_ALLOW_UNPINNED"))? => None,
        None => {
            return Err(err(
                "ZIP_SHA256",
                "is required with `ZIP_URL` so that only the expected code runs (set `ZIP_ALLOW_UNPINNED=true` to waive it)",
            ));
        }
    };
    let max_bytes = match var("ZIP_MAX_BYTES") {
        Some(m) => {
            m.trim().parse().map_err(|_| err("ZIP_MAX_BYTES", format!("`{m}` is not a number of bytes")))?
        }
        None => 64 * 1024 * 1024,
    };
    if !handler.contains('.') {
        return Err(err("HANDLER_FUNCTION", "code from a ZIP needs `package.module.function`"));
    }
    Ok(CodeSource::Url { url, sha256, max_bytes })
}

/// `redis://user:pass@host/` → `redis://host/`: the form that can be logged.
fn without_credentials(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else { return url.to_owned() };
    let authority_end = rest.find('/').unwrap_or(rest.len());
    let (authority, path) = rest.split_at(authority_end);
    match authority.rsplit_once('@') {
        Some((_, host)) => format!("{scheme}://{host}{path}"),
        None => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn settings(pairs: &[(&str, &str)]) -> Result<Settings, ConfigError> {
        let map: HashMap<String, String> =
            pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
        Settings::from_env(|k| map.get(k).cloned())
    }

    fn module() -> tempfile::NamedTempFile {
        tempfile::Builder::new().suffix(".py").tempfile().expect("temp module")
    }

    #[test]
    fn defaults_match_the_course_runtime_with_the_extension_defaults() {
        let m = module();
        let path = m.path().to_str().expect("utf-8");
        let s = settings(&[("PYFILE_PATH", path)]).expect("valid");
        assert_eq!(s.redis.url, "redis://localhost:6379/");
        assert_eq!(s.input_key, "metrics");
        assert_eq!(s.output_key, None);
        assert_eq!(s.period, Duration::from_secs(5));
        assert_eq!(s.trigger, Trigger::Poll);
        assert_eq!(s.handler, "handler");
        assert_eq!(s.handler_timeout, Duration::from_secs(60));
        assert!(s.allow_nan, "NaN is written as the course runtime wrote it");
        assert!(!settings(&[("PYFILE_PATH", path), ("JSON_ALLOW_NAN", "false")]).expect("valid").allow_nan);
    }

    #[test]
    fn interval_is_an_alias_and_periods_may_be_fractional() {
        let m = module();
        let path = m.path().to_str().expect("utf-8");
        let s = settings(&[("PYFILE_PATH", path), ("INTERVAL", "2")]).expect("valid");
        assert_eq!(s.period, Duration::from_secs(2));
        let s = settings(&[("PYFILE_PATH", path), ("INTERVAL", "2"), ("MONITORING_PERIOD", "0.25")])
            .expect("valid");
        assert_eq!(s.period, Duration::from_millis(250));
    }

    #[test]
    fn bad_settings_name_the_variable() {
        let m = module();
        let path = m.path().to_str().expect("utf-8");
        let cases = [
            (vec![("PYFILE_PATH", path), ("MONITORING_PERIOD", "soon")], "MONITORING_PERIOD"),
            (vec![("PYFILE_PATH", path), ("REDIS_PORT", "redis")], "REDIS_PORT"),
            (vec![("PYFILE_PATH", path), ("TRIGGER", "sometimes")], "TRIGGER"),
            (vec![("PYFILE_PATH", path), ("HANDLER_FUNCTION", "a-b")], "HANDLER_FUNCTION"),
            (vec![("PYFILE_PATH", "/nonexistent/x.py")], "PYFILE_PATH"),
            (vec![("PYFILE_PATH", path), ("JSON_ALLOW_NAN", "maybe")], "JSON_ALLOW_NAN"),
        ];
        for (pairs, setting) in cases {
            let e = settings(&pairs).expect_err(setting);
            assert_eq!(e.setting, setting, "{e}");
        }
    }

    #[test]
    fn passwords_never_show_in_debug_or_urls() {
        let m = module();
        let path = m.path().to_str().expect("utf-8");
        let s = settings(&[
            ("PYFILE_PATH", path),
            ("REDIS_URL", "redis://u:hunter2@db:6380/1"),
            ("REDIS_PASSWORD", "hunter2"),
        ])
        .expect("valid");
        assert_eq!(s.redis.url, "redis://db:6380/1");
        assert!(!format!("{s:?}").contains("hunter2"));
        let s =
            settings(&[("PYFILE_PATH", path), ("REDIS_URL", "redis://:p%40ss%3Aw%2Fd@db/")]).expect("valid");
        assert_eq!(s.redis.url, "redis://db/");
        let info =
            redis::IntoConnectionInfo::into_connection_info(s.redis.connect_url.as_str()).expect("parses");
        assert_eq!(info.redis_settings().password(), Some("p@ss:w/d"), "percent-decoded by the redis crate");
        assert!(!format!("{s:?}").contains("p%40ss"));
    }

    #[test]
    fn tls_is_opt_in_and_its_files_are_checked_at_start() {
        let m = module();
        let path = m.path().to_str().expect("utf-8");
        let mut ca = tempfile::NamedTempFile::new().expect("temp");
        std::io::Write::write_all(&mut ca, b"-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n")
            .expect("write");
        let ca_path = ca.path().to_str().expect("utf-8");

        let s = settings(&[("PYFILE_PATH", path), ("REDIS_URL", "rediss://u:pw@db:6380/2")]).expect("valid");
        assert_eq!(s.redis.url, "rediss://db:6380/2");
        assert!(s.redis.tls.as_ref().is_some_and(|t| t.ca_pem.is_none() && t.client_pem.is_none()));
        let s = settings(&[("PYFILE_PATH", path), ("REDIS_TLS", "true"), ("REDIS_TLS_CA_FILE", ca_path)])
            .expect("valid");
        assert_eq!(s.redis.url, "rediss://localhost:6379/");
        assert!(s.redis.tls.as_ref().is_some_and(|t| t.ca_pem.is_some()));
        assert!(settings(&[("PYFILE_PATH", path)]).expect("valid").redis.tls.is_none());

        let cases = [
            (vec![("REDIS_TLS_CA_FILE", ca_path)], "REDIS_TLS_CA_FILE"),
            (vec![("REDIS_TLS", "true"), ("REDIS_TLS_CA_FILE", "/nonexistent.pem")], "REDIS_TLS_CA_FILE"),
            (vec![("REDIS_TLS", "true"), ("REDIS_TLS_CA_FILE", path)], "REDIS_TLS_CA_FILE"),
            (vec![("REDIS_TLS", "true"), ("REDIS_TLS_CERT_FILE", ca_path)], "REDIS_TLS_KEY_FILE"),
            (vec![("REDIS_TLS", "yes"), ("REDIS_URL", "redis://db/")], "REDIS_TLS"),
            (vec![("REDIS_TLS", "true"), ("REDIS_TLS_CA_FILE", "/dev/zero")], "REDIS_TLS_CA_FILE"),
        ];
        for (mut pairs, setting) in cases {
            pairs.push(("PYFILE_PATH", path));
            let e = settings(&pairs).expect_err(setting);
            assert_eq!(e.setting, setting, "{e}");
        }
    }
}
