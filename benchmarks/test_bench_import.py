"""`import tlcodec` in a fresh interpreter, median of several subprocess runs; and, the same
way, the first use of one class of the full layer and the whole layer made at once.

What is measured: in a new `python` process (site and the venv already set up, `.pyc` files
present, OS file cache warm after one untimed warm-up run), the wall time of the `import tlcodec`
statement alone, taken inside the child with `time.perf_counter()` around it. That includes every
module it pulls in that the bare interpreter had not loaded. The number the table reports is
`extra_info["import_seconds_median"]`; pytest-benchmark's own stats for these tests time the
whole subprocess (interpreter start-up included) and are kept only for reference, next to
`bare_interpreter_seconds_median` (`python -c pass`). `import telethon` is measured the same way
for context (Telethon's package import pulls in its whole client).
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from typing import Any

import pytest

RUNS = int(os.environ.get("TLCODEC_BENCH_IMPORT_RUNS", "11"))

CHILD = "import time; t0 = time.perf_counter(); import {module}; print(time.perf_counter() - t0)"


# As after `pip install` (which compiles bytecode): the children may write .pyc files even where
# the environment says PYTHONDONTWRITEBYTECODE, or every "cold import" would compile sources.
_ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def run_python(code: str) -> str:
    return subprocess.run(
        [sys.executable, "-c", code], check=True, capture_output=True, text=True, env=_ENV
    ).stdout


@pytest.mark.benchmark(group="cold import")
@pytest.mark.parametrize("impl", ["tlcodec", "telethon"])
def test_cold_import(benchmark: Any, impl: str) -> None:
    code = CHILD.format(module=impl)
    run_python(code)  # warm-up: writes any missing .pyc, warms the file cache; not counted
    samples: list[float] = []

    def one_fresh_import() -> None:
        samples.append(float(run_python(code)))

    benchmark.pedantic(one_fresh_import, rounds=RUNS, iterations=1)

    bare: list[float] = []
    for _ in range(min(RUNS, 5)):
        start = time.perf_counter()
        run_python("pass")
        bare.append(time.perf_counter() - start)

    benchmark.extra_info.update(
        measures=f"`import {impl}` timed by perf_counter inside a fresh interpreter",
        import_seconds=samples,
        import_seconds_median=statistics.median(samples),
        import_seconds_min=min(samples),
        bare_interpreter_seconds_median=statistics.median(bare),
    )
    assert samples and all(0 < s < 60 for s in samples)


# What each child times, after its imports: one class of the full layer used for the first time
# (its module, plan and class made); every class of the layer made. Telethon makes its whole
# layer when its package is imported: its column times `import telethon.tl.alltlobjects`.
FIRST_USE = {
    "tlcodec": ("import tlcodec", "tlcodec.types.messages.Messages"),
}
WHOLE_LAYER = {
    "tlcodec": ("import tlcodec", "tlcodec.bundled.classes"),
    "telethon": ("", "import telethon.tl.alltlobjects"),
}
TIMED = "{setup}\nimport time; t0 = time.perf_counter(); {timed}; print(time.perf_counter() - t0)"


def timed_in_fresh_interpreters(benchmark: Any, setup: str, timed: str, what: str) -> None:
    code = TIMED.format(setup=setup, timed=timed)
    run_python(code)  # warm-up, as above
    samples: list[float] = []
    benchmark.pedantic(lambda: samples.append(float(run_python(code))), rounds=RUNS, iterations=1)
    benchmark.extra_info.update(
        measures=f"`{timed}` timed by perf_counter inside a fresh interpreter ({what})",
        import_seconds=samples,
        import_seconds_median=statistics.median(samples),
        import_seconds_min=min(samples),
    )
    assert samples and all(0 < s < 60 for s in samples)


@pytest.mark.benchmark(group="full layer, first use")
@pytest.mark.parametrize("impl", list(FIRST_USE))
def test_first_class_use(benchmark: Any, impl: str) -> None:
    setup, timed = FIRST_USE[impl]
    timed_in_fresh_interpreters(benchmark, setup, timed, "after the package's import")


@pytest.mark.benchmark(group="full layer, every class")
@pytest.mark.parametrize("impl", list(WHOLE_LAYER))
def test_whole_layer(benchmark: Any, impl: str) -> None:
    setup, timed = WHOLE_LAYER[impl]
    timed_in_fresh_interpreters(benchmark, setup, timed, "every class of the layer")

