"""The submissions of tests/fixtures/submissions, built into one folder per student."""

from pathlib import Path

from mlp.teaching.assignment import solution_source, starter_source

FIXTURES = Path(__file__).parent / "fixtures" / "submissions"


def apply_edits(source: str, edits: str) -> str:
    """``source`` changed as a ``.edits`` file says (see the fixtures' README): each block of
    lines after ``---`` must occur exactly once and is replaced by the lines after ``+++``."""
    for block in edits.split("\n---\n")[1:]:
        old, _, new = block.partition("\n+++\n")
        old = old.removesuffix("\n+++") + "\n"
        new = new.rstrip("\n") + "\n" if new.strip() else ""
        assert source.count(old) == 1, f"not exactly once in the solution:\n{old}"
        source = source.replace(old, new)
    return source


def submission_sources() -> dict[str, str]:
    """Each fixture's mlp.py by name, with the reference solution and the starter."""
    sources = {"solution": solution_source(), "starter": starter_source()}
    for path in sorted(FIXTURES.iterdir()):
        if path.suffix == ".edits":
            sources[path.stem] = apply_edits(solution_source(), path.read_text())
        elif path.suffix == ".py":
            sources[path.stem] = path.read_text()
    return sources


def build_class(folder: Path, names=None) -> Path:
    """One folder per student holding its mlp.py; returns ``folder``."""
    for name, source in submission_sources().items():
        if names is None or name in names:
            (folder / name).mkdir(parents=True)
            (folder / name / "mlp.py").write_text(source)
    return folder
