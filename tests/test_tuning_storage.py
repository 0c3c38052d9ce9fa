"""``mlp tune`` across processes: a real PostgreSQL server (a throw-away cluster started as the
``postgres`` user, since PostgreSQL refuses to run as root), worker processes that join one
study by URL, a worker killed with SIGKILL mid-trial, a resumed search, and the journal file."""

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

optuna = pytest.importorskip("optuna")
from optuna.trial import TrialState  # noqa: E402

from mlp.tuning import parse_space, search  # noqa: E402
from mlp.tuning.storage import open_storage  # noqa: E402
from mlp.tuning.workers import THREAD_VARS, worker_env  # noqa: E402

PG_BIN = Path("/usr/lib/postgresql/15/bin")
ROOT = Path(__file__).resolve().parents[1]
# Trials of about a second: long enough to be killed in the middle of one.
SLOW_TRIAL = ["--hidden", "256", "--epochs", "4", "--lr", "0.01:0.2:log",
              "--pruner", "none", "--heartbeat", "1", "--no-retrain", "--no-plots"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _as_postgres(*args: str, **kwargs) -> subprocess.CompletedProcess:
    """Run a PostgreSQL program as the ``postgres`` user (root when the tests run as root)."""
    prefix = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    return subprocess.run([*prefix, *args], check=True, capture_output=True, text=True,
                          **kwargs)


@pytest.fixture(scope="session")
def postgres_url():
    """A PostgreSQL 15 cluster in a temporary folder on 127.0.0.1, trust authentication, one
    database; stopped and removed after the tests."""
    if not (PG_BIN / "initdb").exists():
        pytest.fail(f"PostgreSQL 15 is not installed ({PG_BIN}): apt-get install postgresql")
    root = Path(tempfile.mkdtemp(prefix="mlp-pg-"))
    if os.geteuid() == 0:
        shutil.chown(root, "postgres", "postgres")
    data, port = root / "data", _free_port()
    _as_postgres(str(PG_BIN / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust",
                 "-E", "UTF8")
    _as_postgres(str(PG_BIN / "pg_ctl"), "-D", str(data), "-l", str(root / "log"), "-w", "-o",
                 f"-h 127.0.0.1 -p {port} -k {root}", "start")
    try:
        _as_postgres(str(PG_BIN / "createdb"), "-h", "127.0.0.1", "-p", str(port), "-U",
                     "postgres", "mlp_tune")
        yield f"postgresql://postgres@127.0.0.1:{port}/mlp_tune"
    finally:
        _as_postgres(str(PG_BIN / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop")
        shutil.rmtree(root, ignore_errors=True)


def _tune(*args: str, **kwargs) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    return subprocess.Popen([sys.executable, "-m", "mlp", "tune", *args], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            **kwargs)


def _finish(proc: subprocess.Popen, timeout: float = 120) -> str:
    out, _ = proc.communicate(timeout=timeout)
    assert proc.returncode == 0, out
    return out


def _study(url: str, name: str):
    return optuna.load_study(study_name=name, storage=open_storage(url, 1))


def _by_state(study, *states):
    return [t for t in study.get_trials(deepcopy=False) if t.state in states]


def _wait_for_running(url: str, name: str, pid: int, limit: float = 60):
    """The trial that process ``pid`` runs now, once it runs one."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        try:
            study = _study(url, name)
        except KeyError:  # not created yet
            study = None
        for t in (study.get_trials(states=(TrialState.RUNNING,)) if study else []):
            # Once its values are sampled: the retry must run with the same ones.
            if t.user_attrs.get("worker", "").endswith(f":{pid}") and "lr" in t.params:
                return t
        time.sleep(0.05)
    raise AssertionError(f"process {pid} ran no trial within {limit} s")


def test_two_workers_share_a_postgres_study_survive_a_kill_and_resume(postgres_url, tmp_path):
    name = "shared"
    common = [*SLOW_TRIAL, "--storage", postgres_url, "--study", name, "--trials", "10"]
    a = _tune(*common, "--out", str(tmp_path / "a"))
    b = _tune(*common, "--out", str(tmp_path / "b"))
    killed = _wait_for_running(postgres_url, name, a.pid)
    a.send_signal(signal.SIGKILL)
    a.communicate()
    out_b = _finish(b)

    study = _study(postgres_url, name)
    trials = study.get_trials()
    dead = trials[killed.number]
    assert dead.state == TrialState.FAIL  # marked by b's heartbeat check, not left running
    retries = [t for t in trials if t.system_attrs.get("failed_trial") == killed.number]
    assert len(retries) == 1
    assert retries[0].state == TrialState.COMPLETE
    assert retries[0].params == killed.params == dead.params
    assert retries[0].user_attrs["worker"].endswith(f":{b.pid}")
    assert f"trial {retries[0].number}: val_accuracy" in out_b
    finished = _by_state(study, TrialState.COMPLETE)
    # b completed what a could not: 10 trials (or one more, as each worker stops once it sees
    # 10 finished, and the retry may come last).
    assert len(finished) in (10, 11)
    assert not _by_state(study, TrialState.RUNNING, TrialState.WAITING)
    assert len({t.user_attrs["worker"] for t in finished}) in (1, 2)

    # The same command again, asking for 2 more: it runs exactly those.
    before = {t.number for t in finished}
    out = _finish(_tune(*common[:-1], str(len(finished) + 2), "--out", str(tmp_path / "c")))
    after = _by_state(_study(postgres_url, name), TrialState.COMPLETE)
    assert len(after) == len(finished) + 2
    new = sorted(t.number for t in after if t.number not in before)
    assert new == [len(trials), len(trials) + 1]
    assert [f"trial {n}: val_accuracy" in out for n in new] == [True, True]


def test_worker_processes_have_their_share_of_blas_threads(tmp_path):
    env = worker_env(2)
    share = str(max(1, len(os.sched_getaffinity(0)) // 2))
    assert {env[v] for v in THREAD_VARS} == {share}
    probe = ("import json, numpy, threadpoolctl; "
             "print(json.dumps([p['num_threads'] for p in threadpoolctl.threadpool_info()]))")
    threads = json.loads(subprocess.run([sys.executable, "-c", probe], env=env, check=True,
                                        capture_output=True, text=True).stdout)
    assert threads and set(threads) == {int(share)}


def test_workers_option_runs_local_processes_on_sqlite(tmp_path):
    out = _finish(_tune("--hidden", "32", "--epochs", "1", "--train-size", "1000",
                        "--lr", "0.01:0.3:log", "--trials", "6", "--workers", "2",
                        "--out", str(tmp_path), "--no-plots", "--no-retrain"))
    study = _study(f"sqlite:///{tmp_path / 'study.db'}", "mlp-tune")
    finished = _by_state(study, TrialState.COMPLETE, TrialState.PRUNED)
    assert len(finished) in (6, 7)  # each worker stops once it sees 6: one may be underway
    workers = {t.user_attrs["worker"] for t in finished}
    assert len(workers) == 2
    assert "[worker 1] trial" in out and "[worker 2] trial" in out


def test_journal_file_heartbeat_fails_and_retries_a_killed_trial(tmp_path):
    journal = f"journal:{tmp_path / 'study.journal'}"
    common = [*SLOW_TRIAL, "--storage", journal, "--trials", "3", "--out", str(tmp_path)]
    victim = _tune(*common)
    killed = _wait_for_running(journal, "mlp-tune", victim.pid)
    victim.send_signal(signal.SIGKILL)
    victim.communicate()
    time.sleep(3.5)  # three heartbeats: the killed trial is stale now
    out = _finish(_tune(*common))  # the same command: resumes the study

    study = _study(journal, "mlp-tune")
    trials = study.get_trials()
    assert trials[killed.number].state == TrialState.FAIL
    retry = trials[killed.number + 1]
    assert retry.system_attrs["failed_trial"] == killed.number
    assert retry.params == killed.params and retry.state == TrialState.COMPLETE
    assert len(_by_state(study, TrialState.COMPLETE)) == 3
    assert f"trial {retry.number}: val_accuracy" in out


def test_a_search_resumes_in_process_and_runs_only_the_missing_trials(tmp_path):
    space = parse_space({"hidden": "16", "epochs": "1", "train_size": "500",
                         "lr": "0.01:0.3:log"})
    url = f"sqlite:///{tmp_path / 'study.db'}"
    first = search(space, url, trials=3, pruner="none", echo=None)
    values = [t.value for t in first.trials]
    again = search(space, url, trials=5, pruner="none", echo=None)
    assert [t.number for t in again.trials] == [0, 1, 2, 3, 4]
    assert [t.value for t in again.trials[:3]] == values
    assert len(search(space, url, trials=5, pruner="none", echo=None).trials) == 5


def _torn_journal(path):
    path.write_text('{"op_code": 0, "worker_id": "w", "study_name": "mlp-tune", '
                    '"directions": [1]}\n{"op_code": 5, "wor')
    return path


@pytest.mark.parametrize("store, words", [
    (lambda tmp: f"sqlite:///{tmp / 'bad.db'}", ["not a study database, or a damaged one",
                                                 "file is not a database"]),
    (lambda tmp: "postgresql://someone:hunter2@127.0.0.1:1/db",
     ["postgresql://someone:***@127.0.0.1:1/db", "the database cannot be used",
      "is the server running"]),
    (lambda tmp: f"journal:{_torn_journal(tmp / 'torn.journal')}",
     ["line 2 of the journal is not a whole record", "remove it, or start a new journal"]),
], ids=["damaged-sqlite", "unreachable-postgres", "torn-journal"])
def test_a_damaged_or_unreachable_store_is_one_line(tmp_path, store, words):
    (tmp_path / "bad.db").write_bytes(bytes(range(256)) * 20)
    url = store(tmp_path)
    result = subprocess.run([sys.executable, "-m", "mlp", "tune", "--epochs", "1",
                             "--train-size", "300", "--trials", "1", "--storage", url,
                             "--out", str(tmp_path / "o"), "--quiet", "--no-plots"],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 2
    assert len(result.stderr.splitlines()) == 1 and "Traceback" not in result.stderr
    assert result.stderr.startswith(f"mlp tune: error: --storage {url.split('someone')[0]}")
    for word in words:
        assert word in result.stderr
    assert "hunter2" not in result.stderr
