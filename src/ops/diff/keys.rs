//! Key-level differences between two documents (pack.json, values.yaml), as the paths of the
//! keys added, removed and changed. Mappings are compared key by key, lists index by index.

use serde::{Serialize, Serializer};
use serde_json::Value;

/// One step of a path: a mapping key or a list index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Segment {
    /// A mapping key.
    Key(String),
    /// A list index.
    Index(usize),
}

/// What happened to a key, a chart, a file or an image.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Change {
    /// Only the second side has it.
    Added,
    /// Only the first side has it.
    Removed,
    /// Both have it, with different content.
    Changed,
}

impl Change {
    /// The mark the text output puts before the entry.
    pub fn mark(self) -> char {
        match self {
            Change::Added => '+',
            Change::Removed => '-',
            Change::Changed => '~',
        }
    }
}

/// A key added, removed or changed.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct KeyChange {
    /// What happened.
    pub change: Change,
    /// Where: a JSON Pointer (RFC 6901) in JSON, a dotted path in text.
    #[serde(serialize_with = "serialize_pointer")]
    pub path: Vec<Segment>,
    /// The value before (removed and changed keys).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub from: Option<Value>,
    /// The value after (added and changed keys).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub to: Option<Value>,
}

fn serialize_pointer<S: Serializer>(path: &[Segment], s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&pointer(path))
}

/// The JSON Pointer of `path`: `/a/b~1c/0` (`~` is written `~0`, `/` is written `~1`).
pub fn pointer(path: &[Segment]) -> String {
    path.iter()
        .map(|segment| match segment {
            Segment::Key(k) => format!("/{}", k.replace('~', "~0").replace('/', "~1")),
            Segment::Index(i) => format!("/{i}"),
        })
        .collect()
}

/// The dotted path of `path` for people: `charts.web.replicaCount`, `images[1]`, and keys
/// that hold dots or brackets quoted: `labels."app.kubernetes.io/name"`.
pub fn dotted(path: &[Segment]) -> String {
    if path.is_empty() {
        return "(document)".into();
    }
    let mut out = String::new();
    for segment in path {
        match segment {
            Segment::Index(i) => out.push_str(&format!("[{i}]")),
            Segment::Key(k) => {
                if !out.is_empty() {
                    out.push('.');
                }
                let plain = !k.is_empty()
                    && !k
                        .chars()
                        .any(|c| matches!(c, '.' | '[' | ']' | '"' | '\'') || c.is_whitespace());
                if plain {
                    out.push_str(k);
                } else {
                    out.push_str(&Value::String(k.clone()).to_string());
                }
            }
        }
    }
    out
}

/// Every difference between `a` and `b`, in document order (keys of `a` first, then keys
/// only `b` has).
pub fn diff(a: &Value, b: &Value) -> Vec<KeyChange> {
    let mut out = Vec::new();
    walk(a, b, &mut Vec::new(), &mut out);
    out
}

fn walk(a: &Value, b: &Value, path: &mut Vec<Segment>, out: &mut Vec<KeyChange>) {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            for (key, av) in x {
                path.push(Segment::Key(key.clone()));
                match y.get(key) {
                    Some(bv) => walk(av, bv, path, out),
                    None => out.push(removed(path, av)),
                }
                path.pop();
            }
            for (key, bv) in y.iter().filter(|(k, _)| !x.contains_key(*k)) {
                path.push(Segment::Key(key.clone()));
                out.push(added(path, bv));
                path.pop();
            }
        }
        (Value::Array(x), Value::Array(y)) => {
            for i in 0..x.len().max(y.len()) {
                path.push(Segment::Index(i));
                match (x.get(i), y.get(i)) {
                    (Some(av), Some(bv)) => walk(av, bv, path, out),
                    (Some(av), None) => out.push(removed(path, av)),
                    (None, Some(bv)) => out.push(added(path, bv)),
                    (None, None) => {}
                }
                path.pop();
            }
        }
        _ if a == b => {}
        _ => out.push(KeyChange {
            change: Change::Changed,
            path: path.clone(),
            from: Some(a.clone()),
            to: Some(b.clone()),
        }),
    }
}

