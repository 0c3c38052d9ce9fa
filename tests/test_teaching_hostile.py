"""``mlp grade`` against hostile submissions (tests/fixtures/hostile, each file's docstring says
what it attempts and what the grader must do): graded as one class, beside the reference
solution and the starter, by the command itself in a process of its own.

For each one: no more points than honest work deserves (the starter's 0, or 45 for a correct
solution with something nasty on the side), nothing of the grader's environment in any
report, a report for every student, nothing left running afterwards, and the reference
solution still at 45.
"""

from __future__ import annotations

import contextlib
import csv
import os
import pickle
import re
import secrets
import selectors
import shutil
import signal
import site
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

import mlp
from mlp.teaching.assignment import solution_source, starter_source
from mlp.teaching.report import gradescope_results, text_report

HOSTILE = Path(__file__).parent / "fixtures" / "hostile"
#: Folder names a spreadsheet would read as formulas; each holds csv_formula.py.
FORMULA_NAMES = ('=HYPERLINK("evil.example","x")', "@SUM(1+9)", "+1+1", "-2+3")
#: In the command line of a process the hostile fixtures start (the daemon, the fork bomb).
PROCESS_MARKER = b"mlp-hostile-"
#: The files write_site_packages.py tries to create, and the line they would start with.
PACKAGE_MARKERS = ("mlp_hostile_marker.py", "mlp_hostile_marker.pth",
                   "mlp_hostile_marker_customize.py")
MARKER_CONTENT = b"# mlp-hostile-fixture"
#: What honest work earns in each fixture (the others deserve the starter's 0).
DESERVED = {"solution": 45, "lingering_thread": 45}
#: Characters no report may show: escapes, C0/C1 controls but newline, bidi overrides.
UNSAFE = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")
#: The command's address space in bytes: a grader that read /dev/zero for a student would fail
#: here rather than take the machine's memory.
GRADER_MEMORY = 16 * 2**30
TIMEOUT = 900

pytestmark = pytest.mark.skipif(shutil.which("bwrap") is None,
                                reason="the grader's jail needs bubblewrap (bwrap)")

#: Runs ``mlp grade`` and keeps the results it wrote reports from, for the item-level checks:
#: ``python -c DRIVER RESULTS.pickle grade ...``.
DRIVER = """
import pickle, sys
import mlp.teaching.grader as grader

captured = []
original = grader.grade_class

def grade_class(*args, **kwargs):
    results = original(*args, **kwargs)
    captured.extend(results)
    return results

grader.grade_class = grade_class
from mlp.cli import main  # after the patch, however the command imports grade_class

status = main(sys.argv[2:])
with open(sys.argv[1], "wb") as f:
    pickle.dump(captured, f)
sys.exit(status)
"""


class Listener:
    """A TCP port on 127.0.0.1 and ::1, UDP on the same port, and an abstract Unix socket,
    that note whatever reaches them."""

    def __init__(self) -> None:
        self.seen: list[str] = []
        self.selector = selectors.DefaultSelector()
        tcp = socket.create_server(("127.0.0.1", 0))
        self.port = tcp.getsockname()[1]
        sockets = [("tcp", tcp)]
        with contextlib.suppress(OSError):
            sockets.append(("tcp6", socket.create_server(("::1", self.port),
                                                         family=socket.AF_INET6)))
        udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        with contextlib.suppress(OSError):
            udp.bind(("127.0.0.1", self.port))
            sockets.append(("udp", udp))
        unix = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        unix.bind(f"\0mlp-hostile-fixture-{self.port}")
        unix.listen()
        sockets.append(("unix", unix))
        self.sockets = [s for _, s in sockets]
        for kind, s in sockets:
            s.setblocking(False)
            self.selector.register(s, selectors.EVENT_READ, kind)
        self.running = True
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while self.running:
            for key, _ in self.selector.select(0.2):
                with contextlib.suppress(OSError):
                    if key.data == "udp":
                        data, _ = key.fileobj.recvfrom(4096)
                        self.seen.append(f"udp: {data[:40]!r}")
                    else:
                        conn, _ = key.fileobj.accept()
                        self.seen.append(f"{key.data} connection")
                        conn.close()

    def close(self) -> None:
        self.running = False
        self.thread.join(5)
        for s in self.sockets:
            s.close()


