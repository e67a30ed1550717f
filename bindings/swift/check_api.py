"""Checks the Swift bindings against the Kotlin ones, with no Swift compiler at hand.

Both come from the same library, so their public surface must match name for name: the
methods of every object and foreign interface, the fields of every record, the cases of every
enum and error. This reads the generated sources of both languages and compares them, and
checks that the hand-written Swift defaults implement the protocols' methods by their names.

    python3 check_api.py <kotlin out dir> <swift out dir>
"""

import pathlib
import re
import sys


def camel(name):
    """UPPER_SNAKE or snake_case to lowerCamel."""
    parts = name.lower().split("_")
    return parts[0] + "".join(p.title() for p in parts[1:])


def blocks(text, opener):
    """Yields (name, body) for every `opener Name ... {` block, matching braces."""
    for m in re.finditer(opener, text):
        start = text.index("{", m.end())
        depth, i = 0, start
        while True:
            if text[i] == "{":
                depth += 1
            elif text[i] == "}":
                depth -= 1
                if depth == 0:
                    break
            i += 1
        yield m.group(1), text[start:i]


def kotlin_surface(files):
    text = "\n".join(f.read_text() for f in files)
    surface = {}
    for m in re.finditer(r"\n(?:public )?interface (\w+) \{", text):
        name = m.group(1)
        if name.endswith("Interface"):
            name = name[: -len("Interface")]
            kind = "object"
        else:
            kind = "interface"
        body = next(b for n, b in blocks(text[m.start():], r"interface (\w+) \{"))
        methods = set(re.findall(r"fun `(\w+)`\(", body))
        if methods:
            surface[f"{kind} {name}"] = methods
    for m in re.finditer(r"\ndata class (\w+) \(", text):
        fields_src = text[m.end(): text.index(") {", m.end()) if ") {" in text[m.end():m.end() + 4000] else text.index("\n)", m.end())]
        surface[f"record {m.group(1)}"] = set(re.findall(r"va[rl] `(\w+)`", fields_src))
    for name, body in blocks(text, r"\nenum class (\w+)"):
        surface[f"enum {name}"] = {camel(c) for c in re.findall(r"^\s*([A-Z][A-Z0-9_]*)\s*[,;]?\s*$", body, re.M)}
    for name, body in blocks(text, r"\nsealed class (\w+)Exception"):
        surface[f"error {name}"] = set(re.findall(r"\n\s*class (\w+)\(", body))
    return surface


def swift_surface(files):
    text = "\n".join(f.read_text() for f in files)
    surface = {}
    for name, body in blocks(text, r"\npublic protocol (\w+)Protocol\b"):
        surface[f"object {name}"] = set(re.findall(r"func (\w+)\(", body))
    for name, body in blocks(text, r"\npublic protocol (\w+): AnyObject"):
        if not name.endswith("Protocol"):
            surface[f"interface {name}"] = set(re.findall(r"func (\w+)\(", body))
    for name, body in blocks(text, r"\npublic struct (\w+)\b"):
        if name.startswith("Ffi") or name.startswith("Uniffi"):
            continue
        head = body.split("// Default memberwise initializers")[0]
        surface[f"record {name}"] = set(re.findall(r"public (?:var|let) (\w+):", head))
    for name, body in blocks(text, r"\npublic\s+enum (\w+)\b"):
        cases = set(re.findall(r"\n\s*case (\w+)", body))
        if name.endswith("Error"):
            surface[f"error {name[: -len('Error')]}"] = cases
        else:
            surface[f"enum {name}"] = cases
    return surface


def main(kotlin_dir, swift_dir):
    kotlin = kotlin_surface(sorted(pathlib.Path(kotlin_dir).rglob("*.kt")))
    swift = swift_surface(sorted(pathlib.Path(swift_dir).glob("*.swift")))
    problems = []
    for key in sorted(set(kotlin) | set(swift)):
        k, s = kotlin.get(key), swift.get(key)
        if k is None or s is None:
            problems.append(f"{key}: only in {'Swift' if k is None else 'Kotlin'}")
        elif k != s:
            problems.append(f"{key}: Kotlin has {sorted(k - s)}, Swift has {sorted(s - k)}")
    # The hand-written defaults implement their protocols by name.
    here = pathlib.Path(__file__).parent / "Sources" / "Fount"
    defaults = "\n".join(p.read_text() for p in here.glob("*.swift"))
    for cls, proto in re.findall(r"public final class (\w+): (\w+)", defaults):
        body = next(b for n, b in blocks(defaults, rf"public final class ({cls}):"))
        missing = swift.get(f"interface {proto}", set()) - set(re.findall(r"public func (\w+)\(", body))
        if missing:
            problems.append(f"{cls} does not implement {proto}.{sorted(missing)}")
    # The hand-written async layer calls the client's methods by their generated names.
    calls = set(re.findall(r"self\.client\.(\w+)\(", defaults))
    client = next((v for k, v in swift.items() if k.endswith(" FountClient")), set())
    if calls - client:
        problems.append(f"the async layer calls what FountClient lacks: {sorted(calls - client)}")
    checked = sum(len(v) for v in kotlin.values())
    if problems:
        print("Swift and Kotlin APIs differ:\n  " + "\n  ".join(problems))
        return 1
    print(f"Swift API matches Kotlin: {len(kotlin)} types, {checked} members")
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:3]))
