"""The sandbox the grader runs students' code in: limits on time, memory and output, a minimal
environment, and nothing left running afterwards."""

import os
import signal
import textwrap
import time

import pytest

from mlp.teaching.sandbox import Limits, run

LIMITS = Limits(cpu_seconds=10, wall_seconds=20, memory_bytes=1 << 30, output_bytes=1 << 20)


def sandboxed(tmp_path, code, **limits):
    script = tmp_path / "script.py"
    script.write_text(textwrap.dedent(code))
    work = tmp_path / "work"
    work.mkdir()
    return run(script, [], work, Limits(**{**LIMITS.__dict__, **limits})), work


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat") as f:  # a zombie waiting for its parent is not running
        return f.read().split(")")[-1].split()[0] != "Z"


def test_a_normal_run(tmp_path):
    outcome, work = sandboxed(tmp_path, """
        import os, sys
        print("cwd", os.getcwd())
        print("path", sys.path[0])
        print("env", sorted(os.environ))
    """)
    assert outcome.returncode == 0 and outcome.reason() is None
    assert f"cwd {work}" in outcome.output
    assert f"path {work}" not in outcome.output  # python -I: the folder is not on sys.path
    env = eval(outcome.output.split("env ", 1)[1])
    assert "MLP_DATA_DIR" not in env and "PYTHONPATH" not in env
    assert set(env) <= {"PATH", "HOME", "TMPDIR", "LANG", "LC_ALL", "LC_CTYPE", "MPLBACKEND",
                        "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
                        "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS"}


def test_the_wall_clock_limit_kills_the_whole_group(tmp_path):
    start = time.monotonic()
    outcome, work = sandboxed(tmp_path, """
        import signal, subprocess, time
        signal.signal(signal.SIGTERM, signal.SIG_IGN)  # it will not stop when asked
        child = subprocess.Popen(["sleep", "300"])
        open("child.pid", "w").write(str(child.pid))
        time.sleep(300)
    """, wall_seconds=2)
    assert time.monotonic() - start < 15
    assert outcome.timed_out and outcome.returncode == -signal.SIGKILL
    assert outcome.reason() == "ran past the time limit (2 s)"
    assert not alive(int((work / "child.pid").read_text()))


def test_the_cpu_limit(tmp_path):
    outcome, _ = sandboxed(tmp_path, "while True: pass\n", cpu_seconds=1)
    assert not outcome.timed_out
    assert outcome.returncode in (-signal.SIGXCPU, -signal.SIGKILL)
    assert "CPU time limit (1 s)" in outcome.reason()


def test_the_memory_limit(tmp_path):
    outcome, _ = sandboxed(tmp_path, """
        try:
            hog = bytearray(600 * 2**20)
        except MemoryError:
            print("MemoryError")
    """, memory_bytes=256 << 20)
    assert outcome.returncode == 0 and "MemoryError" in outcome.output


def test_the_output_limit(tmp_path):
    outcome, work = sandboxed(tmp_path, """
        import signal
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        try:
            while True:
                print("x" * 1000)
        except OSError as exc:
            raise SystemExit(3)
    """, output_bytes=100_000)
    assert outcome.returncode == 3
    assert outcome.printed_too_much and "printed more than" in outcome.reason()
    assert (work / "output.txt").stat().st_size <= 100_000
    assert len(outcome.output) <= 4000


@pytest.mark.parametrize("code, status", [("import os; os._exit(7)", 7),
                                          ("import sys; sys.exit(5)", 5)])
def test_exits(tmp_path, code, status):
    outcome, _ = sandboxed(tmp_path, code)
    assert outcome.returncode == status and outcome.reason() is None
