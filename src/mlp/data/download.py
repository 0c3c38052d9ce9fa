"""The download cache for MNIST-format datasets: where it lives, what it must hold, how it fills.

Files in the cache are trusted only while their checksums match the registry below (the
checksums the mirrors publish), so a broken file in the cache is never read. Downloads use
pooch (the optional extra ``mlp[data]``), which writes to a temporary file and moves it into
place only once its checksum matched; we then also check the file's structure before keeping
it. Reading a cache that is already complete needs NumPy and the standard library only.
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from .idx import DataFileError, read_images, read_labels

#: Seconds to wait for a mirror's next bytes before trying the next mirror.
DEFAULT_TIMEOUT = 60.0
#: The largest file a mirror may send (Fashion-MNIST's largest is 26 MB): a mirror that sends
#: more is refused, whatever it claims.
MAX_FILE_BYTES = 128 * 2**20
#: After ``timeout`` seconds a download must have come at this many bytes per second on
#: average: a mirror that trickles a byte now and then is as good as stalled.
MIN_RATE = 1024

FILES = (
    "train-images-idx3-ubyte.gz",
    "train-labels-idx1-ubyte.gz",
    "t10k-images-idx3-ubyte.gz",
    "t10k-labels-idx1-ubyte.gz",
)


@dataclass(frozen=True)
class Source:
    """Where a dataset's four files are published, and their published checksums."""

    title: str
    mirrors: tuple[str, ...]
    checksums: Mapping[str, str]  # file name -> "algorithm:hexdigest"
    env_var: str  # names a local folder that holds the files


SOURCES: dict[str, Source] = {
    "mnist": Source(
        title="MNIST",
        mirrors=(
            "https://ossci-datasets.s3.amazonaws.com/mnist/",
            "https://storage.googleapis.com/cvdf-datasets/mnist/",
            "http://yann.lecun.com/exdb/mnist/",
        ),
        checksums={
            "train-images-idx3-ubyte.gz": "md5:f68b3c2dcbeaaa9fbdd348bbdeb94873",
            "train-labels-idx1-ubyte.gz": "md5:d53e105ee54ea40749a09fcbcd1e9432",
            "t10k-images-idx3-ubyte.gz": "md5:9fb629c4189551a2d022fa330f9573f3",
            "t10k-labels-idx1-ubyte.gz": "md5:ec29112dd5afa0611ce80d1b7f02629c",
        },
        env_var="MLP_DATA_DIR",
    ),
    "fashion-mnist": Source(
        title="Fashion-MNIST",
        mirrors=(
            "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
            "https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion/",
        ),
        checksums={
            "train-images-idx3-ubyte.gz": "md5:8d4fb7e6c68d591d4c3dfef9ec88bf0d",
            "train-labels-idx1-ubyte.gz": "md5:25c81989df183df01b3e8a0aad5dffbe",
            "t10k-images-idx3-ubyte.gz": "md5:bef4ecab320f06d8554ea6380940ec79",
            "t10k-labels-idx1-ubyte.gz": "md5:bb300cfdad3c16e7a12a480ee83cd310",
        },
        env_var="MLP_FASHION_MNIST_DIR",
    ),
}

_INSTALL_HINT = (
    'Downloading needs the optional packages pooch and tqdm: pip install "mlp[data]". '
    "Without them, point MLP_DATA_DIR (or data_dir=) at a folder holding the four MNIST files, "
    "or use load_mnist_small() for the subset bundled with the package."
)


def check_timeout(timeout: object) -> float:
    """``timeout`` as a float, if it is a positive finite number of seconds."""
    if isinstance(timeout, bool) or not isinstance(timeout, int | float) or not (
            0 < timeout < math.inf):
        raise ValueError(f"timeout must be a positive number of seconds; got {timeout!r}")
    return float(timeout)


def default_cache_dir() -> Path:
    """The root of the download cache: $MLP_CACHE_DIR, else the platform's user cache + /mlp."""
    env = os.environ.get("MLP_CACHE_DIR")
    if env:
        return Path(env).expanduser()
    home = Path.home()
    if sys.platform == "win32":
        return Path(os.environ.get("LOCALAPPDATA") or home / "AppData" / "Local") / "mlp" / "Cache"
    if sys.platform == "darwin":
        return home / "Library" / "Caches" / "mlp"
    return Path(os.environ.get("XDG_CACHE_HOME") or home / ".cache") / "mlp"


def get_source(name: str) -> Source:
    if name not in SOURCES:
        raise ValueError(f"name must be one of {', '.join(map(repr, SOURCES))}; got {name!r}")
    return SOURCES[name]


def resolve_checksums(source: Source, checksums: Mapping[str, str] | None) -> dict[str, str]:
    if checksums is None:
        return dict(source.checksums)
    if not isinstance(checksums, Mapping) or set(checksums) != set(FILES):
        raise ValueError(
            f"checksums must map each of {', '.join(FILES)} to 'algorithm:hexdigest'; "
            f"got {checksums!r}"
        )
    for name in FILES:
        split_hash(name, checksums[name])
    return dict(checksums)


