//! Resolution of plain scalars to null, booleans, integers, floats or strings.

use super::node::Value;

/// Which rules turn a plain scalar into a typed value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Schema {
    /// YAML 1.2 core schema: what editors and `yaml-language-server` assume.
    Core12,
    /// YAML 1.1 as read by the Kubernetes API machinery (go-yaml v2): `yes`/`no`/`on`/`off`
    /// are booleans, a leading `0` means octal.
    Kubernetes11,
}

/// Resolve a plain (unquoted) scalar.
pub fn resolve_plain(text: &str, schema: Schema) -> Value {
    match text {
        "" | "~" | "null" | "Null" | "NULL" => return Value::Null,
        "true" | "True" | "TRUE" => return Value::Bool(true),
        "false" | "False" | "FALSE" => return Value::Bool(false),
        _ => {}
    }
    if schema == Schema::Kubernetes11 {
        match text {
            "y" | "Y" | "yes" | "Yes" | "YES" | "on" | "On" | "ON" => return Value::Bool(true),
            "n" | "N" | "no" | "No" | "NO" | "off" | "Off" | "OFF" => return Value::Bool(false),
            _ => {}
        }
    }
    if let Some(v) = resolve_int(text, schema) {
        return v;
    }
    if let Some(f) = resolve_float(text, schema) {
        return Value::Float(f);
    }
    Value::Str(text.to_owned())
}

fn resolve_int(text: &str, schema: Schema) -> Option<Value> {
    let (neg, body) = match text.as_bytes().first()? {
        b'-' => (true, &text[1..]),
        b'+' => (false, &text[1..]),
        _ => (false, text),
    };
    let body_owned;
    let body = if schema == Schema::Kubernetes11 && body.contains('_') {
        body_owned = body.replace('_', "");
        body_owned.as_str()
    } else {
        body
    };
    let (radix, digits) = if let Some(h) = body.strip_prefix("0x") {
        (16, h)
    } else if let Some(o) = body.strip_prefix("0o") {
        // YAML 1.2 spells octal so; Kubernetes' reader (go-yaml with Go's `ParseInt(s, 0, 64)`)
        // takes it too, and refuses `0o17` where a string is required.
        (8, o)
    } else if let Some(b) = body.strip_prefix("0b") {
        if schema == Schema::Core12 {
            return None;
        }
        (2, b)
    } else if schema == Schema::Kubernetes11 && body.len() > 1 && body.starts_with('0') {
        (8, &body[1..])
    } else {
        (10, body)
    };
    if digits.is_empty() || !digits.chars().all(|c| c.is_digit(radix)) {
        return None;
    }
    let magnitude = i128::from_str_radix(digits, radix).ok()?;
    let signed = if neg { -magnitude } else { magnitude };
    match i64::try_from(signed) {
        Ok(i) => Some(Value::Int(i)),
        // Too big for an integer: Kubernetes would read a float, so do we.
        Err(_) => Some(Value::Float(signed as f64)),
    }
}

fn resolve_float(text: &str, schema: Schema) -> Option<f64> {
    match text {
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" => return Some(f64::INFINITY),
        "-.inf" | "-.Inf" | "-.INF" => return Some(f64::NEG_INFINITY),
        ".nan" | ".NaN" | ".NAN" => return Some(f64::NAN),
        _ => {}
    }
    let cleaned;
    let text = if schema == Schema::Kubernetes11 && text.contains('_') {
        cleaned = text.replace('_', "");
        cleaned.as_str()
    } else {
        text
    };
    let digits = text.strip_prefix(['-', '+']).unwrap_or(text);
    // A float needs a digit and only float characters; Rust's parser alone would accept `inf`.
    let well_formed = digits.chars().any(|c| c.is_ascii_digit())
        && digits.chars().all(|c| c.is_ascii_digit() || matches!(c, '.' | 'e' | 'E' | '-' | '+'))
        && (digits.contains('.') || digits.contains(['e', 'E']));
    if !well_formed {
        return None;
    }
    text.parse::<f64>().ok()
}

/// Whether a string must be quoted to read back as the same string under both schemas.
pub fn needs_quotes(s: &str) -> bool {
    if s.is_empty() || s.trim() != s {
        return true;
    }
    for schema in [Schema::Core12, Schema::Kubernetes11] {
        if !matches!(resolve_plain(s, schema), Value::Str(_)) {
            return true;
        }
    }
    let mut chars = s.chars();
    let first = chars.next().unwrap_or(' ');
    if !(first.is_ascii_alphanumeric() || matches!(first, '/' | '_' | '.')) {
        return true;
    }
    if s.contains(": ") || s.contains(" #") || s.ends_with(':') {
        return true;
    }
    // Conservative: anything beyond a safe set of characters is quoted.
    !s.chars().all(|c| {
        c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '/' | ':' | '@' | '+' | '=' | ' ')
    }) || (first.is_ascii_digit() && s.contains(':'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kubernetes_reads_yaml_11_booleans_and_octal() {
        assert_eq!(resolve_plain("yes", Schema::Kubernetes11), Value::Bool(true));
        assert_eq!(resolve_plain("Off", Schema::Kubernetes11), Value::Bool(false));
        assert_eq!(resolve_plain("012", Schema::Kubernetes11), Value::Int(10));
        assert_eq!(resolve_plain("yes", Schema::Core12), Value::Str("yes".into()));
        assert_eq!(resolve_plain("012", Schema::Core12), Value::Int(12));
        assert_eq!(resolve_plain("0o12", Schema::Core12), Value::Int(10));
        assert_eq!(resolve_plain("0o17", Schema::Kubernetes11), Value::Int(15));
    }

    #[test]
    fn numbers_and_strings() {
        assert_eq!(resolve_plain("-42", Schema::Core12), Value::Int(-42));
        assert_eq!(resolve_plain("0x1F", Schema::Core12), Value::Int(31));
        assert_eq!(resolve_plain("1.5", Schema::Core12), Value::Float(1.5));
        assert_eq!(resolve_plain("1e3", Schema::Core12), Value::Float(1000.0));
        assert_eq!(resolve_plain("inf", Schema::Core12), Value::Str("inf".into()));
        assert_eq!(resolve_plain("100m", Schema::Core12), Value::Str("100m".into()));
        assert_eq!(resolve_plain("~", Schema::Kubernetes11), Value::Null);
    }

    #[test]
    fn quoting_is_needed_exactly_for_ambiguous_text() {
        for s in ["yes", "on", "1", "012", "1.0", "null", "", " a", "a: b", "#x", "-x", "[a]", "1:20"] {
            assert!(needs_quotes(s), "{s:?} must be quoted");
        }
        for s in ["metrics", "100m", "300Mi", "serverless-redis", "http://x/y", "a.b_c"] {
            assert!(!needs_quotes(s), "{s:?} can stay plain");
        }
    }
}
