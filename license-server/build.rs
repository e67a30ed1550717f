//! Embeds the player's wasm (bindings/wasm/js/pkg-player, built by scripts/build-wasm.sh: the
//! SDK's core with only the exports the widget's player calls) into the server when it has
//! been built. Without it the server still builds and
//! runs; the widget's player then reports that its decryption module is missing.
//!
//! Cargo re-runs a build script whenever a path it watches is missing, so this watches the
//! two files of the package when they exist, and otherwise only the folder the package will
//! appear in: a server built without the wasm is not rebuilt on every `cargo build`, and one
//! built with it is rebuilt only when the module or its glue changes.
use std::path::Path;

fn main() {
    let js = Path::new("../bindings/wasm/js");
    let pkg = js.join("pkg-player");
    let (glue, wasm) = (pkg.join("fount_wasm.js"), pkg.join("fount_wasm_bg.wasm"));
    println!("cargo::rustc-check-cfg=cfg(fount_widget_wasm)");
    match (glue.canonicalize(), wasm.canonicalize()) {
        (Ok(glue_path), Ok(wasm_path)) => {
            println!("cargo::rerun-if-changed={}", glue.display());
            println!("cargo::rerun-if-changed={}", wasm.display());
            println!("cargo::rustc-cfg=fount_widget_wasm");
            println!("cargo::rustc-env=FOUNT_WASM_JS={}", glue_path.display());
            println!("cargo::rustc-env=FOUNT_WASM_BIN={}", wasm_path.display());
        }
        _ => println!("cargo::rerun-if-changed={}", js.display()),
    }
}
