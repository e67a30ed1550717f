//! Compresses the widget's files ahead of time, at the highest levels, so the server sends them
//! as they are: Brotli at quality 11 and gzip through Zopfli (the densest gzip there is, read
//! by every gzip client). Compressing at those levels takes seconds a file, far too long for
//! a response, and a first visit is mostly these bytes.
//!
//! Each file lands in `OUT_DIR/<group>/<name>` with `.br` and `.gz` beside it; the server's
//! `widget` module includes the three. The groups are the widget's own scripts (`widget/`),
//! the JavaScript SDK's (`sdk/`), and the player's wasm package (`pkg/`,
//! bindings/wasm/js/pkg-player, built by scripts/build-wasm.sh: the SDK's core with only the
//! exports the widget's player calls).
//!
//! Without the wasm package the server still builds and runs; the widget's player then
//! reports that its decryption module is missing. Cargo re-runs a build script whenever a path
//! it watches is missing, so this watches the package's two files when they exist, and
//! otherwise only the folder the package will appear in: a server built without the wasm is
//! not rebuilt on every `cargo build`, and one built with it is rebuilt only when the module
//! or its glue changes.
use std::path::{Path, PathBuf};

fn main() {
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR for build scripts"));
    for (group, folder) in [("widget", "../widget/src"), ("sdk", "../bindings/wasm/js/src")] {
        println!("cargo::rerun-if-changed={folder}");
        let mut files: Vec<PathBuf> = std::fs::read_dir(folder)
            .unwrap_or_else(|e| panic!("{folder}: {e}"))
            .map(|entry| entry.unwrap_or_else(|e| panic!("{folder}: {e}")).path())
            .filter(|path| path.is_file())
            .collect();
        files.sort();
        for file in files {
            compress(&file, &out.join(group));
        }
    }

    let js = Path::new("../bindings/wasm/js");
    let pkg = js.join("pkg-player");
    let (glue, wasm) = (pkg.join("fount_wasm.js"), pkg.join("fount_wasm_bg.wasm"));
    println!("cargo::rustc-check-cfg=cfg(fount_widget_wasm)");
    if glue.is_file() && wasm.is_file() {
        println!("cargo::rerun-if-changed={}", glue.display());
        println!("cargo::rerun-if-changed={}", wasm.display());
        println!("cargo::rustc-cfg=fount_widget_wasm");
        compress(&glue, &out.join("pkg"));
        compress(&wasm, &out.join("pkg"));
    } else {
        println!("cargo::rerun-if-changed={}", js.display());
    }
}

/// Writes `file` into `into` as it is, and compressed as `.br` and `.gz`.
fn compress(file: &Path, into: &Path) {
    let fail = |what: &str, e: std::io::Error| -> ! { panic!("{what} {}: {e}", file.display()) };
    let bytes = std::fs::read(file).unwrap_or_else(|e| fail("read", e));
    std::fs::create_dir_all(into).unwrap_or_else(|e| fail("make the folder for", e));
    let name = file.file_name().unwrap_or_else(|| panic!("{} has no file name", file.display()));
    let target = into.join(name);
    let write = |suffix: &str, body: &[u8]| {
        let mut path = target.clone().into_os_string();
        path.push(suffix);
        std::fs::write(&path, body).unwrap_or_else(|e| fail("write", e));
    };
    write("", &bytes);

    let params = brotli::enc::BrotliEncoderParams {
        quality: 11,
        // The largest standard window: the whole of any file here.
        lgwin: 24,
        size_hint: bytes.len(),
        ..Default::default()
    };
    let mut br = Vec::new();
    brotli::BrotliCompress(&mut &bytes[..], &mut br, &params).unwrap_or_else(|e| fail("brotli", e));
    write(".br", &br);

    let mut gz = Vec::new();
    zopfli::compress(zopfli::Options::default(), zopfli::Format::Gzip, &bytes[..], &mut gz)
        .unwrap_or_else(|e| fail("gzip", e));
    write(".gz", &gz);
}
