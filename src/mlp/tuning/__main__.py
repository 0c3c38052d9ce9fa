"""A worker process of ``mlp tune --workers N``: ``python -m mlp.tuning JOB`` runs the trials of
the search given as JSON (written by :func:`mlp.tuning.workers.start_worker`)."""

from __future__ import annotations

import json
import sys

from ..run.errors import EXPECTED, fail
from .search import Job, run_worker


def main(argv: list[str] | None = None) -> int:
    """A worker process: run the trials of the job given as JSON in ``argv[0]``."""
    spec = json.loads((argv if argv is not None else sys.argv[1:])[0])
    index = spec["index"]
    prefix = f"[worker {index + 1}] "
    echo = None if spec["quiet"] else (lambda line: print(prefix + line, flush=True))
    try:
        run_worker(Job.from_dict(spec["job"]), spec["n_trials"], spec["deadline"], index=index,
                   echo=echo)
    except KeyboardInterrupt:
        return 130
    except EXPECTED as exc:
        return fail(f"mlp tune: {prefix.strip()}", exc)
    return 0


if __name__ == "__main__":
    sys.exit(main())
