//! The OpenAPI 3.1 description of every function (`functions/openapi.json`), kept in step with
//! the registry by the tests below.

/// The document, for hosts or tools that want to serve it.
pub const DOCUMENT: &str = include_str!("../openapi.json");

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use serde_json::Value;

    use super::DOCUMENT;
    use crate::NAMES;

    fn document() -> Value {
        serde_json::from_str(DOCUMENT).expect("openapi.json is JSON")
    }

    #[test]
    fn the_document_is_openapi_3_1() {
        let version = document()["openapi"].as_str().unwrap().to_owned();
        assert!(version.starts_with("3.1."), "{version}");
    }

    #[test]
    fn every_registered_function_is_described_and_every_described_path_is_registered() {
        let described: BTreeSet<String> =
            document()["paths"].as_object().unwrap().keys().cloned().collect();
        let registered: BTreeSet<String> =
            NAMES.iter().map(|name| format!("/functions/v1/{name}")).collect();
        assert_eq!(described, registered);
    }

    #[test]
    fn every_operation_documents_its_responses_and_every_reference_resolves() {
        let document = document();
        for (path, operations) in document["paths"].as_object().unwrap() {
            for (method, operation) in operations.as_object().unwrap() {
                let responses = operation["responses"].as_object();
                let succeeds =
                    responses.is_some_and(|r| r.keys().any(|code| code.starts_with('2')));
                assert!(succeeds, "{method} {path} documents no success");
            }
        }
        let mut references = Vec::new();
        collect_references(&document, &mut references);
        assert!(!references.is_empty());
        for reference in references {
            let pointer = reference.strip_prefix('#').expect("local references only");
            assert!(document.pointer(pointer).is_some(), "{reference} does not resolve");
        }
    }

    fn collect_references(value: &Value, out: &mut Vec<String>) {
        match value {
            Value::Object(map) => {
                if let Some(Value::String(reference)) = map.get("$ref") {
                    out.push(reference.clone());
                }
                map.values().for_each(|v| collect_references(v, out));
            }
            Value::Array(items) => items.iter().for_each(|v| collect_references(v, out)),
            _ => {}
        }
    }
}
