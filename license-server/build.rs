//! Embeds the wasm SDK (bindings/wasm/js/pkg, built by scripts/build-wasm.sh) into the server
//! when it has been built, for the widget's player. Without it the server still builds and
//! runs; the widget's player then reports that its decryption module is missing.
use std::path::Path;

fn main() {
    let pkg = Path::new("../bindings/wasm/js/pkg");
    println!("cargo::rustc-check-cfg=cfg(fount_widget_wasm)");
    println!("cargo::rerun-if-changed={}", pkg.display());
    let (js, wasm) = (pkg.join("fount_wasm.js"), pkg.join("fount_wasm_bg.wasm"));
    println!("cargo::rerun-if-changed={}", js.display());
    println!("cargo::rerun-if-changed={}", wasm.display());
    if let (Ok(js), Ok(wasm)) = (js.canonicalize(), wasm.canonicalize()) {
        println!("cargo::rustc-cfg=fount_widget_wasm");
        println!("cargo::rustc-env=FOUNT_WASM_JS={}", js.display());
        println!("cargo::rustc-env=FOUNT_WASM_BIN={}", wasm.display());
    }
}
