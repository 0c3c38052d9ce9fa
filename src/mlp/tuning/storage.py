"""Where a study lives, and the heartbeats that let a killed worker's trial be retried.

``--storage`` takes a database URL that every worker reaches (``postgresql://user@host/db``,
``mysql+pymysql://...``; ``sqlite:///study.db`` for one machine only: SQLite's locks do not hold
on network disks), or ``journal:FILE``, Optuna's append-only journal file on a disk that the
workers share. Each running trial records a heartbeat every ``heartbeat`` seconds; a trial
whose heartbeat is older than ``3 * heartbeat`` is marked failed by the next worker that starts
a trial, and a copy of it (same parameters) is queued for another worker to run. That is
Optuna's own mechanism for databases; a journal file gets it here, by keeping the heartbeat as
a system attribute of the trial.
"""

from __future__ import annotations

import contextlib
import functools
import inspect
import json
import sqlite3
import time
import warnings
from collections.abc import Iterator
from pathlib import Path

#: How many times a trial whose worker died is run again before it is given up.
MAX_RETRY = 3
#: A trial is stale when its heartbeat is this many intervals old.
GRACE_INTERVALS = 3
HEARTBEAT_ATTR = "mlp:heartbeat"
JOURNAL = "journal:"


def default_url(folder: Path) -> str:
    """A SQLite file in the search's folder (one machine; see the module's notes)."""
    return f"sqlite:///{(folder / 'study.db').resolve()}"


class StoreError(OSError):
    """A study's store that cannot be used: damaged, unreachable, or not a study store. The
    message names the store and what to do."""


def open_storage(url: str, heartbeat: int = 10):
    """The Optuna storage of ``url``, with heartbeats every ``heartbeat`` seconds;
    :class:`StoreError` if the store is damaged or unreachable."""
    if isinstance(heartbeat, bool) or not isinstance(heartbeat, int) or heartbeat < 1:
        raise ValueError(f"heartbeat must be a whole number of seconds >= 1, got {heartbeat!r}")
    from optuna.exceptions import ExperimentalWarning

    with warnings.catch_warnings(), store_errors(url):
        # Heartbeats are "experimental" in Optuna's words, and have been since 2.8.
        warnings.simplefilter("ignore", ExperimentalWarning)
        return _open(url, heartbeat)


