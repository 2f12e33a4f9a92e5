"""tools/check_bundle.py: the bundled .tl files are the official ones, with only the documented
hand-edits (run here on the real files, and on copies given one undocumented change each)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from support import reference_file

ROOT = Path(__file__).resolve().parents[1]
TOOL = ROOT / "tools" / "check_bundle.py"
BUNDLE = ROOT / "src" / "tlcodec" / "schema" / "data"

pytestmark = pytest.mark.skipif(
    not TOOL.is_file() or not BUNDLE.is_dir(),
    reason="tools/check_bundle.py checks the source tree (not there: an installed wheel's tests)",
)


def check(official: Path, bundle: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(TOOL), str(official), str(bundle)],
        capture_output=True, text=True, timeout=120,
    )


def test_the_bundled_files_pass() -> None:
    result = check(reference_file("api.tl").parent, BUNDLE)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.splitlines()[-1] == "OK"
    assert "(the official file, byte for byte)" in result.stdout
    assert "(2 hand-added)" in result.stdout


def tampered(tmp_path: Path, name: str, old: str, new: str) -> Path:
    """A copy of the bundled files with one change to `name`."""
    bundle = tmp_path / "bundle"
    shutil.copytree(BUNDLE, bundle)
    path = bundle / name
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1, f"{old!r} is not once in {name}"
    path.write_text(text.replace(old, new), encoding="utf-8")
    return bundle


@pytest.mark.parametrize(
    ("name", "old", "new", "message"),
    [
        # api.tl: any change at all, even one that keeps every id right.
        ("api.tl", "// LAYER 228", "// LAYER 228 ", "is not the official"),
        ("api.tl", "boolTrue#997275b5 = Bool;\n", "boolTrue#997275b5 = Bool;\n\n",
         "is not the official"),
        # mtproto.tl: a text field retyped, a declaration changed, dropped or reordered, a
        # commented-out service uncommented, a wrong id.
        ("mtproto.tl", "error_message:string", "error_message:bytes", "is text"),
        ("mtproto.tl", "msgs_ack#62d6b459 msg_ids:Vector<long>", "msgs_ack#62d6b459 msg_ids:Vector<int>",
         "msgs_ack is not the official line"),
        ("mtproto.tl", "msgs_ack#62d6b459 msg_ids:Vector<long> = MsgsAck;\n", "",
         "missing ['msgs_ack']"),
        ("mtproto.tl", "dh_gen_ok#3bcbf734 nonce:int128 server_nonce:int128 new_nonce_hash1:int128 "
         "= Set_client_DH_params_answer;\ndh_gen_retry",
         "dh_gen_retry", "official order"),
        ("mtproto.tl", "\ngzip_packed#3072cfa1 packed_data:bytes = Object;",
         "\ngzip_packed#3072cfa1 packed_data:bytes = Object;\n"
         "msg_container#73f1f8dc messages:vector<message> = MessageContainer;",
         "msg_container is neither official nor documented"),
        ("mtproto.tl", "pong#347773c5", "pong#347773c6", "id 347773c6 != crc 347773c5"),
    ],
    ids=["api-layer-line", "api-blank-line", "text-field-as-bytes", "changed-line",
         "dropped", "reordered", "uncommented-container", "wrong-id"],
)
def test_an_undocumented_change_is_reported(
    tmp_path: Path, name: str, old: str, new: str, message: str
) -> None:
    result = check(reference_file("api.tl").parent, tampered(tmp_path, name, old, new))
    assert result.returncode == 1, result.stdout
    errors = [line for line in result.stdout.splitlines() if line.startswith("ERROR")]
    assert any(message in line for line in errors), result.stdout
