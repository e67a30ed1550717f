//! Manifests against the official Readium Web Publication Manifest JSON Schema
//! (`tests/schemas/readium`, unmodified, with its license), resolved offline by `$id`, plus
//! the audiobook profile's prose rules the schema cannot carry.

use std::collections::HashMap;
use std::path::Path;
use std::sync::OnceLock;

use serde_json::Value;

struct Offline(HashMap<String, Value>);

impl jsonschema::Retrieve for Offline {
    fn retrieve(&self, uri: &jsonschema::Uri<String>) -> Result<Value, Box<dyn std::error::Error + Send + Sync>> {
        self.0.get(uri.as_str()).cloned().ok_or_else(|| format!("{uri} is not among the Readium schemas").into())
    }
}

fn schemas(dir: &Path, into: &mut HashMap<String, Value>) {
    for entry in std::fs::read_dir(dir).expect("schema folder") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            schemas(&path, into);
        } else if path.to_string_lossy().ends_with(".schema.json") {
            let schema: Value = serde_json::from_slice(&std::fs::read(&path).expect("read")).expect("JSON");
            if let Some(id) = schema["$id"].as_str() {
                into.insert(id.to_owned(), schema);
            }
        }
    }
}

fn validator() -> &'static jsonschema::Validator {
    static VALIDATOR: OnceLock<jsonschema::Validator> = OnceLock::new();
    VALIDATOR.get_or_init(|| {
        let mut all = HashMap::new();
        schemas(&Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/schemas/readium"), &mut all);
        let root = all["https://readium.org/webpub-manifest/schema/publication.schema.json"].clone();
        jsonschema::options()
            .with_draft(jsonschema::Draft::Draft7)
            .should_validate_formats(true)
            .with_retriever(Offline(all))
            .build(&root)
            .expect("the Readium schema compiles")
    })
}

/// Asserts `manifest` is a valid Readium Web Publication Manifest and follows the audiobook
/// profile (audio reading order, each item with a type and a duration).
pub fn assert_valid_manifest(manifest: &Value) {
    let errors: Vec<String> =
        validator().iter_errors(manifest).map(|e| format!("{} at {}", e, e.instance_path())).collect();
    assert!(errors.is_empty(), "not a valid Readium manifest: {errors:#?}\n{manifest:#}");
    assert_eq!(manifest["metadata"]["conformsTo"], "https://readium.org/webpub-manifest/profiles/audiobook");
    for item in manifest["readingOrder"].as_array().expect("readingOrder") {
        assert!(item["type"].as_str().is_some_and(|t| t.starts_with("audio/")), "{item}");
        assert!(item["duration"].as_f64().is_some_and(|d| d > 0.0), "{item}");
    }
    for link in manifest["resources"].as_array().into_iter().flatten() {
        assert!(link["type"].is_string(), "a resource without a type: {link}");
    }
}

/// The validator itself: what it refuses is what Readium's schema refuses.
#[test]
fn the_schema_refuses_what_it_should() {
    let good = serde_json::json!({
        "@context": "https://readium.org/webpub-manifest/context.jsonld",
        "metadata": {"title": "T", "conformsTo": "https://readium.org/webpub-manifest/profiles/audiobook",
                     "identifier": "urn:uuid:6f1c9f4e-3b1a-4d7e-9a6b-1c2d3e4f5a6b", "language": "en"},
        "links": [{"href": "manifest.json", "rel": "self", "type": "application/audiobook+json"}],
        "readingOrder": [{"href": "t.fsa", "type": "audio/mpeg", "duration": 1.5}],
        "resources": [{"href": "c.jpg", "rel": "cover", "type": "image/jpeg"}],
    });
    assert!(validator().is_valid(&good));
    let mut no_type = good.clone();
    no_type["resources"][0].as_object_mut().unwrap().remove("type");
    assert!(!validator().is_valid(&no_type));
    let mut bad_language = good.clone();
    bad_language["metadata"]["language"] = "a".into();
    assert!(!validator().is_valid(&bad_language));
    let mut no_title = good;
    no_title["metadata"].as_object_mut().unwrap().remove("title");
    assert!(!validator().is_valid(&no_title));
}
