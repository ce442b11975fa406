//! The name rules the Kubernetes API server enforces (apimachinery `validation`), shared by the
//! project checks and the manifest validator. Each returns why a name is refused.

/// DNS-1123 label: container names, namespaces, most names that become DNS labels.
pub fn dns1123_label(s: &str) -> Result<(), String> {
    if s.is_empty() {
        return Err("must not be empty".into());
    }
    if s.len() > 63 {
        return Err(format!("is {} characters long, at most 63 are allowed", s.len()));
    }
    label_chars(s)
}

fn label_chars(s: &str) -> Result<(), String> {
    if !s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-') {
        return Err("may only hold lowercase letters, digits and `-`".into());
    }
    if s.starts_with('-') || s.ends_with('-') {
        return Err("must start and end with a letter or digit".into());
    }
    Ok(())
}

/// DNS-1123 subdomain: names of ConfigMaps, Deployments, Secrets.
pub fn dns1123_subdomain(s: &str) -> Result<(), String> {
    if s.is_empty() {
        return Err("must not be empty".into());
    }
    if s.len() > 253 {
        return Err(format!("is {} characters long, at most 253 are allowed", s.len()));
    }
    for part in s.split('.') {
        if part.is_empty() {
            return Err("must not hold empty parts between dots".into());
        }
        label_chars(part).map_err(|e| format!("{e} (dots separate parts)"))?;
    }
    Ok(())
}

/// Label value: empty, or up to 63 of `[A-Za-z0-9_.-]`, alphanumeric at both ends.
pub fn label_value(s: &str) -> Result<(), String> {
    if s.is_empty() {
        return Ok(());
    }
    if s.len() > 63 {
        return Err(format!("is {} characters long, at most 63 are allowed", s.len()));
    }
    name_part(s)
}

fn name_part(s: &str) -> Result<(), String> {
    if !s.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.')) {
        return Err("may only hold letters, digits, `-`, `_` and `.`".into());
    }
    let ends_ok = |b: Option<u8>| b.is_some_and(|b| b.is_ascii_alphanumeric());
    if !ends_ok(s.bytes().next()) || !ends_ok(s.bytes().last()) {
        return Err("must start and end with a letter or digit".into());
    }
    Ok(())
}

/// Label and annotation keys: an optional DNS subdomain prefix and `/`, then a name of at most
/// 63 characters.
pub fn qualified_name(s: &str) -> Result<(), String> {
    let (prefix, name) = match s.split_once('/') {
        Some((p, n)) => (Some(p), n),
        None => (None, s),
    };
    if let Some(prefix) = prefix {
        dns1123_subdomain(prefix).map_err(|e| format!("has a prefix that {e}"))?;
    }
    if name.is_empty() {
        return Err("must have a name after the prefix".into());
    }
    if name.len() > 63 {
        return Err(format!("has a name of {} characters, at most 63 are allowed", name.len()));
    }
    name_part(name)
}

/// ConfigMap and Secret keys.
pub fn config_key(s: &str) -> Result<(), String> {
    if s.is_empty() || s.len() > 253 {
        return Err("must be 1 to 253 characters long".into());
    }
    if !s.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.')) {
        return Err("may only hold letters, digits, `-`, `_` and `.`".into());
    }
    if s == "." || s == ".." {
        return Err("must not be `.` or `..`".into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert!(dns1123_label("serverless-redis").is_ok());
        assert!(dns1123_label("Serverless").is_err());
        assert!(dns1123_label(&"a".repeat(64)).is_err());
        assert!(dns1123_subdomain("a.b-c").is_ok());
        assert!(dns1123_subdomain("a..b").is_err());
        assert!(label_value("").is_ok());
        assert!(label_value("A_b.c").is_ok());
        assert!(label_value("-a").is_err());
        assert!(qualified_name("app.kubernetes.io/name").is_ok());
        assert!(qualified_name("Bad_Prefix/x").is_err());
        assert!(config_key("REDIS_OUTPUT_KEY").is_ok());
        assert!(config_key("a/b").is_err());
    }
}
