#!/usr/bin/env python3
"""Check the bundled schema files against the official layer-228 schema (tests/data).

For src/tlcodec/schema/data/{api,mtproto}.tl:
  * every explicit #id equals the CRC32 recomputed with PROTOCOL.md section 2.3;
  * every declaration is a verbatim line of the official file of the same name, same section
    (types/functions), except the hand-added MTProto service definitions;
  * the type closure is complete: every type a declaration references has a bundled constructor,
    and a bundled type has all of its official constructors (except the deliberately partial ones);
  * names and ids are unique across both files, api.tl ends with the official file's LAYER line.
Prints the counts; exits with status 1 if anything is wrong.

Usage: python tools/check_bundle.py [OFFICIAL_SCHEMA_DIR]   (default: tests/data)
"""
import re
import sys
import zlib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BUNDLE = ROOT / "src" / "tlcodec" / "schema" / "data"
OFFICIAL = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "tests" / "data"

# Commented out in tdesktop's mtproto.tl, added by hand (PROTOCOL.md section 2.2).
HAND_ADDED = {"rpc_result", "message", "msg_container", "msg_copy", "gzip_packed"}
# Types implemented natively; Bool is not here: it must come with boolFalse/boolTrue.
BUILTIN = {"int", "long", "double", "string", "bytes", "int128", "int256", "true", "#",
           "Vector", "vector", "Object", "Type"}
FAMILY = ["auth.loginToken", "auth.loginTokenMigrateTo", "auth.loginTokenSuccess",
          "auth.authorization", "auth.authorizationSignUpRequired"]
FAMILY_EXPECTED = 63  # size of the family's constructor closure at layer 228
PARTIAL = {"Update", "Updates", "updates.Difference"}  # bundled with only some of their constructors

DECL = re.compile(r"^([A-Za-z][\w.]*)#([0-9a-f]+)((?:\s[^=]*)?)=\s*([^;]+?)\s*;$")
errors = []


def sections(path):
    """Yield (lineno, stripped line, section) for the non-blank, non-marker lines of a TL file."""
    section = "types"
    for lineno, raw in enumerate(path.read_text().splitlines(), 1):
        line = raw.strip()
        if line in ("---functions---", "---types---"):
            section = line.strip("-")
        elif line:
            yield lineno, line, section


def parse(path, strict=True):
    """Declarations with an explicit id; in strict mode any other non-comment line is an error."""
    decls = []
    for lineno, line, section in sections(path):
        if line.startswith("//"):
            continue
        m = DECL.match(line)
        if not m:
            if strict:
                errors.append(f"{path}:{lineno}: cannot parse: {line}")
            continue
        name, hex_id, params, result = m.groups()
        decls.append(dict(name=name, id=int(hex_id, 16), params=params.split(), result=result,
                          fn=section == "functions", line=line, where=f"{path.name}:{lineno}"))
    return decls


def crc_id(line):
    """PROTOCOL.md section 2.3, steps 1-7."""
    s = line.split("//")[0].strip().rstrip(";").strip()
    s = re.sub(r"^(\S+?)#[0-9a-f]+", r"\1", s)           # 2: drop the id
    s = re.sub(r" \w+:\w+\.\d+\?true(?=\s|$)", "", s)  # 3: drop flag-only booleans
    s = re.sub(r"([:?])bytes(?=\s|$)", r"\1string", s)    # 4: bytes -> string (not in <>)
    s = s.replace("<", " ").replace(">", "").replace("{", "").replace("}", "")  # 5
    return zlib.crc32(" ".join(s.split()).encode("ascii"))  # 6, 7


def referenced(decl):
    """Type names a declaration refers to (fields; plus the result type for functions)."""
    generic = {p[1:].split(":")[0] for p in decl["params"] if p.startswith("{")}
    parts = []
    for p in decl["params"]:
        if ":" in p and not p.startswith("{"):
            t = re.sub(r"^\w+\.\d+\?", "", p.split(":", 1)[1]).lstrip("!")
            parts += re.split(r"[<>]", t)
    if decl["fn"]:
        parts += re.split(r"[<>\s]", decl["result"])
    return [t for t in parts if t and t not in BUILTIN and t not in generic]


def check_file(fname):
    decls = parse(BUNDLE / fname)
    source = {(line, section) for _, line, section in sections(OFFICIAL / fname)}
    official_types = {}
    for d in parse(OFFICIAL / fname, strict=False):
        if not d["fn"]:
            official_types.setdefault(d["result"], set()).add(d["name"])
    ctors = [d for d in decls if not d["fn"]]
    names = {d["name"] for d in ctors}
    by_type = {}
    for d in ctors:
        by_type.setdefault(d["result"], []).append(d["name"])
    for d in decls:
        crc = crc_id(d["line"])
        if crc != d["id"]:
            errors.append(f"{d['where']}: id {d['id']:08x} != crc {crc:08x}")
        section = "functions" if d["fn"] else "types"
        # mtproto.tl declares binary fields `string`; the bundle says `bytes` (see its header).
        line = d["line"].replace(":bytes", ":string") if fname == "mtproto.tl" else d["line"]
        if d["name"] not in HAND_ADDED and (line, section) not in source:
            errors.append(f"{d['where']}: not a verbatim line of {OFFICIAL / fname}: {d['name']}")
        for t in referenced(d):
            bare = t.split(".")[-1][0].islower()
            if (t not in names) if bare else (t not in by_type):
                errors.append(f"{d['where']}: {d['name']} references {t}, not bundled")
    for t, bundled in by_type.items():
        missing = official_types.get(t, set()) - set(bundled)
        if missing and t not in PARTIAL:
            errors.append(f"{fname}: type {t} lacks constructors {sorted(missing)}")
    return decls, ctors, by_type


def closure(start, ctors, by_type):
    """Constructors reachable from `start` through field types (all ctors of each boxed type)."""
    index = {d["name"]: d for d in ctors}
    seen, todo = set(), list(start)
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        for t in referenced(index[name]):
            todo += by_type.get(t, [t] if t in index else [])
    return seen


def main():
    api, api_ctors, api_types = check_file("api.tl")
    mt, mt_ctors, _ = check_file("mtproto.tl")

    for key in ("name", "id"):
        seen = {}
        for d in api + mt:
            if d[key] in seen:
                errors.append(f"{d['where']}: duplicate {key} of {d['name']} (also {seen[d[key]]})")
            seen[d[key]] = d["where"]

    def last(path):
        return [line for line in path.read_text().splitlines() if line.strip()][-1]

    if last(BUNDLE / "api.tl") != last(OFFICIAL / "api.tl"):
        errors.append(f"api.tl: last line is not {last(OFFICIAL / 'api.tl')!r}")

    family = closure(FAMILY, api_ctors, api_types)
    if len(family) != FAMILY_EXPECTED:
        errors.append(f"api.tl: auth.LoginToken family closure is {len(family)} constructors, "
                      f"expected {FAMILY_EXPECTED}")

    print(f"api.tl:     {len(api_ctors)} constructors, {len(api) - len(api_ctors)} functions; "
          f"auth.LoginToken family closure {len(family)} constructors")
    print(f"mtproto.tl: {len(mt_ctors)} constructors ({len(HAND_ADDED)} hand-added), "
          f"{len(mt) - len(mt_ctors)} functions")
    for e in errors:
        print("ERROR", e)
    print("OK" if not errors else f"{len(errors)} error(s)")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