@contextlib.contextmanager
def store_errors(url: str) -> Iterator[None]:
    """The store's own errors (SQLAlchemy's, a journal's JSON) as a :class:`StoreError`."""
    from sqlalchemy.exc import SQLAlchemyError

    try:
        yield
    except (SQLAlchemyError, json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise StoreError(store_problem(url, exc)) from None


def store_problem(url: str, exc: Exception) -> str:
    """What is wrong with the store ``url``, and what to do, on one line."""
    detail = " ".join(str(getattr(exc, "orig", None) or exc).split())[:200]
    if url.startswith(JOURNAL):
        line = _bad_journal_line(url[len(JOURNAL):])
        where = f"line {line}" if line else "a line"
        return (f"--storage {url}: {where} of the journal is not a whole record ({detail}); "
                "a worker killed while writing leaves such a line: remove it, or start a new "
                "journal file")
    if url.startswith("sqlite"):
        return (f"--storage {url}: not a study database, or a damaged one ({detail}): give "
                "another file, or move this one away and run again")
    return (f"--storage {_without_password(url)}: the database cannot be used ({detail}): is "
            "the server running, and are the host, port, user and database in the URL right?")


def _bad_journal_line(path: str) -> int | None:
    """The number of the first line of a journal file that is not JSON."""
    try:
        with open(path, "rb") as f:
            for number, line in enumerate(f, start=1):
                try:
                    json.loads(line)
                except ValueError:
                    return number
    except OSError:
        return None
    return None


def _without_password(url: str) -> str:
    """``url`` with its password, if any, left out (the message may end up in a log)."""
    head, sep, rest = url.partition("://")
    user, at, host = rest.rpartition("@")
    if at and ":" in user:
        user = user.split(":", 1)[0] + ":***"
    return f"{head}{sep}{user}{at}{host}" if at else url


def _open(url: str, heartbeat: int):
    import optuna

    retry = _retry_callback()
    if url.startswith(JOURNAL):
        return _journal(url[len(JOURNAL):], heartbeat, retry)
    if "://" not in url:
        raise ValueError(f"--storage {url}: expected a database URL such as "
                         "postgresql://user@host/db or sqlite:///study.db, or journal:FILE")
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://"):]  # psycopg 3, not psycopg2
    engine = None
    if url.startswith("sqlite:///"):
        engine = {"creator": functools.partial(_sqlite_connection, url[len("sqlite:///"):])}
    kwargs = {"engine_kwargs": engine, "heartbeat_interval": heartbeat,
              "grace_period": GRACE_INTERVALS * heartbeat, _stale_callback_name(): retry}
    try:
        return _created(lambda: optuna.storages.RDBStorage(url, **kwargs))
    except ImportError as exc:
        raise ImportError(f"--storage {url.split(':', 1)[0]}: its database driver is missing "
                          f"({exc}); PostgreSQL's comes with pip install \"mlp[tune]\"") from exc


def _sqlite_connection(path: str) -> sqlite3.Connection:
    """A connection to the SQLite file ``path`` in write-ahead-log mode with NORMAL syncing.

    SQLite's default syncs the whole file to disk at every commit, and a trial makes several
    (its parameters, each epoch's value, its end): on small trials that bookkeeping cost as much
    as the training and kept two local workers waiting on each other's locks. With a write-ahead
    log, a killed worker still leaves a consistent database (only a power cut can lose the last
    commits), and readers no longer block the writer.
    """
    connection = sqlite3.connect(path, timeout=60, check_same_thread=False)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA synchronous=NORMAL")
    return connection


def _created(connect, attempts: int = 5):
    """``connect()``, again if it lost a race: workers started together on an empty database
    all create Optuna's tables, and all but one find them made in the meantime."""
    from sqlalchemy.exc import IntegrityError, ProgrammingError

    for attempt in range(attempts):
        try:
            return connect()
        except (IntegrityError, ProgrammingError):
            if attempt == attempts - 1:
                raise
            time.sleep(0.2 * (attempt + 1))


def _retry_callback():
    """Optuna's callback that queues a copy of a stale trial (its 4.9 name, or the older)."""
    import optuna.storages as storages

    retry = getattr(storages, "RetryHeartbeatStaleTrialCallback", None)
    return (retry or storages.RetryFailedTrialCallback)(max_retry=MAX_RETRY)


def _stale_callback_name() -> str:
    from optuna.storages import RDBStorage

    names = inspect.signature(RDBStorage).parameters
    return ("heartbeat_stale_trial_callback" if "heartbeat_stale_trial_callback" in names
            else "failed_trial_callback")  # before Optuna 4.9


def _journal(path: str, heartbeat: int, retry):
    from optuna.storages import JournalStorage
    from optuna.storages._heartbeat import BaseHeartbeat
    from optuna.storages.journal import JournalFileBackend
    from optuna.trial import TrialState

    if not path:
        raise ValueError("--storage journal:FILE: give the journal file's path, such as "
                         "journal:study.journal")

    class HeartbeatJournal(JournalStorage, BaseHeartbeat):
        """A journal file whose running trials record a heartbeat (a system attribute)."""

        def record_heartbeat(self, trial_id: int) -> None:
            self.set_trial_system_attr(trial_id, HEARTBEAT_ATTR, time.time())

        def _get_stale_trial_ids(self, study_id: int) -> list[int]:
            limit = time.time() - GRACE_INTERVALS * heartbeat
            running = self.get_all_trials(study_id, deepcopy=False, states=(TrialState.RUNNING,))
            # A retried trial carries its failed original's last beat: the start counts too.
            return [t._trial_id for t in running
                    if max(t.system_attrs.get(HEARTBEAT_ATTR, 0.0), _started(t)) < limit]

        def get_heartbeat_interval(self) -> int:
            return heartbeat

        def get_heartbeat_stale_trial_callback(self):
            return retry

        get_failed_trial_callback = get_heartbeat_stale_trial_callback  # before Optuna 4.9

    return HeartbeatJournal(JournalFileBackend(path))


def _started(trial) -> float:
    return trial.datetime_start.timestamp() if trial.datetime_start else time.time()
