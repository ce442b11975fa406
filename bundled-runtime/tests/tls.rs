//! `rediss://`: the runtime talks TLS to a real redis-server (its `--tls-port`), verifies the
//! server's certificate against `REDIS_TLS_CA_FILE`, and presents a client certificate when the
//! server asks for one. Certificates are made for the test by the `openssl` command.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use common::{RedisServer, Runtime, base_env, free_port, handlers_dir, wait_until};

const LONG: Duration = Duration::from_secs(15);

fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("openssl is installed (.ci/run installs it)");
    assert!(out.status.success(), "openssl {args:?}: {}", String::from_utf8_lossy(&out.stderr));
}

/// A CA, a server certificate for 127.0.0.1 and a client certificate, all signed by the CA.
fn certificates(dir: &Path) {
    let ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
    let mut ca = vec!["req", "-x509", "-days", "2", "-subj", "/CN=fnops test CA", "-keyout", "ca.key"];
    ca.extend(ec);
    ca.extend(["-out", "ca.crt"]);
    openssl(dir, &ca);
    std::fs::write(dir.join("server.ext"), "subjectAltName=IP:127.0.0.1,DNS:localhost\n").expect("ext");
    std::fs::write(dir.join("client.ext"), "extendedKeyUsage=clientAuth\n").expect("ext");
    for name in ["server", "client"] {
        let (key, csr, crt, ext) =
            (format!("{name}.key"), format!("{name}.csr"), format!("{name}.crt"), format!("{name}.ext"));
        let subject = format!("/CN={name}");
        let mut req = vec!["req", "-subj", subject.as_str(), "-keyout", key.as_str()];
        req.extend(ec);
        req.extend(["-out", csr.as_str()]);
        openssl(dir, &req);
        openssl(
            dir,
            &[
                "x509",
                "-req",
                "-days",
                "2",
                "-in",
                &csr,
                "-CA",
                "ca.crt",
                "-CAkey",
                "ca.key",
                "-CAcreateserial",
                "-extfile",
                &ext,
                "-out",
                &crt,
            ],
        );
    }
}

struct TlsRedis {
    server: RedisServer,
    tls_port: u16,
    dir: tempfile::TempDir,
}

/// A server with a plain port (for the test's own reads and writes) and a TLS port that
/// requires client certificates.
fn tls_redis() -> TlsRedis {
    let dir = tempfile::tempdir().expect("temp dir");
    certificates(dir.path());
    let tls_port = free_port();
    let file = |name: &str| dir.path().join(name).display().to_string();
    let (port, cert, key, ca) =
        (tls_port.to_string(), file("server.crt"), file("server.key"), file("ca.crt"));
    let server = RedisServer::start_with(&[
        "--tls-port",
        &port,
        "--tls-cert-file",
        &cert,
        "--tls-key-file",
        &key,
        "--tls-ca-cert-file",
        &ca,
        "--tls-auth-clients",
        "yes",
    ]);
    TlsRedis { server, tls_port, dir }
}

impl TlsRedis {
    fn path(&self, name: &str) -> String {
        self.dir.path().join(name).display().to_string()
    }

    fn runtime(&self, extra: &[(&'static str, String)]) -> Runtime {
        let module: PathBuf = handlers_dir().join("counting.py");
        let mut env = base_env(&self.server, &module);
        env.retain(|(k, _)| !matches!(*k, "REDIS_HOST" | "REDIS_PORT"));
        env.push(("REDIS_URL", format!("rediss://127.0.0.1:{}/", self.tls_port)));
        env.extend(extra.iter().cloned());
        let rt = Runtime::start(&env);
        rt.wait_log("worker ready", LONG);
        rt
    }
}

#[test]
fn rediss_verifies_the_server_and_presents_the_client_certificate() {
    let redis = tls_redis();
    redis.server.set("metrics", r#"{"seq": 1}"#);
    let rt = redis.runtime(&[
        ("REDIS_TLS_CA_FILE", redis.path("ca.crt")),
        ("REDIS_TLS_CERT_FILE", redis.path("client.crt")),
        ("REDIS_TLS_KEY_FILE", redis.path("client.key")),
    ]);
    wait_until(LONG, "an output written over TLS", || redis.server.get("out").is_some());
    let out: serde_json::Value =
        serde_json::from_str(&redis.server.get("out").expect("output")).expect("JSON output");
    assert_eq!(out["seq"], 1);
    assert!(rt.log().contains("rediss://127.0.0.1"), "{}", rt.log());
    assert!(!rt.log().contains("unreachable"), "{}", rt.log());
}

#[test]
fn an_unknown_server_certificate_or_a_missing_client_certificate_is_refused() {
    let redis = tls_redis();
    redis.server.set("metrics", r#"{"seq": 1}"#);
    // No CA file: the test CA is not among the system's roots, so the handshake must fail.
    let unverified = redis.runtime(&[
        ("REDIS_TLS_CERT_FILE", redis.path("client.crt")),
        ("REDIS_TLS_KEY_FILE", redis.path("client.key")),
    ]);
    // The right CA but no client certificate: the server must refuse it.
    let anonymous = redis.runtime(&[("REDIS_TLS_CA_FILE", redis.path("ca.crt"))]);
    for rt in [&unverified, &anonymous] {
        rt.wait_log("redis is unreachable", LONG);
    }
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(redis.server.get("out"), None, "nothing may be written without a verified TLS session");
    let log = unverified.log();
    assert!(log.to_lowercase().contains("certificate"), "the cause is named:\n{log}");
}
