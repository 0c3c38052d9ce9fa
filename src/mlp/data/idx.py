"""The IDX file format of MNIST and Fashion-MNIST: read, write and check.

An IDX file is a 4-byte magic number (two zero bytes, a data-type code, the number of
dimensions), one big-endian uint32 per dimension, then the data in C order, big-endian.
Files may be gzip-compressed; the reader tells the two apart by their first bytes, not by
their names. Every problem with a file's content raises :class:`DataFileError`, a ValueError
whose message starts with the file's path.
"""

from __future__ import annotations

import gzip
import math
import os
import stat
import struct
import zlib
from collections.abc import Sequence
from pathlib import Path

import numpy as np

# Type code (third byte of the magic number) -> dtype as stored on disk.
IDX_DTYPES: dict[int, np.dtype] = {
    0x08: np.dtype(np.uint8),
    0x09: np.dtype(np.int8),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
_CODES = {dtype.newbyteorder("="): code for code, dtype in IDX_DTYPES.items()}

IMAGES_MAGIC = 0x0803  # 2051: uint8, 3 dimensions (N, rows, columns)
LABELS_MAGIC = 0x0801  # 2049: uint8, 1 dimension (N,)
N_CLASSES = 10

_GZIP_MAGIC = b"\x1f\x8b"
#: The most data an IDX file may declare (MNIST's training images are 47 MB).
MAX_IDX_BYTES = 1 << 30
#: Deflate cannot compress by more than about 1032:1, so a gzip file of c bytes cannot hold
#: more than this many times c bytes of data.
_MAX_GZIP_RATIO = 1100


class DataFileError(ValueError):
    """A data file whose content is wrong: bad header, wrong size, bad gzip stream, bad labels.

    ``paths`` holds the file(s) at fault, ``problem`` says what is wrong with them.
    """

    def __init__(self, paths: os.PathLike | str | Sequence[os.PathLike | str], problem: str):
        if isinstance(paths, str | os.PathLike):
            paths = [paths]
        self.paths = tuple(Path(p) for p in paths)
        self.problem = problem
        super().__init__(f"{', '.join(map(str, self.paths))}: {problem}")


def _probe(path: Path) -> tuple[bool, int, int | None]:
    """(gzipped, size on disk, gzip's record of the data size mod 2^32 or None) of a regular
    file; never opens anything else (a FIFO would block the reader forever)."""
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such file")
    if not stat.S_ISREG(path.stat().st_mode):
        raise DataFileError(path, "not a regular file (a folder, FIFO or device)")
    with open(path, "rb") as probe:
        gzipped = probe.read(2) == _GZIP_MAGIC
        size = probe.seek(0, os.SEEK_END)
        isize = None
        if gzipped and size >= 18:
            probe.seek(size - 4)
            isize = int.from_bytes(probe.read(4), "little")
    return gzipped, size, isize


def _check_declared(path: Path, declared: int, probe: tuple[bool, int, int | None],
                    max_bytes: int) -> None:
    """Refuse a header whose size claim the file cannot back, before memory is spent on it."""
    gzipped, size, isize = probe
    if declared > max_bytes:
        raise DataFileError(path, f"its header declares {declared} bytes of data, more than the "
                                  f"limit of {max_bytes} bytes")
    if not gzipped and declared != size:
        state = "truncated" if declared > size else "has trailing bytes"
        raise DataFileError(path, f"{state}: the header calls for {declared} bytes of IDX data, "
                                  f"the file holds {size}")
    if gzipped and declared > _MAX_GZIP_RATIO * size:
        raise DataFileError(path, f"truncated: the header calls for {declared} bytes of IDX "
                                  f"data, more than {size} compressed bytes can hold")
    if gzipped and isize is not None and isize != declared % (1 << 32):
        state = "truncated" if isize < declared % (1 << 32) else "has trailing bytes"
        raise DataFileError(path, f"{state}: the header calls for {declared} bytes of IDX data, "
                                  f"the gzip stream records {isize}")


def _read_exactly(stream, buffer: memoryview) -> int:
    """Fill ``buffer`` from ``stream``; returns the bytes read (fewer only at the end)."""
    filled = 0
    while filled < len(buffer):
        # In pieces: gzip's readinto goes through a temporary bytes object of the size asked.
        n = stream.readinto(buffer[filled : filled + (1 << 20)])
        if not n:
            break
        filled += n
    return filled


def _remaining(stream) -> int:
    """Bytes left in the stream (read and counted, not kept)."""
    total = 0
    while chunk := stream.read(1 << 20):
        total += len(chunk)
    return total


def read_idx(path: os.PathLike | str, max_bytes: int = MAX_IDX_BYTES) -> np.ndarray:
    """Read an IDX file, gzip-compressed or not, into an array of its shape and native dtype.

    The data is decompressed straight into the result, so reading takes no more memory than the
    array itself. Raises FileNotFoundError if ``path`` does not exist, and
    :class:`DataFileError` (a ValueError naming the file) for a wrong magic number, a header that
    disagrees with the file's size (a truncated file), data larger than ``max_bytes``, or a
    truncated gzip stream. The header's sizes are checked against the file before the array is
    allocated.
    """
    path = Path(path)
    probe = _probe(path)
    try:
        with gzip.open(path, "rb") if probe[0] else open(path, "rb") as stream:
            return _read_stream(path, stream, probe, max_bytes)
    except (EOFError, gzip.BadGzipFile, zlib.error) as exc:
        raise DataFileError(path, f"truncated or corrupt gzip stream ({exc})") from exc


def read_header(path: os.PathLike | str) -> tuple[int, tuple[int, ...]]:
    """The type code and dimensions of an IDX file, from its header alone (a few bytes read):
    to compare files before reading any of them whole. The same errors as :func:`read_idx`
    for a bad header."""
    path = Path(path)
    probe = _probe(path)
    try:
        with gzip.open(path, "rb") if probe[0] else open(path, "rb") as stream:
            return _header(path, stream)[:2]
    except (EOFError, gzip.BadGzipFile, zlib.error) as exc:
        raise DataFileError(path, f"truncated or corrupt gzip stream ({exc})") from exc


def _header(path: Path, stream) -> tuple[int, tuple[int, ...], int]:
    """(type code, dimensions, header size) read from the start of ``stream``."""
    head = stream.read(4)
    if len(head) < 4:
        raise DataFileError(path, f"too short for an IDX header ({len(head)} bytes)")
    magic = int.from_bytes(head, "big")
    code, ndim = head[2], head[3]
    if head[:2] != b"\0\0" or code not in IDX_DTYPES or ndim == 0:
        raise DataFileError(
            path,
            f"wrong magic number 0x{magic:08X}: not an IDX file (expected two zero bytes, "
            f"a type code in {{{', '.join(f'0x{c:02X}' for c in IDX_DTYPES)}}} and at least "
            "one dimension)",
        )
    header = 4 + 4 * ndim
    dims_raw = stream.read(4 * ndim)
    if len(dims_raw) < 4 * ndim:
        raise DataFileError(
            path,
            f"truncated header: {ndim} dimensions need {header} bytes, "
            f"file has {4 + len(dims_raw)}",
        )
    return code, struct.unpack(f">{ndim}I", dims_raw), header


def _read_stream(path: Path, stream, probe, max_bytes: int) -> np.ndarray:
    code, dims, header = _header(path, stream)
    dtype = IDX_DTYPES[code]
    count = math.prod(dims)
    expected = header + count * dtype.itemsize
    _check_declared(path, expected, probe, max_bytes)
    data = np.empty(count, dtype=dtype)
    got = _read_exactly(stream, memoryview(data).cast("B"))
    extra = _remaining(stream) if got == data.nbytes else 0
    if got < data.nbytes or extra:
        state = "truncated" if got < data.nbytes else "has trailing bytes"
        raise DataFileError(
            path,
            f"{state}: the header's dimensions {dims} call for {expected} bytes of IDX data, "
            f"the file holds {header + got + extra}",
        )
    # Multi-byte types are stored big-endian; the result is in native byte order.
    return data.astype(dtype.newbyteorder("="), copy=False).reshape(dims)


def write_idx(path: os.PathLike | str, array: np.ndarray, *, compresslevel: int = 9) -> Path:
    """Write ``array`` as an IDX file, gzip-compressed if ``path`` ends in ``.gz``.

    The gzip header carries no file name or time stamp, so equal arrays give equal bytes.
    Supported dtypes: uint8, int8, int16, int32, float32, float64. Returns the path.
    """
    path = Path(path)
    array = np.asarray(array)
    code = _CODES.get(array.dtype.newbyteorder("="))
    if code is None:
        raise TypeError(
            f"array must have an IDX dtype (uint8, int8, int16, int32, float32, float64); "
            f"got {array.dtype}"
        )
    if not 1 <= array.ndim <= 255:
        raise ValueError(f"array must have 1 to 255 dimensions; got {array.ndim}")
    header = bytes([0, 0, code, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    payload = header + np.ascontiguousarray(array, dtype=IDX_DTYPES[code]).tobytes()
    if path.suffix == ".gz":
        with (
            path.open("wb") as raw,
            gzip.GzipFile(
                filename="", mode="wb", fileobj=raw, compresslevel=compresslevel, mtime=0
            ) as gz,
        ):
            gz.write(payload)
    else:
        path.write_bytes(payload)
    return path


def _describe(array: np.ndarray) -> str:
    code = _CODES[array.dtype]
    return f"magic number {code << 8 | array.ndim} ({array.dtype}, {array.ndim}-D)"


def read_images(path: os.PathLike | str) -> np.ndarray:
    """Read an IDX image file. Returns (N, rows, columns) uint8."""
    images = read_idx(path)
    if images.dtype != np.uint8 or images.ndim != 3:
        raise DataFileError(
            path,
            f"wrong magic number: {_describe(images)}, but an image file needs "
            f"{IMAGES_MAGIC} (uint8, 3-D)",
        )
    return images


def read_labels(path: os.PathLike | str, n_classes: int = N_CLASSES) -> np.ndarray:
    """Read an IDX label file. Returns (N,) int64 in [0, n_classes)."""
    labels = read_idx(path)
    if labels.dtype != np.uint8 or labels.ndim != 1:
        raise DataFileError(
            path,
            f"wrong magic number: {_describe(labels)}, but a label file needs "
            f"{LABELS_MAGIC} (uint8, 1-D)",
        )
    bad = np.flatnonzero(labels >= n_classes)
    if bad.size:
        raise DataFileError(
            path,
            f"label {labels[bad[0]]} at index {bad[0]} is outside 0-{n_classes - 1} "
            f"({bad.size} such labels)",
        )
    return labels.astype(np.int64)


def read_pair(
    images_path: os.PathLike | str, labels_path: os.PathLike | str
) -> tuple[np.ndarray, np.ndarray]:
    """Read matching image and label files. Returns X: (N, rows, columns) uint8, y: (N,) int64.

    The two headers are compared first: files that disagree are refused before either is
    read whole."""
    (_, image_dims), (_, label_dims) = read_header(images_path), read_header(labels_path)
    if image_dims[:1] != label_dims[:1]:
        raise DataFileError(
            [images_path, labels_path],
            f"images and labels differ in length: {image_dims[0]} images, {label_dims[0]} "
            "labels (as their headers declare; neither file was read further)",
        )
    return read_images(images_path), read_labels(labels_path)
