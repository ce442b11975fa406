//! The generator and the runtime agree: the environment a rendered Deployment gives its
//! container (ConfigMap `runtime-config`, literal `env`, references) is accepted by
//! `fnops-runtime`'s own settings parser, and every file path in it lies under a volume mount
//! that provides that file.

mod common;

use std::collections::HashMap;

use common::{fnops, repo};
use fnops::yaml::{Schema, parse_stream};
use fnops_runtime::config::{Settings, Trigger};
use serde_json::Value;

/// The objects `fnops render <case> --stdout` prints.
fn rendered(case: &str) -> Vec<Value> {
    let out = fnops(&repo().join("tests/cases"), &["render", case, "--stdout"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    parse_stream(&out.stdout, 0, Schema::Kubernetes11)
        .expect("rendered YAML")
        .iter()
        .map(|n| n.to_json())
        .collect()
}

fn find<'a>(objects: &'a [Value], kind: &str, name: Option<&str>) -> &'a Value {
    objects
        .iter()
        .find(|o| o["kind"] == kind && name.is_none_or(|n| o["metadata"]["name"] == n))
        .unwrap_or_else(|| panic!("no {kind} {name:?} rendered"))
}

/// The file a mounted volume provides at `path`, if any: (volume, key or path inside it).
fn provided_by(pod: &Value, path: &str) -> Option<(String, String)> {
    let container = &pod["containers"][0];
    container["volumeMounts"].as_array()?.iter().find_map(|mount| {
        let relative = path.strip_prefix(mount["mountPath"].as_str()?)?.strip_prefix('/')?;
        let name = mount["name"].as_str()?;
        let volume = pod["volumes"].as_array()?.iter().find(|v| v["name"] == name)?;
        let source = if volume["secret"].is_object() { &volume["secret"] } else { &volume["configMap"] };
        let items = source["items"].as_array()?;
        items.iter().any(|i| i["path"] == relative).then(|| (name.to_owned(), relative.to_owned()))
    })
}

#[test]
fn the_rendered_environment_is_what_the_runtime_reads() {
    let objects = rendered("ok_package");
    let deployment = find(&objects, "Deployment", None);
    let pod = &deployment["spec"]["template"]["spec"];
    let container = &pod["containers"][0];
    let mut env: HashMap<String, String> = HashMap::new();
    assert_eq!(container["envFrom"][0]["configMapRef"]["name"], "runtime-config");
    let config = find(&objects, "ConfigMap", Some("runtime-config"));
    for (key, value) in config["data"].as_object().expect("data") {
        env.insert(key.clone(), value.as_str().expect("ConfigMap data are strings").to_owned());
    }
    for var in container["env"].as_array().expect("env") {
        let name = var["name"].as_str().expect("name").to_owned();
        let value = match (&var["value"], &var["valueFrom"]) {
            (Value::String(v), _) => v.clone(),
            (_, from) if from["configMapKeyRef"].is_object() => {
                let cm = from["configMapKeyRef"]["name"].as_str().expect("name");
                let key = from["configMapKeyRef"]["key"].as_str().expect("key");
                find(&objects, "ConfigMap", Some(cm))["data"][key]
                    .as_str()
                    .expect("referenced key")
                    .to_owned()
            }
            (_, from) if from["secretKeyRef"].is_object() => "secret-from-the-cluster".to_owned(),
            other => panic!("unexpected env source for {name}: {other:?}"),
        };
        env.insert(name, value);
    }

    // Every path setting names a file that a volume of the pod provides; the runtime reads
    // them, so stand them up in a scratch directory for the parser.
    let scratch = tempfile::tempdir().expect("temp dir");
    let mut remapped = env.clone();
    let paths: Vec<&String> = env.keys().filter(|k| k.ends_with("_FILE") || k.ends_with("_PATH")).collect();
    assert!(paths.len() >= 4, "ZIP_PATH and the three TLS files: {paths:?}");
    for key in paths {
        let path = &env[key];
        assert!(provided_by(pod, path).is_some(), "`{key}` = `{path}` is not provided by any volume");
        let local = scratch.path().join(key);
        std::fs::write(&local, "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n")
            .expect("write");
        remapped.insert(key.clone(), local.display().to_string());
    }

    let settings = Settings::from_env(|k| remapped.get(k).cloned())
        .expect("the runtime accepts the rendered environment");
    assert!(settings.redis.url.starts_with("rediss://redis:6380/"), "{}", settings.redis.url);
    let tls = settings.redis.tls.expect("TLS on");
    assert!(tls.ca_pem.is_some() && tls.client_pem.is_some());
    assert_eq!(settings.redis.password.as_deref(), Some("secret-from-the-cluster"));
    assert_eq!(settings.output_key.as_deref(), Some("pkg-out"));
    assert_eq!(settings.trigger, Trigger::Notify);
    assert_eq!(settings.handler, "mypkg.main.handler");
    assert_eq!(settings.period, std::time::Duration::from_millis(500));
    assert_eq!(settings.handler_timeout, std::time::Duration::from_secs(30));
    assert_eq!(settings.metrics_port, 8080);
    let probe_port = container["ports"][0]["containerPort"].as_u64().expect("metrics port");
    assert_eq!(probe_port, u64::from(settings.metrics_port), "the probes hit the runtime's HTTP port");
}

#[test]
fn the_minimal_project_needs_no_tls() {
    let objects = rendered("ok_minimal");
    let config = find(&objects, "ConfigMap", Some("runtime-config"));
    assert!(config["data"].get("REDIS_TLS").is_none());
    let pod = &find(&objects, "Deployment", None)["spec"]["template"]["spec"];
    assert!(!pod["volumes"].as_array().expect("volumes").iter().any(|v| v["secret"].is_object()));
}