@dataclass
class Graded:
    results: dict
    folder: Path
    out: Path
    sources: dict[str, bytes]
    returncode: int
    stdout: str
    stderr: str
    seconds: float
    canary: str
    #: The output folder's files just after the command ended, and three seconds later.
    written: dict[str, bytes]
    later: dict[str, bytes]
    #: Processes of the hostile fixtures still there after the command ended: (pid, cmdline).
    left: list[tuple[int, bytes]]
    #: Marker files of write_site_packages.py found outside the jail.
    markers: list[Path]
    network: list[str]


def build_class(folder: Path, port: int) -> dict[str, bytes]:
    """One folder per hostile fixture, the solution and the starter; the source of each."""
    sources = {"solution": solution_source().encode(), "starter": starter_source().encode()}
    for path in sorted(HOSTILE.glob("*.py")):
        text = path.read_text()
        if path.stem == "network":
            text = text.replace("\nPORT = 0 ", f"\nPORT = {port} ", 1)
        if path.stem == "csv_formula":
            for name in FORMULA_NAMES:
                sources[name] = text.encode()
        else:
            sources[path.stem] = text.encode()
    for name, source in sources.items():
        (folder / name).mkdir(parents=True)
        (folder / name / "mlp.py").write_bytes(source)
    return sources


def snapshot(folder: Path) -> dict[str, bytes]:
    if not folder.is_dir():
        return {}
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}


def marked_processes() -> list[tuple[int, bytes]]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and int(entry.name) != os.getpid():
            with contextlib.suppress(OSError):
                cmdline = (entry / "cmdline").read_bytes()
                if PROCESS_MARKER in cmdline:
                    found.append((int(entry.name), cmdline.replace(b"\0", b" ")[-80:]))
    return found


def package_folders() -> set[Path]:
    """Where write_site_packages.py would leave its markers on this machine."""
    folders = {Path(p) for p in [*site.getsitepackages(), site.getusersitepackages(),
                                 *sys.path, sys.prefix, sys.base_prefix] if p}
    folders |= {Path(np.__file__).parent, Path(os.__file__).parent,
                Path(mlp.__file__).parent, Path(mlp.__file__).parent / "teaching",
                Path("/usr/lib/python3/dist-packages")}
    return {f for f in folders if f.is_dir()}


def package_markers(extra: list[Path] = ()) -> list[Path]:
    found = []
    for path in [*(f / n for f in package_folders() for n in PACKAGE_MARKERS), *extra]:
        with contextlib.suppress(OSError):
            if path.is_file() and path.read_bytes().startswith(MARKER_CONTENT):
                found.append(path)
    return sorted(set(found))


def limit_memory() -> None:
    import resource

    resource.setrlimit(resource.RLIMIT_AS, (GRADER_MEMORY, GRADER_MEMORY))


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """Every hostile fixture graded as one class, two at a time, by ``mlp grade`` with a canary
    in its environment."""
    for path in package_markers():
        path.unlink()
    tmp = tmp_path_factory.mktemp("hostile")
    listener = Listener()
    folder, out, pickled = tmp / "class", tmp / "grades", tmp / "results.pickle"
    sources = build_class(folder, listener.port)
    canary = f"canary-{secrets.token_hex(16)}"
    env = {**os.environ, "MLP_GRADER_CANARY": canary}
    start = time.monotonic()
    proc = subprocess.Popen([sys.executable, "-c", DRIVER, str(pickled), "grade", str(folder),
                             "--out", str(out), "--workers", "2"],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            start_new_session=True, preexec_fn=limit_memory)
    try:
        stdout, stderr = proc.communicate(timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        pytest.fail(f"mlp grade did not finish within {TIMEOUT} s")
    finally:
        listener.close()
    seconds = time.monotonic() - start
    written = snapshot(out)
    time.sleep(3)
    later, left = snapshot(out), marked_processes()
    results = {}
    if pickled.is_file():
        with open(pickled, "rb") as f:
            results = {r.name: r for r in pickle.load(f)}
    wrote = [Path(path) for r in results.values() for problem in problems(r)
             for path in re.findall(r"(/[^ ,]*mlp_hostile_marker[a-z_]*\.p[yt]h?)", problem)]
    markers = package_markers(wrote)
    yield Graded(results, folder, out, sources, proc.returncode,
                 stdout.decode("utf-8", "replace"), stderr.decode("utf-8", "replace"), seconds,
                 canary, written, later, left, markers, list(listener.seen))
    for pid, _ in marked_processes():
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)
    for path in package_markers(wrote):
        path.unlink()


