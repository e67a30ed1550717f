// The Android library that packages Fount's Kotlin binding: the Kotlin code uniffi generates,
// the defaults in src/main/kotlin, and the native library built by cargo for each ABI.
//
//   ./gradlew assembleRelease        (needs the Android NDK and `cargo install cargo-ndk`)
//
// On these build machines there is no Maven Central, so the tests are compiled with kotlinc
// and run on the JVM by scripts/test-kotlin.sh instead; this file is for app developers.
plugins {
    id("com.android.library") version "8.7.3"
    id("org.jetbrains.kotlin.android") version "2.1.0"
}

group = "dev.fount"
version = "0.1.0"

android {
    namespace = "dev.fount"
    compileSdk = 35
    defaultConfig {
        minSdk = 24
        consumerProguardFiles("consumer-rules.pro")
    }
    sourceSets["main"].java.srcDir(layout.buildDirectory.dir("generated/uniffi"))
    // The AndroidKeyStore device key: Android-only APIs, kept apart from what the JVM tests compile.
    sourceSets["main"].java.srcDir("src/android/kotlin")
    sourceSets["main"].jniLibs.srcDir(layout.buildDirectory.dir("jniLibs"))
    compileOptions {
        sourceCompatibility = JavaVersion.VERSION_17
        targetCompatibility = JavaVersion.VERSION_17
    }
}

kotlin { jvmToolchain(17) }

dependencies {
    // uniffi's generated code calls the native library through JNA.
    implementation("net.java.dev.jna:jna:5.15.0@aar")
    // SuspendingFountClient: suspend functions and Flows of download progress.
    implementation("org.jetbrains.kotlinx:kotlinx-coroutines-android:1.9.0")
}

val repo = rootDir.resolve("../..")
val abis = mapOf(
    "arm64-v8a" to "aarch64-linux-android",
    "armeabi-v7a" to "armv7-linux-androideabi",
    "x86_64" to "x86_64-linux-android",
)

// Builds libfount_uniffi.so for every ABI into build/jniLibs/<abi>/.
val cargoBuild by tasks.registering(Exec::class) {
    workingDir = repo
    commandLine(
        listOf("cargo", "ndk") + abis.keys.flatMap { listOf("-t", it) } +
            listOf("-o", layout.buildDirectory.dir("jniLibs").get().asFile.path, "build", "--release", "-p", "fount-uniffi"),
    )
}

// Generates the Kotlin sources from the host build of the library (the interface is the same
// on every target).
val generateUniffi by tasks.registering(Exec::class) {
    workingDir = repo
    commandLine("sh", "-c",
        "cargo build --release -p fount-uniffi && " +
            "cargo run --release -p uniffi-bindgen -- generate --library target/release/libfount_uniffi.so " +
            "--language kotlin --out-dir ${layout.buildDirectory.dir("generated/uniffi").get().asFile.path}")
}

tasks.named("preBuild") { dependsOn(generateUniffi, cargoBuild) }