fn added(path: &[Segment], value: &Value) -> KeyChange {
    KeyChange {
        change: Change::Added,
        path: path.to_vec(),
        from: None,
        to: Some(value.clone()),
    }
}

fn removed(path: &[Segment], value: &Value) -> KeyChange {
    KeyChange {
        change: Change::Removed,
        path: path.to_vec(),
        from: Some(value.clone()),
        to: None,
    }
}

/// A YAML document as a JSON value: comments and anchors gone, merge keys (`<<`) applied,
/// tags dropped, non-string keys written as YAML writes them. An empty document is an empty
/// mapping.
pub fn yaml_to_json(text: &str) -> Result<Value, String> {
    let mut yaml: serde_norway::Value = serde_norway::from_str(text).map_err(|e| e.to_string())?;
    // Helm applies merge keys when it reads values; a file it accepts should read the same.
    let _ = yaml.apply_merge();
    Ok(match convert(yaml) {
        Value::Null => Value::Object(Default::default()),
        other => other,
    })
}

fn convert(yaml: serde_norway::Value) -> Value {
    use serde_norway::Value as Y;
    match yaml {
        Y::Null => Value::Null,
        Y::Bool(b) => Value::Bool(b),
        Y::Number(n) => {
            if let Some(i) = n.as_i64() {
                Value::from(i)
            } else if let Some(u) = n.as_u64() {
                Value::from(u)
            } else {
                n.as_f64()
                    .and_then(serde_json::Number::from_f64)
                    .map(Value::Number)
                    .unwrap_or_else(|| Value::String(n.to_string()))
            }
        }
        Y::String(s) => Value::String(s),
        Y::Sequence(items) => Value::Array(items.into_iter().map(convert).collect()),
        Y::Mapping(map) => Value::Object(
            map.into_iter()
                .map(|(k, v)| (key_text(k), convert(v)))
                .collect(),
        ),
        Y::Tagged(tagged) => convert(tagged.value),
    }
}

fn key_text(key: serde_norway::Value) -> String {
    match key {
        serde_norway::Value::String(s) => s,
        other => serde_norway::to_string(&other)
            .map(|s| s.trim_end().to_string())
            .unwrap_or_default(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reports_added_removed_and_changed_keys_with_their_paths() {
        let a = json!({"x": 1, "m": {"keep": true, "gone": "a"}, "list": [1, 2, 3]});
        let b = json!({"x": 2, "m": {"keep": true, "new": {"deep": 1}}, "list": [1, 5]});
        let changes = diff(&a, &b);
        let seen: Vec<(Change, String)> = changes
            .iter()
            .map(|c| (c.change, dotted(&c.path)))
            .collect();
        assert_eq!(
            seen,
            vec![
                (Change::Changed, "x".into()),
                (Change::Removed, "m.gone".into()),
                (Change::Added, "m.new".into()),
                (Change::Changed, "list[1]".into()),
                (Change::Removed, "list[2]".into()),
            ]
        );
        assert_eq!(changes[2].to, Some(json!({"deep": 1})));
        assert!(diff(&a, &a).is_empty());
    }

    #[test]
    fn keys_with_dots_and_slashes_stay_unambiguous() {
        let path = vec![
            Segment::Key("labels".into()),
            Segment::Key("app.kubernetes.io/name".into()),
            Segment::Key("a~b".into()),
            Segment::Index(0),
        ];
        assert_eq!(pointer(&path), "/labels/app.kubernetes.io~1name/a~0b/0");
        assert_eq!(dotted(&path), "labels.\"app.kubernetes.io/name\".a~b[0]");
    }

    #[test]
    fn yaml_comments_are_ignored_and_scalars_typed() {
        let a = yaml_to_json("# c\nx: 1 # one\ny: [a, b]\n1: one\n").unwrap();
        let b = yaml_to_json("x: 1\n# other comment\ny:\n  - a\n  - b\n1: one\n").unwrap();
        assert_eq!(a, b);
        assert_eq!(a["1"], json!("one"));
        assert_eq!(yaml_to_json("").unwrap(), json!({}));
        assert!(yaml_to_json("a: [").is_err());
    }
}
