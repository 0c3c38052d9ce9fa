"""The jail the grader runs students' code in (bubblewrap), and the limits around it: what the
code can see, reach and leave behind, each checked from inside a real jail."""

import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

import mlp
from mlp.teaching.jail import unavailable
from mlp.teaching.sandbox import Limits, run

pytestmark = pytest.mark.skipif(unavailable() is not None, reason=f"no jail: {unavailable()}")

LIMITS = Limits(cpu_seconds=10, wall_seconds=20, memory_bytes=1 << 30, output_bytes=1 << 20)
CANARY = "MLP_TEST_CANARY_7f3a"


def jailed(tmp_path, code, jail=True, **limits):
    """Run ``code`` as the probe would be run: its results pipe is ``int(sys.argv[2])``."""
    work = tmp_path / "ps4"
    work.mkdir()
    (work / "script.py").write_text(textwrap.dedent(code))
    return run("script.py", work, Limits(**{**LIMITS.__dict__, **limits}), jail=jail)


def report(outcome) -> dict:
    """The JSON line the script wrote to its results pipe."""
    return json.loads(outcome.results.splitlines()[0])


def processes_with(marker: str) -> list[int]:
    """Host pids whose command line holds ``marker``, zombies left out."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            if marker in (entry / "cmdline").read_bytes().decode("utf-8", "replace"):
                state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
                if state != "Z":
                    found.append(int(entry.name))
        except (OSError, ValueError, IndexError):
            continue
    return found


WRITE = """
import json, os, sys
def say(**values):
    os.write(int(sys.argv[2]), (json.dumps(values) + "\\n").encode())
"""


def test_what_the_code_sees(tmp_path, monkeypatch):
    monkeypatch.setenv(CANARY, "secret")
    outcome = jailed(tmp_path, WRITE + """
        import socket
        def readable(path):
            try:
                return open(path, "rb").read().decode("latin-1")
            except OSError as exc:
                return type(exc).__name__
        say(uid=os.getuid(), pid=os.getpid(), ppid=os.getppid(), cwd=os.getcwd(),
            env=dict(os.environ), path=sys.path, host=socket.gethostname(),
            pids=sorted(p for p in os.listdir("/proc") if p.isdigit()),
            init_env=readable("/proc/1/environ"), root=sorted(os.listdir("/")))
    """.replace("\n        ", "\n"))
    seen = report(outcome)
    assert seen["uid"] == 1000 and seen["host"] == "jail" and seen["cwd"] == "/ps4"
    assert set(seen["env"]) == {"PATH", "PWD", "HOME", "TMPDIR", "LANG", "LC_ALL", "MPLBACKEND",
                                "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
                                "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS"}
    assert CANARY not in json.dumps(seen) and "PATH=" in seen["init_env"]
    assert seen["pids"] == ["1", "2"] and seen["ppid"] == 1  # its own PID namespace
    assert not any("site-packages" in p or "dist-packages" in p for p in seen["path"])
    assert set(seen["root"]) <= {"dev", "proc", "tmp", "ps4", "lib", "lib64", "opt", "usr",
                                 "etc", "root", "home", "bin", "sbin", "var"}


def test_the_library_and_other_packages_are_not_there(tmp_path):
    package = str(Path(mlp.__file__).resolve().parent)
    outcome = jailed(tmp_path, WRITE + f"""
import importlib.util
found = []
for top in ("/usr", "/opt", "/root", "/etc", "/home", "/tmp", "/ps4"):
    for folder, dirs, files in os.walk(top):
        found += [os.path.join(folder, f) for f in files
                  if f in ("mlp.py", "problem_set_4.ipynb") and top != "/ps4"
                  or f == "grader.py" and folder.endswith("teaching")]
say(found=found, mlp=importlib.util.find_spec("mlp") is not None,
    package=os.path.exists({package!r}), numpy=__import__("numpy").__version__,
    optuna=importlib.util.find_spec("optuna") is not None)
""")
    seen = report(outcome)
    assert seen["found"] == [] and not seen["mlp"] and not seen["package"]
    assert not seen["optuna"] and seen["numpy"]


def test_nothing_outside_can_be_written_and_tmp_is_capped(tmp_path):
    outcome = jailed(tmp_path, WRITE + """
tried = {}
for path in ("/ps4/new.txt", "/ps4/script.py", "/usr/lib/x", "/opt/jail-site/numpy/x.py",
             "/opt/jail-site/os.py", "/x", "/etc/x"):
    try:
        open(path, "w").write("x")
        tried[path] = "written"
    except OSError as exc:
        tried[path] = type(exc).__name__
try:
    with open("/tmp/fill", "wb") as f:
        for _ in range(100):
            f.write(b"\\0" * (1 << 20))
    tried["fill"] = "written"
except OSError as exc:
    tried["fill"] = str(exc)
say(**tried)
""", tmp_bytes=8 << 20)
    tried = report(outcome)
    assert set(tried.values()) - {tried["fill"]} <= {"OSError", "PermissionError"}, tried
    assert "No space left" in tried["fill"] or "File too large" in tried["fill"]
    assert (tmp_path / "ps4" / "script.py").read_text().startswith("\nimport json")


def test_no_network(tmp_path):
    server = socket.create_server(("127.0.0.1", 0))
    server.settimeout(5)
    port = server.getsockname()[1]
    accepted = []
    thread = threading.Thread(target=lambda: accepted.append(_accept(server)))
    thread.start()
    outcome = jailed(tmp_path, WRITE + f"""
