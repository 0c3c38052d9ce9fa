"""The jail a student's code runs in: a bubblewrap (``bwrap``) sandbox.

Each run gets its own user, PID, network, IPC, UTS and mount namespaces, an unprivileged uid
and gid, and a file system that holds only what the student's code may use, read-only:

- the Python interpreter and its standard library (every ``site-packages`` or
  ``dist-packages`` folder under it hidden by an empty read-only tmpfs),
- the shared libraries in ``/usr/lib`` (``/lib`` and ``/lib64`` as the host has them),
- NumPy, on its own at ``/opt/jail-site``,
- the question's folder at ``/ps4`` (the student's ``mlp.py``, ``utils.py``, the probe, its
  tasks and input arrays),
- a private, size-capped tmpfs at ``/tmp`` (``HOME`` and ``TMPDIR``), and fresh ``/proc`` and
  ``/dev``.

The ``mlp`` package, its templates, the reference values and the labels the student must not
see are not in there; :func:`mounts` refuses to build a jail that would show the package.
``--die-with-parent`` ties the jail to its runner, and when the PID namespace's first process
dies the kernel kills every other process in it.

As root, bubblewrap runs as a jail uid of its own (``JAIL_UID`` + a slot): the jail's
processes are then an unprivileged user outside the namespace too, and the process limit
(``RLIMIT_NPROC``, which does not apply to root) holds. Files an unprivileged user cannot
reach (a Python under ``/root``) are first bound read-only into a tmpfs by an outer
bubblewrap that runs as root, adds ``CAP_SETUID``/``CAP_SETGID`` only to drop to the jail uid,
and shares everything else with the host.

``python -m mlp.teaching.jail`` says whether a jail can be made here (exit status 0) or what is
missing (1).
"""

from __future__ import annotations

import functools
import importlib.util
import os
import shutil
import site
import subprocess
import sys
import sysconfig
from dataclasses import dataclass
from pathlib import Path

#: Where NumPy is in the jail, and the question's folder.
SITE = "/opt/jail-site"
WORK = "/ps4"
#: The uid and gid the jail's processes have inside.
INSIDE_UID = 1000
#: As root: the first of the uids the jails run as outside (one per concurrent jail).
JAIL_UID = 61000
#: Folders of shared libraries, bound (or linked) as the host has them.
LIBRARY_DIRS = ("/lib", "/lib64", "/usr/lib", "/usr/lib64", "/usr/lib32")


class JailError(OSError):
    """A jail cannot be made on this machine (bubblewrap missing, namespaces disabled, or the
    jail would show what students must not see)."""


@dataclass(frozen=True)
class Mounts:
    """The read-only binds (host path, jail path), the symbolic links (target, jail path), and
    the folders hidden under an empty tmpfs."""

    binds: tuple[tuple[str, str], ...]
    links: tuple[tuple[str, str], ...]
    hidden: tuple[str, ...]
    python: str


def _real(path: str | os.PathLike) -> str:
    return os.path.realpath(path)


def _python() -> str:
    """The base interpreter (not a virtual environment's link to it)."""
    return _real(getattr(sys, "_base_executable", None) or sys.executable)


def _site_dirs() -> set[str]:
    """Every folder that may hold installed packages, the ``mlp`` package's included."""
    dirs = set(site.getsitepackages()) | {site.getusersitepackages()}
    for scheme in ("purelib", "platlib"):
        dirs.add(sysconfig.get_paths()[scheme])
        dirs.add(sysconfig.get_paths(vars={"base": sys.base_prefix,
                                           "platbase": sys.base_exec_prefix})[scheme])
    dirs |= {"/usr/lib/python3/dist-packages", "/usr/local/lib/python3/dist-packages"}
    return {_real(d) for d in dirs if d and os.path.isdir(d)}


def _numpy() -> list[tuple[str, str]]:
    """NumPy's package folder and its bundled libraries, as (host, jail) pairs."""
    spec = importlib.util.find_spec("numpy")
    if spec is None or not spec.submodule_search_locations:
        raise JailError("NumPy is not installed")
    folder = Path(_real(next(iter(spec.submodule_search_locations))))
    pairs = [(str(folder), f"{SITE}/numpy")]
    libs = folder.with_name("numpy.libs")
    if libs.is_dir():
        pairs.append((str(libs), f"{SITE}/numpy.libs"))
    return pairs


