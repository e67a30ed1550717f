//! Compresses the widget's files ahead of time, at the highest levels, so the server sends them
//! as they are: Brotli at quality 11 and gzip through Zopfli (the densest gzip there is, read
//! by every gzip client). Compressing at those levels takes seconds a file, far too long for
//! a response, and a first visit is mostly these bytes.
//!
//! Each file lands in `OUT_DIR/<group>/<name>` with `.br` and `.gz` beside it; the server's
//! `widget` module includes the three. The groups are the widget's own scripts and styles
//! (`widget/`), the JavaScript SDK (`sdk/`: its modules bundled with the wasm's glue into
//! `index.js`, and `stream.js`), and the player's wasm (`pkg/`).
//!
//! They come from the player's package, bindings/wasm/js/pkg-player, built by
//! scripts/build-wasm.sh: the SDK's core with only the exports the widget's player calls, and
//! the widget's and SDK's scripts minified. Without the package the server still builds and
//! runs, with the scripts as they are in the tree; the widget's player then reports that its
//! decryption module is missing.
//!
//! Cargo re-runs a build script whenever a path it watches is missing, so this watches the
//! package's files when they exist, and otherwise only the folder the package will appear in:
//! a server built without the wasm is not rebuilt on every `cargo build`, and one built with
//! it is rebuilt only when the package changes.
use std::path::{Path, PathBuf};

fn main() {
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR for build scripts"));
    let js = Path::new("../bindings/wasm/js");
    let pkg = js.join("pkg-player");
    let wasm = pkg.join("fount_wasm_bg.wasm");
    let (widget, sdk) = (pkg.join("widget"), pkg.join("sdk"));
    println!("cargo::rustc-check-cfg=cfg(fount_widget_wasm)");
    let built = wasm.is_file() && widget.is_dir() && sdk.is_dir();
    let folders = if built {
        println!("cargo::rustc-cfg=fount_widget_wasm");
        for path in [&wasm, &widget, &sdk] {
            println!("cargo::rerun-if-changed={}", path.display());
        }
        compress(&wasm, &out.join("pkg/fount_wasm_bg.wasm"));
        [("widget", widget), ("sdk", sdk)]
    } else {
        println!("cargo::rerun-if-changed={}", js.display());
        let sources = [("widget", PathBuf::from("../widget/src")), ("sdk", js.join("src"))];
        for (_, folder) in &sources {
            println!("cargo::rerun-if-changed={}", folder.display());
        }
        sources
    };
    for (group, folder) in folders {
        let mut files: Vec<PathBuf> = std::fs::read_dir(&folder)
            .unwrap_or_else(|e| panic!("{}: {e}", folder.display()))
            .map(|entry| entry.unwrap_or_else(|e| panic!("{}: {e}", folder.display())).path())
            .filter(|path| path.is_file())
            .collect();
        files.sort();
        for file in files {
            let name = file.file_name().unwrap_or_else(|| panic!("{} has no file name", file.display()));
            compress(&file, &out.join(group).join(name));
        }
    }
}

/// Writes `file` to `target` as it is, and compressed beside it as `.br` and `.gz`.
fn compress(file: &Path, target: &Path) {
    let fail = |what: &str, e: std::io::Error| -> ! { panic!("{what} {}: {e}", file.display()) };
    let bytes = std::fs::read(file).unwrap_or_else(|e| fail("read", e));
    if let Some(folder) = target.parent() {
        std::fs::create_dir_all(folder).unwrap_or_else(|e| fail("make the folder for", e));
    }
    let write = |suffix: &str, body: &[u8]| {
        let mut path = target.as_os_str().to_owned();
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