def problems(result) -> list[str]:
    return [c.problem for q in result.questions for i in q.items for c in i.cases if c.problem]


def item(result, label: str, name: str):
    (q,) = [q for q in result.questions if q.label == label]
    (i,) = [i for i in q.items if i.name == name]
    return i


def graded_one(graded: Graded, name: str):
    """The student's result, after the checks every hostile fixture shares: graded in the jail
    with a report, no more points than deserved, no trace of the grader's environment."""
    assert graded.returncode == 0, graded.stderr[-2000:]
    assert name in graded.results, f"no result for {name}: {graded.stderr[-2000:]}"
    result = graded.results[name]
    assert result.jailed
    assert result.max_score == 45
    assert "grader error" not in (result.problem or "")
    report = text_report(result)
    assert "Traceback" not in report
    assert report in {text.decode("utf-8", "replace") for text in graded.written.values()}
    assert graded.canary not in report + str(gradescope_results(result)) + repr(result)
    assert result.score <= DESERVED.get(name, graded.results["starter"].score), report
    return result


def test_every_student_is_graded_in_the_jail_with_a_report(graded):
    assert graded.returncode == 0, graded.stderr[-2000:]
    assert "Traceback" not in graded.stderr
    assert set(graded.results) == set(graded.sources)
    for name in graded.sources:
        graded_one(graded, name)
    assert sum(name.endswith(".txt") for name in graded.written) == len(graded.sources)
    assert graded.seconds < 600, graded.seconds


def test_the_reference_solution_beside_them_still_scores_45(graded):
    assert graded_one(graded, "solution").score == 45
    assert graded.results["solution"].problem is None
    assert graded_one(graded, "starter").score == 0


@pytest.mark.parametrize("name", sorted(p.stem for p in HOSTILE.glob("*.py")
                                        if p.stem not in ("csv_formula", *DESERVED)))
def test_a_hostile_submission_earns_no_more_than_the_starter(graded, name):
    assert graded_one(graded, name).score == 0


def test_the_installed_mlp_package_cannot_be_imported(graded):
    result = graded_one(graded, "installed_package")
    assert any("the installed mlp package could not be imported" in p for p in problems(result))


def test_the_solution_template_cannot_be_found(graded):
    result = graded_one(graded, "solution_template")
    assert any("no template found" in p for p in problems(result))


def test_other_processes_descriptors_are_out_of_reach(graded):
    graded_one(graded, "other_fds")
    assert graded_one(graded, "solution").score == 45
    for name, result in graded.results.items():  # nobody got points from forged results
        assert result.score <= DESERVED.get(name, 0), name


def test_the_graders_environment_does_not_reach_the_student(graded):
    result = graded_one(graded, "environ_leak")
    assert any("leaked environment:" in p for p in problems(result))  # its code did run
    assert graded.canary not in graded.stdout + graded.stderr
    for name, data in graded.later.items():
        assert graded.canary.encode() not in data, name
    for r in graded.results.values():
        assert graded.canary not in repr(r) + "".join(q.output for q in r.questions)


def test_killing_everything_in_reach_stops_only_itself(graded):
    result = graded_one(graded, "kill_grader")
    assert len(result.questions) == 6
    assert result.seconds < 120, result.seconds
    assert graded_one(graded, "solution").score == 45


