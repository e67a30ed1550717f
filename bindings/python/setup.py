"""Builds the native library and generates the uniffi bindings while packaging.

`pip install ./bindings/python` runs this: it needs the Rust toolchain, like any package with
native code built from source. The wheel holds the generated modules and libfount_uniffi.
"""

import os
import pathlib
import shutil
import subprocess
import sys

from setuptools import Distribution, setup
from setuptools.command.build_py import build_py

ROOT = pathlib.Path(__file__).resolve().parents[2]
LIB = {"darwin": "libfount_uniffi.dylib", "win32": "fount_uniffi.dll"}.get(sys.platform, "libfount_uniffi.so")
# Release by default; the repository's tests set FOUNT_CARGO_PROFILE=dev to reuse their build.
PROFILE = os.environ.get("FOUNT_CARGO_PROFILE", "release")
TARGET_DIR = "debug" if PROFILE == "dev" else PROFILE


class BuildWithNative(build_py):
    def run(self):
        super().run()
        target = (pathlib.Path(self.build_lib) / "fount").resolve()
        subprocess.run(["cargo", "build", "--profile", PROFILE, "--locked", "-p", "fount-uniffi", "-p", "uniffi-bindgen"], cwd=ROOT, check=True)
        library = ROOT / "target" / TARGET_DIR / LIB
        subprocess.run(
            [str(ROOT / "target" / TARGET_DIR / "uniffi-bindgen"), "generate", "--library", str(library),
             "--language", "python", "--no-format", "--out-dir", str(target)],
            cwd=ROOT, check=True, stdout=subprocess.DEVNULL,
        )
        shutil.copy(library, target / LIB)


class NativeDistribution(Distribution):
    """Marks the wheel as platform-specific: it carries a native library."""

    def has_ext_modules(self):
        return True


setup(cmdclass={"build_py": BuildWithNative}, distclass=NativeDistribution)