def resolve_mirrors(source: Source, mirrors: Sequence[str] | str | None) -> tuple[str, ...]:
    if mirrors is None:
        return source.mirrors
    if isinstance(mirrors, str):
        mirrors = (mirrors,)
    mirrors = tuple(mirrors)
    if not mirrors or not all(
        isinstance(m, str) and m.startswith(("http://", "https://")) for m in mirrors
    ):
        raise ValueError(
            f"mirrors must be one or more http(s) base URLs (the folder holding the files); "
            f"got {mirrors!r}"
        )
    return mirrors


def split_hash(name: str, known: object) -> tuple[str, str]:
    """Split pooch's checksum notation 'algorithm:hexdigest' (a bare digest means SHA-256)."""
    if not isinstance(known, str):
        raise TypeError(f"checksums[{name!r}] must be a str 'algorithm:hexdigest'; got {known!r}")
    import hashlib  # loads OpenSSL (3.5 MB): only where checksums are taken

    algorithm, digest = known.split(":", 1) if ":" in known else ("sha256", known)
    if algorithm.lower() not in hashlib.algorithms_guaranteed or not digest:
        raise ValueError(
            f"checksums[{name!r}] must be 'algorithm:hexdigest' (md5, sha256, ...); got {known!r}"
        )
    return algorithm.lower(), digest.lower()


def file_checksum(path: Path, algorithm: str) -> str:
    import hashlib

    # usedforsecurity=False: MD5 is how the mirrors name their files, not a security measure.
    digest = hashlib.new(algorithm, usedforsecurity=False)
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def check_cache(folder: Path, checksums: Mapping[str, str]) -> dict[str, str]:
    """Return {name: why} for each file the cache still needs ("missing" or a mismatch).

    A cached file whose checksum does not match is deleted here: it is ours, and it is broken.
    """
    needed = {}
    for name in FILES:
        path = folder / name
        if not path.is_file():
            needed[name] = "missing"
            continue
        algorithm, digest = split_hash(name, checksums[name])
        actual = file_checksum(path, algorithm)
        if actual != digest:
            path.unlink()
            needed[name] = (
                f"checksum mismatch (expected {algorithm}:{digest}, got {algorithm}:{actual}); "
                "the file was removed"
            )
    return needed


def validate_file(path: Path) -> None:
    """Check one file's structure; delete it and raise DataFileError if it is bad."""
    reader = read_images if "images" in path.name else read_labels
    try:
        reader(path)
    except DataFileError as exc:
        path.unlink(missing_ok=True)
        raise DataFileError(exc.paths, f"{exc.problem}; the file was removed") from exc


def _import_pooch():
    try:
        import pooch
        import tqdm  # noqa: F401  (pooch draws its progress bars with it)
    except ImportError as exc:
        raise ImportError(_INSTALL_HINT) from exc
    return pooch


def fetch_file(
    name: str,
    folder: Path,
    mirrors: Sequence[str],
    known: str,
    *,
    progressbar: bool,
    timeout: float,
) -> Path:
    """Download ``name`` from the first mirror that serves it with checksum ``known``.

    ``timeout``: seconds to wait for a mirror's next bytes (to connect, for the answer, and
    between chunks) before giving up on it; a mirror that stalls is reported as such.
    """
    pooch = _import_pooch()
    target = folder / name
    failures: list[str] = []
    bad_content = False
    with _quiet(pooch.get_logger()):
        for base in mirrors:
            url = base.rstrip("/") + "/" + name
            failure = _try_mirror(pooch, url, name, folder, known, progressbar, timeout)
            if failure is None:
                validate_file(target)
                return target
            problem, wrong_checksum = failure
            bad_content = bad_content or wrong_checksum
            failures.append(f"{url}: {problem}")
    problem = "could not be downloaded from any mirror: " + "; ".join(failures)
    if bad_content:
        raise DataFileError(target, problem)
    raise ConnectionError(
        f"{target}: {problem}. Check the network, or pass data_dir= / set the folder variable "
        "(MLP_DATA_DIR for MNIST) to a folder holding the files, or use load_mnist_small()."
    )


@contextlib.contextmanager
def _quiet(logger) -> Iterator[None]:
    """Without pooch's "Downloading data from ..." line: the progress bar says enough, and a
    failure is reported once, by the exception."""
    level = logger.level
    logger.setLevel(logging.WARNING)
    try:
        yield
    finally:
        logger.setLevel(level)


class MirrorRefused(Exception):
    """A mirror sent more than a file may hold, or too slowly (the message says which)."""


