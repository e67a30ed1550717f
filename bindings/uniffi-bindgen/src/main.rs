//! `cargo run -p uniffi-bindgen -- generate --library <cdylib> --language kotlin …`
fn main() {
    uniffi::uniffi_bindgen_main()
}
