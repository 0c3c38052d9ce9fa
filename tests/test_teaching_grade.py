"""``mlp grade`` on the reference solution, the starter and submissions with typical mistakes
(tests/fixtures/submissions): the points and the feedback each one gets."""

import csv
import dataclasses
import json
import subprocess
import sys
import time

import pytest
from teaching_submissions import build_class, submission_sources

from mlp.teaching.grader import LIMITS, Grader, _ran_long, grade_class
from mlp.teaching.report import gradescope_results, text_report
from mlp.teaching.sandbox import Limits


def mlp(*args, cwd=None, timeout=600):
    return subprocess.run([sys.executable, "-m", "mlp", *map(str, args)], cwd=cwd,
                          capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """Every fixture graded as one class, two at a time."""
    folder = build_class(tmp_path_factory.mktemp("class"))
    start = time.perf_counter()
    with Grader() as grader:
        results = grade_class(grader, folder, workers=2)
    seconds = time.perf_counter() - start
    return {r.name: r for r in results}, seconds


def question(result, label):
    (q,) = [q for q in result.questions if q.label == label]
    return q


def item(result, label, name):
    (i,) = [i for i in question(result, label).items if i.name == name]
    return i


def scores(result):
    return {q.label: q.score for q in result.questions}


def problems(result, labels):
    return {c.problem for q in result.questions if q.label in labels
            for i in q.items for c in i.cases}


def test_every_submission_is_graded_without_a_traceback(graded):
    results, _ = graded
    assert set(results) == set(submission_sources())
    for result in results.values():
        report = text_report(result)
        assert "Traceback" not in report, result.name
        assert result.max_score == 45


def test_the_reference_solution_scores_45(graded):
    results, _ = graded
    assert results["solution"].score == 45
    assert results["solution"].problem is None


def test_the_starter_scores_0_and_says_what_is_not_implemented(graded):
    results, _ = graded
    starter = results["starter"]
    assert starter.score == 0 and starter.problem is None
    cases = [c for q in starter.questions for i in q.items for c in i.cases]
    assert cases and all(c.problem.startswith("not implemented yet (Q2.") for c in cases)
    assert "NotImplementedError" not in text_report(starter)


def test_missing_regularisation_costs_the_weight_gradients(graded):
    results, _ = graded
    r = results["reg_missing"]
    assert scores(r)["Q2.1"] == 5
    for name in ("dW1", "dW2"):
        grads = item(r, "Q2.2", name)
        assert grads.score == 0
        assert all("regularisation term is missing" in c.hint for c in grads.cases)
    assert item(r, "Q2.2", "db1").score == item(r, "Q2.2", "db2").score == 2.5


def test_a_softmax_that_overflows_fails_the_raw_pixel_case(graded):
    """The one case whose scores are large (as the problem set's Note 1 warns) costs the loss
    and the gradients a quarter of their points, for both activations."""
    results, _ = graded
    r = results["softmax_overflow"]
    assert [scores(r)[q] for q in ("Q2.1", "Q2.2", "Q2.3")] == [4.25, 7.5, 5]
    for label in ("Q2.1", "Q2.4"):
        loss = item(r, label, "loss")
        (failed,) = [c for c in loss.cases if c.credit < 1]
        assert failed.hidden and "raw-pixel" in failed.label
        assert "NaN" in failed.hint and "subtract each row's largest score" in failed.hint


def test_the_sigmoid_derivative_at_the_wrong_point(graded):
    results, _ = graded
    r = results["sigmoid_derivative"]
    assert item(r, "Q2.2", "dW2").score == item(r, "Q2.2", "db2").score == 2.5
    assert item(r, "Q2.2", "dW1").score == item(r, "Q2.2", "db1").score == 0
    (note,) = question(r, "Q2.2").notes
    assert "h * (1 - h)" in note and "not sigmoid(h) * (1 - sigmoid(h))" in note
    assert "your loss is right" in item(r, "Q2.2", "dW1").cases[0].hint
    assert item(r, "Q2.5.1", "training").score == 0  # its loss grows on MNIST


def test_predict_returning_scores(graded):
    results, _ = graded
    r = results["predict_scores"]
    assert scores(r)["Q2.1"] == 5 and scores(r)["Q2.2"] == 10
    predict = item(r, "Q2.3", "predict")
    assert predict.score == 0
    assert all("np.argmax(scores, axis=1)" in c.hint for c in predict.cases)
    assert scores(r)["Q2.5.1"] == scores(r)["Q2.5.2"] == 0


def test_gradients_not_divided_by_n(graded):
    results, _ = graded
    grads = item(results["not_averaged"], "Q2.2", "dW2")
    assert grads.score == 0
    assert all("N times too large" in c.hint for c in grads.cases)


def test_a_wrong_relu_backward_pass(graded):
    results, _ = graded
    r = results["relu_backward"]
    assert scores(r)["Q2.2"] == 10
    assert item(r, "Q2.4", "dW2").score == 0.5 and item(r, "Q2.4", "dW1").score == 0
    assert any("back through the ReLU" in note for note in question(r, "Q2.4").notes)


def test_a_forgotten_bias_shows_only_in_hidden_cases(graded):
    results, _ = graded
    loss = item(results["bias_forgotten"], "Q2.1", "loss")
    assert [c.credit for c in loss.cases if not c.hidden] == [1]
    assert any(c.credit == 0 for c in loss.cases if c.hidden)
    assert any(c.hint and "add the bias b1" in c.hint
               for c in item(results["bias_forgotten"], "Q2.1", "scores").cases)


def test_hard_coded_numbers_earn_nothing_in_hidden_cases(graded):
    results, _ = graded
    r = results["hardcoded"]
    cases = [c for q in r.questions for i in q.items for c in i.cases]
    assert all(c.credit == 0 for c in cases if c.hidden)
    assert [c.credit for c in item(r, "Q2.1", "loss").cases if not c.hidden] == [1]
    assert [c.credit for c in item(r, "Q2.4", "loss").cases if not c.hidden] == [1]
    assert 0 < r.score < 2.5
    assert "hidden" in item(r, "Q2.1", "loss").hint


def test_an_endless_loop_costs_one_time_limit_per_network(graded):
    """predict loops on either network: once on the sigmoid network (Q2.3), once on the ReLU
    network (Q2.4's training); each MNIST run is skipped, not run into a third limit."""
    results, _ = graded
    r = results["infinite_loop"]
    assert scores(r)["Q2.1"] == 5 and scores(r)["Q2.2"] == 10
    first = item(r, "Q2.3", "predict").cases[0]
    assert "time limit" in first.problem and "in predict" in first.problem
    relu = item(r, "Q2.4", "training").cases[0]
    assert "time limit" in relu.problem and "in predict" in relu.problem
    assert problems(r, ("Q2.5.1",)) == {"skipped: predict() ran past the time limit in Q2.3"}
    assert problems(r, ("Q2.5.2",)) == {"skipped: predict() ran past the time limit in Q2.4"}
    assert r.score == 18.5
    assert r.seconds < 2 * LIMITS["toy"].wall_seconds + 15


def test_a_memory_bomb_costs_its_own_cases(graded):
    results, _ = graded
    r = results["memory_bomb"]
    assert [scores(r)[q] for q in ("Q2.1", "Q2.2", "Q2.3", "Q2.5.1")] == [5, 10, 5, 10], \
        problems(r, ("Q2.1", "Q2.2", "Q2.3", "Q2.5.1"))
    assert scores(r)["Q2.4"] == scores(r)["Q2.5.2"] == 0
    assert all(p.startswith("ran out of memory") for p in problems(r, ("Q2.5.2",)))
    # Each ReLU case fills 800 MB before the next allocation fails: depending on the machine's
    # speed, Q2.4's cases may spend its CPU budget before the last, and the rest are not run.
    # That costs Q2.4 alone, not the questions after it (Q2.5.1 above).
    found = problems(r, ("Q2.4",))
    assert any(p.startswith("ran out of memory") for p in found), found
    assert all(p.startswith(("ran out of memory", "ran past the CPU time limit",
                             "not run: the run was stopped at the time limit")) for p in found), found


def test_a_memory_bomb_in_the_relu_code_leaves_the_sigmoid_questions_graded(tmp_path):
    """With a toy CPU limit of 3 s the memory bomb's ReLU cases (each fills 800 MB first)
    spend Q2.4's budget for certain, in its first case or over several: whichever, the
    sigmoid network's MNIST run (Q2.5.1) is graded in full."""
    folder = build_class(tmp_path, names={"memory_bomb"})
    toy = dataclasses.replace(LIMITS["toy"], cpu_seconds=3)
    with Grader(limits={"toy": toy}) as grader:
        r = grader.grade(folder / "memory_bomb")
    found = problems(r, ("Q2.4",)) - {None}
    assert any(p.startswith("ran past the CPU time limit (3 s)") for p in found), found
    assert scores(r)["Q2.5.1"] == 10, problems(r, ("Q2.5.1",))
    assert scores(r)["Q2.5.2"] == 0


@pytest.mark.parametrize("seconds, hung", [
    (2.6, True),    # the stopped case itself ran for half the 5 s budget or more: it hangs
    (0.2, False),   # the budget was spent by the cases before it
    (None, True),   # killed without a word: unknown, so hung
    ("2", True),    # not a number (the student's code can write to the results pipe)
])
def test_a_method_is_hung_when_the_stopped_case_ran_long(seconds, hung):
    record = {"id": "loss/h1", "ok": False, "error": {"type": "Stopped"}}
    if seconds is not None:
        record["seconds"] = seconds
    assert _ran_long(record, LIMITS["toy"]) is hung
    # A wall-clock limit shorter than the CPU limit sets the budget.
    short = dataclasses.replace(LIMITS["toy"], cpu_seconds=10, wall_seconds=4)
    assert _ran_long({"seconds": 1.3}, short) and not _ran_long({"seconds": 1.2}, short)


def test_an_import_error_is_reported_once(graded):
    results, _ = graded
    r = results["import_error"]
    assert r.score == 0
    assert "No module named 'scipy_special_functions'" in r.problem
    assert "mlp.py, line" in r.problem


def test_sys_exit_and_os_exit(graded):
    results, _ = graded
    r = results["sys_exit"]
    assert scores(r)["Q2.2"] == 10
    assert any("sys.exit('predict: done') was called" in p
               for p in problems(r, ("Q2.3",)))
    r = results["os_exit"]
    assert item(r, "Q2.3", "predict").score == 2
    assert any("os._exit()" in p for p in problems(r, ("Q2.3",)))


def test_megabytes_of_printing(graded):
    results, _ = graded
    r = results["print_flood"]
    assert [scores(r)[q] for q in ("Q2.1", "Q2.2", "Q2.3", "Q2.4")] == [5, 10, 5, 5]
    assert scores(r)["Q2.5.1"] == scores(r)["Q2.5.2"] == 0
    assert all("printed more than 2 MB" in p for p in problems(r, ("Q2.5.1", "Q2.5.2")))


def test_gradescope_results_json(graded):
    results, _ = graded
    data = gradescope_results(results["reg_missing"])
    json.dumps(data, allow_nan=False)
    assert data["score"] == results["reg_missing"].score
    labels = ["Q2.1", "Q2.2", "Q2.3", "Q2.4", "Q2.5.1", "Q2.5.2"]
    assert [t["name"].split()[0] for t in data["tests"]] == labels
    assert sum(t["max_score"] for t in data["tests"]) == 45
    assert sum(t["score"] for t in data["tests"]) == pytest.approx(data["score"])
    assert all(t["output"].startswith(t["name"]) for t in data["tests"])


def test_one_submission_is_graded_within_30_seconds(tmp_path):
    """A fresh grading session (the reference values included), on the bundled subset."""
    folder = build_class(tmp_path, names=["solution"]) / "solution"
    start = time.perf_counter()
    with Grader() as grader:
        result = grader.grade(folder)
    seconds = time.perf_counter() - start
    assert result.score == 45
    assert seconds <= 30, seconds


def test_a_sleeping_submission_stops_at_the_wall_clock_limit(tmp_path):
    source = submission_sources()["solution"].replace(
        "        W1, b1 = self.params['W1'], self.params['b1']\n",
        "        import time\n        time.sleep(600)\n"
        "        W1, b1 = self.params['W1'], self.params['b1']\n", 1)
    (tmp_path / "mlp.py").write_text(source)
    toy = Limits(cpu_seconds=10, wall_seconds=4, memory_bytes=LIMITS["toy"].memory_bytes,
                 output_bytes=LIMITS["toy"].output_bytes)
    start = time.perf_counter()
    with Grader(limits={"toy": toy}) as grader:
        result = grader.grade(tmp_path / "mlp.py")
    assert time.perf_counter() - start < 60
    assert result.score == 0
    first = question(result, "Q2.1").items[0].cases[0]
    assert first.problem.startswith("ran past the wall-clock time limit (4 s)")
    assert "skipped: loss() ran past the time limit in Q2.1" in problems(result, ("Q2.5.1",))
    assert "skipped: loss() ran past the time limit in Q2.4" in problems(result, ("Q2.5.2",))


def test_the_command_grades_a_class_into_a_gradebook(tmp_path):
    folder = build_class(tmp_path / "class", names=["solution", "starter"])
    (folder / "nobody").mkdir()
    result = mlp("grade", folder, "--workers", "2")
    assert result.returncode == 0, result.stderr
    out = tmp_path / "class-grades"
    with open(out / "gradebook.csv", newline="") as f:
        rows = {row["student"]: row for row in csv.DictReader(f)}
    assert rows["solution"]["score"] == "45" and rows["starter"]["score"] == "0"
    assert rows["nobody"]["score"] == "0" and "no mlp.py" in rows["nobody"]["problem"]
    assert float(rows["solution"]["Q2.5.2"]) == 10
    assert json.loads((out / "solution.json").read_text())["score"] == 45
    assert (out / "starter.txt").read_text().startswith("starter")
    assert "3 students" in result.stdout


def test_the_command_grades_one_file_with_gradescope_json(tmp_path):
    folder = build_class(tmp_path / "one", names=["solution"]) / "solution"
    result = mlp("grade", folder / "mlp.py", "--json", tmp_path / "results.json")
    assert result.returncode == 0, result.stderr
    assert "45 / 45 points" in result.stdout.splitlines()[0]
    data = json.loads((tmp_path / "results.json").read_text())
    assert data["score"] == 45 and len(data["tests"]) == 6


@pytest.mark.parametrize("args, message", [
    ([], "give a submission"),
    (["{missing}"], "no such file or folder"),
])
def test_the_command_refuses_bad_input(tmp_path, args, message):
    result = mlp("grade", *[a.format(missing=tmp_path / "missing") for a in args])
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert message in result.stderr.lower()


def test_a_missing_mlp_py_or_an_oversized_one(tmp_path):
    with Grader() as grader:
        empty = grader.grade(tmp_path)
        (tmp_path / "mlp.py").write_text("#" * 2_000_000)
        big = grader.grade(tmp_path)
    assert empty.score == 0 and "no mlp.py" in empty.problem
    assert big.score == 0 and "more than the 1,000,000" in big.problem


def test_grading_a_class_of_16_with_two_workers(graded):
    _, seconds = graded
    assert seconds < 300, seconds


@pytest.mark.parametrize("command", ["grade", "assignment"])
def test_the_commands_explain_their_options(command):
    result = mlp(command, "--help")
    assert result.returncode == 0 and result.stdout.startswith(f"usage: mlp {command}")
    assert command in mlp("--help").stdout


FORGED = '''
import json
import os

import numpy as np

GARBAGE = [{"id": "stopped"}, {"id": "api", "ok": True, "value": 5},
           {"id": "loss/toy", "ok": True, "value": [1, 2]},
           {"id": "scores/toy", "ok": True, "value": {"scores": {"shape": [9], "data": [1]}}},
           {"id": "gradients/toy", "ok": True, "value": {"grads": [1], "loss": 3}},
           {"id": "predict/toy", "ok": "maybe", "error": 3},
           {"id": "train/sigmoid/toy", "ok": False, "error": {"type": "Stopped", "stack": 5}}]


def forge():
    """Every record the probe writes for these ids replaced by garbage."""
    if '"api"' in open("tasks.json").read():
        return  # let the first run, the API check, pass
    import __main__  # the probe, which imports this file

    original, garbage = __main__.Results.write, {r["id"]: r for r in GARBAGE}

    def write(self, record):
        original(self, garbage.get(record.get("id"), record))
        if record.get("id") == "import":
            os.write(self.fd, ("[" * 100000 + "\\n").encode())

    __main__.Results.write = write


forge()
'''


def test_forged_results_cost_points_not_the_grading(tmp_path):
    """The student's code runs in the probe's process and can write into its results pipe."""
    source = submission_sources()["starter"].replace("import numpy as np\n", FORGED, 1)
    (tmp_path / "mlp.py").write_text(source)
    with Grader() as grader:
        result = grader.grade(tmp_path)
    assert result.problem is None and result.score == 0
    report = text_report(result)
    assert "Traceback" not in report and "its result could not be read" in report


def test_a_killed_reference_process_is_started_again(tmp_path):
    """The library's own process dies (as under memory pressure): it is started once more and
    the grading is as if nothing happened."""
    (tmp_path / "mlp.py").write_text(submission_sources()["solution"])
    with Grader() as grader:
        deadline = time.monotonic() + 30
        while grader._references._process is None and time.monotonic() < deadline:
            time.sleep(0.01)
        grader._references._process.kill()
        result = grader.grade(tmp_path)
    assert result.score == 45 and result.problem is None


def test_without_a_jail_the_report_says_so(tmp_path):
    """--no-jail, for a student checking their own work: the same grading, and every report
    says that no jail was used."""
    (tmp_path / "mlp.py").write_text(submission_sources()["solution"])
    with Grader(jail=False) as grader:
        result = grader.grade(tmp_path)
    assert result.score == 45 and not result.jailed
    assert text_report(result).splitlines()[1].startswith("Graded without a jail (--no-jail)")
    assert gradescope_results(result)["output"].startswith("Graded without a jail")
