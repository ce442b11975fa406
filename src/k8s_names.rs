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

/// DNS-1035 label: Service names (a letter first, so the name is a valid DNS host label).
pub fn dns1035_label(s: &str) -> Result<(), String> {
    dns1123_label(s)?;
    if !s.starts_with(|c: char| c.is_ascii_lowercase()) {
        return Err("must start with a lowercase letter".into());
    }
    Ok(())
}

/// IANA service name: container port names (at most 15 of `[a-z0-9-]`, a letter somewhere,
/// no `-` at either end and no `--`).
pub fn iana_service_name(s: &str) -> Result<(), String> {
    if s.is_empty() || s.len() > 15 {
        return Err(format!("is {} characters long, 1 to 15 are allowed", s.len()));
    }
    if !s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-') {
        return Err("may only hold lowercase letters, digits and `-`".into());
    }
    if !s.bytes().any(|b| b.is_ascii_lowercase()) {
        return Err("must hold a letter".into());
    }
    if s.starts_with('-') || s.ends_with('-') || s.contains("--") {
        return Err("may not start or end with `-` or hold `--`".into());
    }
    Ok(())
}

/// The value of a Kubernetes quantity (`100m` is 0.1, `1Ki` is 1024), or why it does not
/// parse: `<digits>[.<digits>]` with an optional sign, then a binary (`Ki`...`Ei`) or decimal
/// (`n`, `u`, `m`, `k`, `M`...`E`) suffix or an exponent (`e3`, `E-2`).
pub fn quantity(s: &str) -> Result<f64, String> {
    let bad = || format!("`{s}` is not a quantity");
    let (sign, body) = match s.as_bytes().first() {
        Some(b'-') => (-1.0, &s[1..]),
        Some(b'+') => (1.0, &s[1..]),
        _ => (1.0, s),
    };
    let number_end = body.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(body.len());
    let (number, suffix) = body.split_at(number_end);
    if number.is_empty() || number == "." || number.matches('.').count() > 1 {
        return Err(bad());
    }
    let value: f64 = number.parse().map_err(|_| bad())?;
    let scale = match suffix {
        "" => 1.0,
        "n" => 1e-9,
        "u" => 1e-6,
        "m" => 1e-3,
        "k" => 1e3,
        "M" => 1e6,
        "G" => 1e9,
        "T" => 1e12,
        "P" => 1e15,
        "E" => 1e18,
        "Ki" => 1024.0,
        "Mi" => 1024f64.powi(2),
        "Gi" => 1024f64.powi(3),
        "Ti" => 1024f64.powi(4),
        "Pi" => 1024f64.powi(5),
        "Ei" => 1024f64.powi(6),
        exp if exp.starts_with(['e', 'E']) => {
            let digits = &exp[1..];
            let unsigned = digits.strip_prefix(['+', '-']).unwrap_or(digits);
            if unsigned.is_empty() || !unsigned.bytes().all(|b| b.is_ascii_digit()) {
                return Err(bad());
            }
            10f64.powi(digits.parse::<i32>().map_err(|_| bad())?)
        }
        _ => {
            return Err(format!(
                "`{s}` is not a quantity: `{suffix}` is not a suffix (`Ki`, `Mi`, `Gi`, `m`, `k`, `M`, `G`...)"
            ));
        }
    };
    Ok(sign * value * scale)
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
        assert!(dns1035_label("redis").is_ok());
        assert!(dns1035_label("1redis").is_err());
        assert!(iana_service_name("metrics").is_ok());
        assert!(iana_service_name("a-very-long-port-name").is_err());
        assert!(iana_service_name("8080").is_err());
    }

    #[test]
    fn quantities() {
        assert_eq!(quantity("100m"), Ok(0.1));
        assert_eq!(quantity("1Ki"), Ok(1024.0));
        assert_eq!(quantity("1e3"), Ok(1000.0));
        assert_eq!(quantity("300Mi"), Ok(300.0 * 1024.0 * 1024.0));
        assert!(quantity("300MiB").is_err());
        assert!(quantity("1.5.0").is_err());
        assert!(quantity("").is_err());
    }
}
