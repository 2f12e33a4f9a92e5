#!/usr/bin/env python3
"""Check the bundled schema files against the official layer-228 schema (tests/data).

src/tlcodec/schema/data/api.tl must be the official api.tl byte for byte.

src/tlcodec/schema/data/mtproto.tl may differ from the official mtproto.tl only by the hand-edits
its header documents:
  * a field the official file declares `string` but which carries binary data may be declared
    `bytes` (same wire format, same id); rpc_error's error_message is text and stays `string`;
  * the service definitions tdesktop keeps commented out and tlcodec needs as classes
    (HAND_ADDED) are uncommented, with the same retyping and nothing else changed;
  * the definitions in LEFT_OUT are left out (message, msg_container and msg_copy stay commented
    out, as they are officially);
  * every other declaration with an id is there, verbatim, in the official order, in the same
    section (types/functions).
Both files: every explicit #id equals the CRC32 recomputed with PROTOCOL.md section 2.3, names
and ids are unique across the two files, and api.tl ends with the official file's LAYER line.
Prints the counts; exits with status 1 if anything is wrong.

Usage: python tools/check_bundle.py [OFFICIAL_SCHEMA_DIR [BUNDLED_SCHEMA_DIR]]
       (default: tests/data and src/tlcodec/schema/data)
"""
import re
import sys
import zlib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OFFICIAL = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "tests" / "data"
BUNDLE = Path(sys.argv[2]) if len(sys.argv) > 2 else ROOT / "src" / "tlcodec" / "schema" / "data"

# Commented out in tdesktop's mtproto.tl, uncommented in the bundle (PROTOCOL.md section 2.2).
HAND_ADDED = {"rpc_result", "gzip_packed"}
# Official mtproto.tl declarations with an id that the bundle leaves out (see its header).
LEFT_OUT = {"bind_auth_key_inner", "ipPort", "ipPortSecret", "accessPointRule",
            "help.configSimple"}
TEXT_FIELDS = {("rpc_error", "error_message")}  # `string` fields that must not become `bytes`

DECL = re.compile(r"^([A-Za-z][\w.]*)#([0-9a-f]+)((?:\s[^=]*)?)=\s*([^;]+?)\s*;")
errors = []


def declarations(path, commented=False):
    """(lineno, name, id, line, section) of every declaration with an explicit id; with
    `commented`, of the `//`-commented-out ones instead (the official hand-parsed services)."""
    section, out = "types", []
    for lineno, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        line = raw.strip()
        if line in ("---functions---", "---types---"):
            section = line.strip("-")
            continue
        if commented != line.startswith("//"):
            continue
        if commented:
            line = line[2:].strip()
        m = DECL.match(line)
        if m:
            line = line[: m.end()]  # drop a trailing comment
            out.append((lineno, m.group(1), int(m.group(2), 16), line, section))
        elif line and not commented and " ? = " not in line and not re.match(r"^\w+ ", line):
            errors.append(f"{path}:{lineno}: cannot parse: {line}")
    return out


def crc_id(line):
    """PROTOCOL.md section 2.3, steps 1-7."""
    s = line.split("//")[0].strip().rstrip(";").strip()
    s = re.sub(r"^(\S+?)#[0-9a-f]+", r"\1", s)           # 2: drop the id
    s = re.sub(r" \w+:\w+\.\d+\?true(?=\s|$)", "", s)  # 3: drop flag-only booleans
    s = re.sub(r"([:?])bytes(?=\s|$)", r"\1string", s)    # 4: bytes -> string (not in <>)
    s = s.replace("<", " ").replace(">", "").replace("{", "").replace("}", "")  # 5
    return zlib.crc32(" ".join(s.split()).encode("ascii"))  # 6, 7