def _under(path: str, folder: str) -> bool:
    return path == folder or path.startswith(folder.rstrip("/") + "/")


@functools.lru_cache(maxsize=1)
def mounts() -> Mounts:
    """What the jail holds, computed once."""
    python = _python()
    paths = sysconfig.get_paths(vars={"base": sys.base_prefix,
                                      "platbase": sys.base_exec_prefix})
    runtime = {_real(paths["stdlib"]), _real(paths["platstdlib"]), python}
    libdir, library = sysconfig.get_config_var("LIBDIR"), sysconfig.get_config_var("LDLIBRARY")
    if sysconfig.get_config_var("Py_ENABLE_SHARED") and libdir and library:
        shared = os.path.join(libdir, library)
        if os.path.exists(shared):
            runtime.add(_real(shared))
    links, binds = [], []
    for folder in LIBRARY_DIRS:
        if os.path.islink(folder):
            links.append((os.readlink(folder), folder))
        elif os.path.isdir(folder):
            runtime.add(folder)
    if os.path.isfile("/etc/ld.so.cache"):
        runtime.add("/etc/ld.so.cache")
    # A folder inside another needs no bind of its own.
    for path in sorted(runtime):
        if not any(_under(path, b) for b, _ in binds):
            binds.append((path, path))
    hidden = sorted(d for d in _site_dirs() if any(_under(d, b) for b, _ in binds))
    found = Mounts(tuple(binds + _numpy()), tuple(links), tuple(hidden), python)
    _check_hides_the_package(found)
    return found


def _check_hides_the_package(found: Mounts) -> None:
    package = _real(Path(__file__).parents[1])
    for host, _ in found.binds:
        if _under(package, host) and not any(_under(package, h) for h in found.hidden):
            raise JailError(f"the jail would show the mlp package ({package}), since it is "
                            f"under {host}: install mlp outside Python's own folders (a "
                            "virtual environment, or pip install --user)")


def command(workdir: Path, tmp_bytes: int, argv: list[str],
            staged: dict[str, str] | None = None, info_fd: int | None = None) -> list[str]:
    """The ``bwrap`` command line running ``argv`` (a command inside the jail) with
    ``workdir`` read-only at ``/ps4``; ``staged`` maps host folders to where the outer
    bubblewrap bound them (see :func:`as_root`); bwrap writes its first process's pid to
    ``info_fd``."""
    found, staged = mounts(), staged or {}
    args = [bwrap(), *(["--info-fd", str(info_fd)] if info_fd is not None else []),
            "--unshare-all", "--unshare-user", "--die-with-parent", "--new-session", "--clearenv",
            "--uid", str(INSIDE_UID), "--gid", str(INSIDE_UID), "--disable-userns",
            "--hostname", "jail", "--cap-drop", "ALL"]
    for host, inside in found.binds:
        args += ["--ro-bind", staged.get(host, host), inside]
    for target, inside in found.links:
        args += ["--symlink", target, inside]
    for folder in found.hidden:
        args += ["--tmpfs", folder, "--remount-ro", folder]
    args += ["--ro-bind", staged.get(str(workdir), str(workdir)), WORK, "--chdir", WORK,
             "--size", str(int(tmp_bytes)), "--perms", "1777", "--tmpfs", "/tmp",
             "--proc", "/proc", "--dev", "/dev",
             # The jail's own root (a tmpfs holding the mount points) read-only too.
             "--remount-ro", "/"]
    for name, value in child_env("/tmp").items():
        args += ["--setenv", name, value]
    return [*args, "--", *argv]


#: One thread for each BLAS library NumPy may use: the problem set's matrices are too small to
#: gain from more, and on a busy machine extra threads cost many times what they gain.
ONE_THREAD = {name: "1" for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS",
                                     "MKL_NUM_THREADS", "VECLIB_MAXIMUM_THREADS",
                                     "NUMEXPR_NUM_THREADS")}