def test_vandalising_its_folders_costs_bounded_time(graded):
    result = graded_one(graded, "workdir_vandal")
    assert result.seconds < 120, result.seconds
    assert any("not implemented yet (Q2.1)" in p for p in problems(result))


def test_a_setsid_daemon_does_not_outlive_the_grading(graded):
    graded_one(graded, "setsid_daemon")
    assert not [p for p in graded.left if b"daemon" in p[1]], graded.left
    assert graded.later == graded.written
    assert "owned-by-daemon.txt" not in graded.later
    with open(graded.out / "gradebook.csv", newline="") as f:
        rows = {row["student"]: row for row in csv.DictReader(f)}
    assert rows["setsid_daemon"]["score"] == "0"


def test_nothing_is_written_into_the_package_or_site_packages(graded):
    graded_one(graded, "write_site_packages")
    assert not graded.markers


def test_the_jails_own_folders_are_read_only(graded):
    """Not only the host's folders: in the jail too, nothing but /tmp may be written (a module
    planted on the jail's sys.path would run in the probe's process)."""
    result = graded_one(graded, "write_site_packages")
    assert not [p for p in problems(result) if "WROTE:" in p]
    assert any("not implemented yet (Q2.1)" in p for p in problems(result))


def test_no_network_even_to_this_machine(graded):
    result = graded_one(graded, "network")
    assert graded.network == []
    assert any("reached: []" in p for p in problems(result))


def test_a_fork_bomb_is_bounded(graded):
    result = graded_one(graded, "fork_bomb")
    assert result.seconds < 120, result.seconds
    assert not [p for p in graded.left if b"fork-bomb" in p[1]], graded.left


def test_students_cannot_read_or_overwrite_each_other(graded):
    graded_one(graded, "class_reader")
    for name, source in graded.sources.items():
        assert (graded.folder / name / "mlp.py").read_bytes() == source, name
    assert graded_one(graded, "solution").score == 45
    assert not list(Path("/tmp").glob("mlp-hostile-fill-*"))


def test_escape_sequences_and_fake_lines_do_not_reach_the_reports(graded):
    result = graded_one(graded, "ansi_fake_lines")
    report = text_report(result)
    texts = [report, *(t["output"] for t in gradescope_results(result)["tests"]),
             graded.stdout, (graded.out / "gradebook.csv").read_text()]
    for text in texts:
        assert not UNSAFE.search(text.replace("\r\n", "\n")), repr(UNSAFE.search(text))
    lines = report.splitlines()
    assert not [line for line in lines if line.lstrip().startswith(("45 / 45", "[ok]"))]
    assert all(line.endswith(f": 0 / {q.points:g}") for q in result.questions
               for line in lines if line.startswith(q.label + " "))
    assert sum(line.startswith("Q2.") for line in lines) == len(result.questions)
    assert not [line for line in graded.stdout.splitlines() if line.startswith("45 / 45")]
    for data in graded.later.values():
        assert b"\x1b" not in data


def test_folder_names_never_become_spreadsheet_formulas(graded):
    with open(graded.out / "gradebook.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == len(graded.sources)
    for row in rows:
        for cell in row.values():
            assert not cell.startswith(("=", "+", "-", "@", "\t", "\r")), row
    for name in FORMULA_NAMES:
        assert graded_one(graded, name).score == 0


def test_a_lingering_thread_does_not_hold_the_grading(graded):
    result = graded_one(graded, "lingering_thread")
    assert result.score == 45
    solution = graded.results["solution"]
    assert result.seconds < solution.seconds + 15, (result.seconds, solution.seconds)


def test_memorised_labels_earn_no_accuracy_points(graded):
    result = graded_one(graded, "memoriser")
    for label in ("Q2.5.1", "Q2.5.2"):
        for name in ("validation accuracy", "test accuracy"):
            assert item(result, label, name).score == 0, (label, name)
    assert result.score == 0


def test_nothing_outlives_the_grading(graded):
    assert graded.left == []