def retyped(name, bundled, official):
    """Whether `bundled` is `official` with zero or more binary `string` fields made `bytes`."""
    ours, theirs = bundled.split(), official.split()
    if len(ours) != len(theirs):
        return False
    for a, b in zip(ours, theirs):
        if a == b:
            continue
        field = a.split(":")[0]
        if not (a.endswith(":bytes") and b == a[: -len("bytes")] + "string"):
            return False
        if (name, field) in TEXT_FIELDS:
            errors.append(f"mtproto.tl: {name}.{field} is text and must stay `string`")
    return True


def check_api():
    official, bundled = OFFICIAL / "api.tl", BUNDLE / "api.tl"
    if official.read_bytes() != bundled.read_bytes():
        errors.append(f"{bundled} is not the official {official} byte for byte")
    return declarations(bundled)


def check_mtproto():
    official_path, bundled_path = OFFICIAL / "mtproto.tl", BUNDLE / "mtproto.tl"
    official = declarations(official_path)
    commented = {name: (line, section) for _, name, _, line, section
                 in declarations(official_path, commented=True)}
    bundled = declarations(bundled_path)
    expected = [d for d in official if d[1] not in LEFT_OUT]
    kept = [d for d in bundled if d[1] not in HAND_ADDED]
    if [d[1] for d in kept] != [d[1] for d in expected]:
        missing = sorted({d[1] for d in expected} - {d[1] for d in kept})
        extra = sorted({d[1] for d in kept} - {d[1] for d in expected})
        errors.append(f"mtproto.tl: not the official declarations in the official order "
                      f"(missing {missing}, not official {extra})")
    by_name = {d[1]: d for d in official}
    for lineno, name, _, line, section in bundled:
        where = f"{bundled_path.name}:{lineno}"
        source = commented.get(name) if name in HAND_ADDED else by_name.get(name, (None,) * 5)[3:]
        if not source or source[0] is None:
            errors.append(f"{where}: {name} is neither official nor documented as hand-added")
        elif source[1] != section:
            errors.append(f"{where}: {name} is in ---{section}---, officially in ---{source[1]}---")
        elif not retyped(name, line, source[0]):
            errors.append(f"{where}: {name} is not the official line (or it with binary "
                          f"`string` fields declared `bytes`): {source[0]}")
    for name in HAND_ADDED - {d[1] for d in bundled}:
        errors.append(f"mtproto.tl: the hand-added {name} is missing")
    return bundled


def main():
    api, mtproto = check_api(), check_mtproto()
    for path, decls in ((BUNDLE / "api.tl", api), (BUNDLE / "mtproto.tl", mtproto)):
        for lineno, name, ident, line, _ in decls:
            crc = crc_id(line)
            if crc != ident:
                errors.append(f"{path.name}:{lineno}: {name} id {ident:08x} != crc {crc:08x}")
    for index, label in ((1, "name"), (2, "id")):
        seen = {}
        for file, decls in (("api.tl", api), ("mtproto.tl", mtproto)):
            for decl in decls:
                where = f"{file}:{decl[0]}"
                if decl[index] in seen:
                    errors.append(f"{where}: duplicate {label} {decl[index]} (also {seen[decl[index]]})")
                seen[decl[index]] = where

    lines = [line for line in (BUNDLE / "api.tl").read_text("utf-8").splitlines() if line.strip()]
    if not lines or not re.fullmatch(r"// LAYER \d+", lines[-1]):
        errors.append("api.tl: does not end with its `// LAYER N` line")

    functions = sum(1 for d in api if d[4] == "functions")
    print(f"api.tl:     {len(api) - functions} constructors, {functions} functions "
          f"(the official file, byte for byte)")
    functions = sum(1 for d in mtproto if d[4] == "functions")
    print(f"mtproto.tl: {len(mtproto) - functions} constructors ({len(HAND_ADDED)} hand-added), "
          f"{functions} functions; {len(LEFT_OUT)} official declarations left out")
    for e in errors:
        print("ERROR", e)
    print("OK" if not errors else f"{len(errors)} error(s)")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