class BoundedDownloader:
    """pooch's downloader, bounded: ``timeout`` seconds at most for any bytes to come, a file
    of at most ``MAX_FILE_BYTES``, and after ``timeout`` seconds an average of ``MIN_RATE``
    bytes per second. Reads return as soon as any bytes arrive, so that a trickle is measured
    as it comes rather than waited out."""

    def __init__(self, timeout: float, progressbar: bool = False) -> None:
        self.timeout, self.progressbar = timeout, progressbar
        self.max_bytes, self.min_rate = MAX_FILE_BYTES, MIN_RATE

    def __call__(self, url: str, output_file, pooch, check_only: bool = False) -> None:
        import requests

        start = time.monotonic()
        with requests.get(url, stream=True, timeout=self.timeout) as response:
            response.raise_for_status()
            claimed = response.headers.get("Content-Length", "")
            if claimed.isdigit() and int(claimed) > self.max_bytes:
                raise MirrorRefused(f"it announces {int(claimed):,} bytes, more than the "
                                    f"{self.max_bytes:,} bytes a file may have")
            with _progress(self.progressbar, claimed) as bar, _opened(output_file) as out:
                self._copy(response.raw, out, bar, start)

    def _copy(self, raw, out, bar, start: float) -> None:
        read = getattr(raw, "read1", raw.read)
        total = 0
        while chunk := read(1 << 16):
            total += len(chunk)
            if total > self.max_bytes:
                raise MirrorRefused(f"it sent more than the {self.max_bytes:,} bytes a file "
                                    "may have")
            elapsed = time.monotonic() - start
            if elapsed > self.timeout and total < self.min_rate * elapsed:
                raise MirrorRefused(f"it sent {total:,} bytes in {elapsed:.0f} s, slower than "
                                    f"{self.min_rate:,.0f} bytes/s")
            out.write(chunk)
            bar.update(len(chunk))


@contextlib.contextmanager
def _opened(output_file):
    if isinstance(output_file, str | os.PathLike):
        with open(output_file, "w+b") as f:
            yield f
    else:
        yield output_file


@contextlib.contextmanager
def _progress(show: bool, claimed: str):
    if not show:
        yield _NoBar()
        return
    from tqdm.auto import tqdm

    with tqdm(total=int(claimed) if claimed.isdigit() else None, unit="B", unit_scale=True,
              leave=True) as bar:
        yield bar


class _NoBar:
    def update(self, n: int) -> None:
        pass


def _try_mirror(pooch, url: str, name: str, folder: Path, known: str, progressbar: bool,
                timeout: float) -> tuple[str, bool] | None:
    """Download ``url`` into ``folder/name``: None if it worked, else what went wrong and
    whether it was the content (a checksum mismatch) rather than the network."""
    import requests  # pooch's own dependency: its errors are the network failures
    import urllib3  # requests' own: reading the raw stream raises its errors

    downloader = BoundedDownloader(timeout, progressbar)
    try:
        pooch.retrieve(url, known_hash=known, fname=name, path=folder, downloader=downloader)
    except ValueError as exc:
        # pooch has already deleted the download: it never reached its final name.
        return f"checksum mismatch, the download was discarded ({exc})", True
    except MirrorRefused as exc:
        return f"refused: {exc}; the download was discarded", False
    except (requests.RequestException, urllib3.exceptions.HTTPError) as exc:
        return _network_failure(exc, timeout), False
    return None


def _network_failure(exc: Exception, timeout: float) -> str:
    """What went wrong with one mirror, in a few words on one line."""
    import requests

    # A mirror that stops sending mid-file surfaces as a ConnectionError wrapping urllib3's
    # ReadTimeoutError, not as requests' Timeout: recognise both.
    if isinstance(exc, requests.Timeout) or "timed out" in str(exc).lower():
        return f"no answer within {timeout:g} s (the mirror stalled), the download was discarded"
    detail = " ".join(str(exc).split())
    return f"the download failed and was discarded ({detail})"


def download_dataset(
    name: str = "mnist",
    cache_dir: os.PathLike | str | None = None,
    *,
    mirrors: Sequence[str] | str | None = None,
    checksums: Mapping[str, str] | None = None,
    progressbar: bool = True,
    timeout: float = DEFAULT_TIMEOUT,
) -> Path:
    """Make sure the cache holds the four files of ``name`` ('mnist' or 'fashion-mnist').

    Files already cached with the right checksum are kept; the others are downloaded from the
    first of ``mirrors`` (base URLs; default: the public mirrors) that serves them with the
    right checksum (default: the checksums the mirrors publish), waiting at most ``timeout``
    seconds for a stalled mirror. Returns the folder ``<cache_dir>/<name>``; ``cache_dir``
    defaults to :func:`default_cache_dir`.
    """
    timeout = check_timeout(timeout)
    source = get_source(name)
    known = resolve_checksums(source, checksums)
    mirrors = resolve_mirrors(source, mirrors)
    folder = Path(cache_dir).expanduser() if cache_dir is not None else default_cache_dir()
    folder = folder / name
    for file in check_cache(folder, known):
        fetch_file(file, folder, mirrors, known[file], progressbar=progressbar, timeout=timeout)
    return folder