def child_env(home: str) -> dict[str, str]:
    """The whole environment of the student's code: nothing of the grader's."""
    return {"PATH": os.defpath, "HOME": home, "TMPDIR": home, "LANG": "C.UTF-8",
            "LC_ALL": "C.UTF-8", "MPLBACKEND": "Agg", **ONE_THREAD}


def as_root(uid: int, stage: Path, workdir: Path) -> tuple[list[str], dict[str, str]]:
    """As root: the command prefix that runs the jail's bwrap as ``uid``, from an outer,
    privileged bwrap that first binds what ``uid`` cannot reach into ``stage`` (an empty
    folder), and the map of those folders to their staged paths (for :func:`command`)."""
    outer = [bwrap(), "--dev-bind", "/", "/", "--die-with-parent",
             "--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID",
             "--perms", "0755", "--tmpfs", str(stage)]
    staged = {}
    for i, host in enumerate([h for h, _ in mounts().binds] + [str(workdir)]):
        if _reachable(host):
            continue
        staged[host] = f"{stage}/{i}"
        if os.path.isdir(host):
            outer += ["--perms", "0755", "--dir", staged[host]]
        outer += ["--ro-bind", host, staged[host]]
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        raise JailError("setpriv (util-linux) is needed to run the jail as an unprivileged "
                        "user when grading as root")
    drop = [setpriv, f"--reuid={uid}", f"--regid={uid}", "--clear-groups",
            "--inh-caps=-all", "--bounding-set=-all"]
    return [*outer, "--", *drop], staged


def bwrap() -> str:
    """bubblewrap's path (:func:`unavailable` says why there is none)."""
    return shutil.which("bwrap") or "bwrap"


#: The environment bubblewrap itself starts with: nothing of the grader's, since the jail's
#: first process is bubblewrap and its environment can be read from inside (/proc/1/environ).
BWRAP_ENV = {"PATH": os.defpath, "LANG": "C.UTF-8"}


def _reachable(path: str) -> bool:
    """Whether any user may reach ``path``: every folder above it searchable by others."""
    parent = Path(path).parent
    return all(os.stat(folder).st_mode & 0o001 for folder in (parent, *parent.parents))


@functools.lru_cache(maxsize=1)
def unavailable() -> str | None:
    """Why no jail can be made here, in one line, or None when one can (tried once)."""
    if not sys.platform.startswith("linux"):
        return f"the jail needs Linux (bubblewrap); this is {sys.platform}"
    if shutil.which("bwrap") is None:
        return ("bubblewrap (bwrap) is not installed: apt-get install bubblewrap (Debian, "
                "Ubuntu) or dnf install bubblewrap (Fedora)")
    try:
        mounts()
    except JailError as exc:
        return str(exc)
    return _try_one()


def _try_one() -> str | None:
    import tempfile

    with tempfile.TemporaryDirectory(prefix="mlp-jail-check-") as tmp:
        work, stage = Path(tmp, "work"), Path(tmp, "stage")
        work.mkdir()
        stage.mkdir()
        os.chmod(tmp, 0o755)
        os.chmod(work, 0o755)
        argv = [mounts().python, "-I", "-S", "-c",
                f"import sys; sys.path.insert(0, {SITE!r}); import numpy"]
        prefix, staged = as_root(JAIL_UID, stage, work) if os.geteuid() == 0 else ([], {})
        try:
            done = subprocess.run([*prefix, *command(work, 1 << 20, argv, staged)],
                                  capture_output=True, text=True, timeout=60, env=BWRAP_ENV)
        except (OSError, subprocess.TimeoutExpired) as exc:
            return f"bubblewrap could not be run: {exc}"
    if done.returncode != 0:
        why = (done.stderr.strip().splitlines() or ["no message"])[-1]
        return (f"bubblewrap cannot make a jail here ({why}): are unprivileged user namespaces "
                "disabled (sysctl kernel.unprivileged_userns_clone or "
                "user.max_user_namespaces)?")
    return None


def main() -> int:
    reason = unavailable()
    if reason:
        print(f"no jail: {reason}")
        return 1
    print("a jail can be made here (bubblewrap)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