import socket
try:
    socket.create_connection(("127.0.0.1", {port}), timeout=2)
    say(connected=True)
except OSError as exc:
    say(connected=False, error=type(exc).__name__)
""")
    thread.join()
    server.close()
    assert report(outcome)["connected"] is False and accepted == [None]


def _accept(server):
    try:
        return server.accept()
    except OSError:
        return None


def test_the_process_limit_holds(tmp_path):
    outcome = jailed(tmp_path, WRITE + """
import subprocess
started, refused = [], 0
for _ in range(20):
    try:
        started.append(subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"]))
    except OSError:
        refused += 1
say(started=len(started), refused=refused)
""", processes=4)
    seen = report(outcome)
    assert seen["started"] <= 2 and seen["refused"] >= 18


def test_the_wall_clock_limit_ends_every_process_of_the_jail(tmp_path):
    """A child that ignores SIGTERM and a setsid double-forked daemon: when run returns,
    nothing of them is left."""
    marker = f"mlp-daemon-{os.getpid()}-{time.monotonic_ns()}"
    start = time.monotonic()
    outcome = jailed(tmp_path, f"""
import os, signal, subprocess, sys, time
signal.signal(signal.SIGTERM, signal.SIG_IGN)
subprocess.Popen([sys.executable, "-c", "import time; time.sleep(300)", {marker!r}])
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        os.execv(sys.executable, [sys.executable, "-c", "import time; time.sleep(300)",
                                  {marker!r}])
    os._exit(0)
time.sleep(300)
""", wall_seconds=3)
    assert time.monotonic() - start < 15
    assert outcome.timed_out and "time limit (3 s)" in outcome.reason()
    assert processes_with(marker) == []


def test_lingering_threads_and_children_do_not_hold_the_run(tmp_path):
    """The probe's last line ends the run at once, whatever the code left running."""
    start = time.monotonic()
    outcome = jailed(tmp_path, WRITE + """
import threading, time, subprocess
threading.Thread(target=time.sleep, args=(300,)).start()
subprocess.Popen([sys.executable, "-c", "import time; time.sleep(300)"])
say(ok=True)
os.write(int(sys.argv[2]), b'{"done": true}\\n')
""")
    assert time.monotonic() - start < 5
    assert outcome.done and outcome.reason() is None and not outcome.timed_out


def test_printing_too_much_stops_the_run(tmp_path):
    outcome = jailed(tmp_path, """
while True:
    print("x" * 1000)
""", output_bytes=1 << 20)
    assert outcome.printed_too_much and "printed more than 1 MB" in outcome.reason()
    assert len(outcome.output) <= 4000


def test_results_are_capped(tmp_path):
    outcome = jailed(tmp_path, """
import os, sys
fd = int(sys.argv[2])
while True:
    os.write(fd, b"y" * 65536)
""", result_bytes=1 << 20)
    assert outcome.stopped == "results" and len(outcome.results) == 1 << 20


def test_the_cpu_limit(tmp_path):
    outcome = jailed(tmp_path, """
while True:
    pass
""", cpu_seconds=1, wall_seconds=30)
    assert not outcome.timed_out and outcome.seconds < 10
    assert outcome.returncode in (-signal.SIGXCPU, -signal.SIGKILL)
    assert outcome.reason() == "ran past the CPU time limit (1 s)"


def test_memory_is_capped(tmp_path):
    outcome = jailed(tmp_path, WRITE + """
try:
    block = bytearray(2 << 30)
    say(allocated=True)
except MemoryError:
    say(allocated=False)
""")
    assert report(outcome) == {"allocated": False}


def test_without_a_jail_the_limits_still_hold(tmp_path):
    start = time.monotonic()
    outcome = jailed(tmp_path, WRITE + """
say(cwd=os.getcwd())
import time
time.sleep(300)
""", jail=False, wall_seconds=2)
    assert time.monotonic() - start < 10 and outcome.timed_out and not outcome.jailed
    assert report(outcome)["cwd"] == str(tmp_path / "ps4")


def test_no_bubblewrap_is_one_line_saying_what_to_install(tmp_path):
    env = {**os.environ, "PATH": str(tmp_path)}
    check = subprocess.run([sys.executable, "-m", "mlp.teaching.jail"], env=env,
                           capture_output=True, text=True, timeout=60)
    assert check.returncode == 1
    assert check.stdout.strip() == ("no jail: bubblewrap (bwrap) is not installed: apt-get "
                                    "install bubblewrap (Debian, Ubuntu) or dnf install "
                                    "bubblewrap (Fedora)")
    (tmp_path / "mlp.py").write_text("")
    grade = subprocess.run([sys.executable, "-m", "mlp", "grade", str(tmp_path / "mlp.py")],
                           env=env, capture_output=True, text=True, timeout=60)
    assert grade.returncode == 2 and len(grade.stderr.splitlines()) == 1
    assert "bubblewrap (bwrap) is not installed" in grade.stderr
    assert "--no-jail" in grade.stderr and "Traceback" not in grade.stderr
