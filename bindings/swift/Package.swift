// swift-tools-version:5.9
// Fount's SDK for Swift (iOS, macOS). `./build-xcframework.sh` (on macOS) builds the native
// library into FountFFI.xcframework and generates the Swift sources this package compiles.
import PackageDescription

let package = Package(
    name: "Fount",
    platforms: [.iOS(.v15), .macOS(.v12)],
    products: [
        .library(name: "Fount", targets: ["Fount"]),
    ],
    targets: [
        // The Rust library and the C headers of both uniffi namespaces (modules FountFFI and
        // FountSdkFFI).
        .binaryTarget(name: "FountFFI", path: "FountFFI.xcframework"),
        // The generated sources of both namespaces (Generated/Fount.swift, the client;
        // Generated/FountSdk.swift, the core's records, enums and errors) compile into this one
        // module, as uniffi's Swift output expects, with the Apple defaults beside them.
        .target(name: "Fount", dependencies: ["FountFFI"], path: "Sources/Fount"),
    ]
)
