"""The run artifact is untrusted input to the judge: it round-trips exactly, and anything that
does not follow its format is rejected with a message that says where."""

import copy
import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from grader.artifact import (
    VERSION,
    BadArtifact,
    Cell,
    RunArtifact,
    decode_artifact,
    dump_artifact,
    encode_artifact,
    load_artifact,
)
from grader.model import CellRole, CellRun, CellStatus, Job

text = st.text(max_size=30)
json_scalar = st.one_of(st.none(), st.booleans(), st.integers(-10**6, 10**6),
                        st.floats(allow_nan=False, allow_infinity=False), text)
json_value = st.recursive(json_scalar, lambda inner: st.one_of(
    st.lists(inner, max_size=3), st.dictionaries(text, inner, max_size=3)), max_leaves=8)
outputs = st.one_of(
    st.builds(lambda name, t: {"output_type": "stream", "name": name, "text": t},
              st.sampled_from(["stdout", "stderr"]), text),
    st.builds(lambda d: {"output_type": "display_data", "data": d, "metadata": {}},
              st.dictionaries(st.sampled_from(["text/plain", "image/png"]), text, max_size=2)),
    st.builds(lambda d, n: {"output_type": "execute_result", "data": d, "metadata": {},
                            "execution_count": n},
              st.dictionaries(st.just("text/plain"), text, max_size=1),
              st.one_of(st.none(), st.integers(0, 99))),
    st.builds(lambda e, v, tb: {"output_type": "error", "ename": e, "evalue": v,
                                "traceback": tb}, text, text, st.lists(text, max_size=3)))
runs = st.builds(CellRun, status=st.sampled_from(list(CellStatus)), ename=text, evalue=text,
                 seconds=st.floats(0, 1e4, allow_nan=False), records=st.lists(json_value,
                                                                              max_size=3),
                 truncated=st.booleans(), note=text)


@st.composite
def cells(draw):
    cell_type = draw(st.sampled_from(["code", "markdown", "raw"]))
    code = cell_type == "code"
    return Cell(role=draw(st.sampled_from(list(CellRole))), cell_type=cell_type,
                source=draw(text), grade_id=draw(st.one_of(st.none(), text)),
                tags=draw(st.lists(text, max_size=2)),
                outputs=draw(st.lists(outputs, max_size=3)) if code else [],
                run=draw(runs) if code else None)


jobs = st.builds(Job, student=text, assignment=text, problem=text, student_id=text,
                 submitted=text, late=st.one_of(st.none(), st.booleans()), source=text)
artifacts = st.builds(
    RunArtifact, job=jobs, reason=text, salt=text, notebook_sha256=text,
    notes=st.lists(text, max_size=3), flags=st.lists(text, max_size=3),
    sandboxed=st.booleans(), limits=st.lists(text, max_size=3), problem=text,
    answered=st.dictionaries(text, st.booleans(), max_size=3), cells=st.lists(cells(),
                                                                               max_size=4),
    seconds=st.floats(0, 1e4, allow_nan=False), internal_error=text)


def _normal(artifact: RunArtifact) -> dict:
    """What an artifact means (encode rounds seconds; the job's empty id means its name)."""
    return json.loads(json.dumps(encode_artifact(artifact), sort_keys=True))


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow])
@given(artifacts)
def test_encode_then_decode_gives_the_same_artifact(artifact):
    data = json.loads(json.dumps(encode_artifact(artifact)))
    assert _normal(decode_artifact(data)) == _normal(artifact)


@settings(max_examples=60, suppress_health_check=[HealthCheck.too_slow])
@given(artifacts, st.data())
def test_a_malformed_artifact_is_rejected_with_a_clear_error(artifact, data):
    encoded = json.loads(json.dumps(encode_artifact(artifact)))
    broken = copy.deepcopy(encoded)
    mutation = data.draw(st.sampled_from(["drop", "retype", "extra", "role", "status",
                                          "version"]))
    target = broken
    if mutation in ("role", "status"):
        code = [c for c in broken["cells"] if c["run"] is not None]
        if not code:
            mutation = "retype"
        elif mutation == "role":
            code[0]["role"] = "grader"
        else:
            code[0]["run"]["status"] = "passed with flying colours"
    if mutation == "drop":
        del target[data.draw(st.sampled_from(sorted(target)))]
    elif mutation == "retype":
        key = data.draw(st.sampled_from(["notes", "sandboxed", "seconds", "cells", "job",
                                         "answered", "salt"]))
        target[key] = {"notes": "a string", "sandboxed": "yes", "seconds": "fast",
                       "cells": {}, "job": [], "answered": ["x"], "salt": 3}[key]
    elif mutation == "extra":
        target["surprise"] = 1
    elif mutation == "version":
        target["version"] = VERSION + 1
    with pytest.raises(BadArtifact) as info:
        decode_artifact(broken)
    assert str(info.value)


@pytest.mark.parametrize("output,problem", [
    ({"output_type": "stream", "name": "stdout"}, "exactly the fields"),
    ({"output_type": "widget"}, "is not one of"),
    ({"output_type": "error", "ename": "E", "evalue": "v", "traceback": [1]}, "hold strings"),
    ({"output_type": "display_data", "data": {"text/plain": "x"}, "metadata": []},
     "wrong type")])
def test_outputs_are_checked_field_by_field(output, problem):
    artifact = RunArtifact(job=Job("ada", "00_inputs"), cells=[
        Cell(CellRole.ADDED, "code", "print(1)", outputs=[output], run=CellRun())])
    data = json.loads(json.dumps(encode_artifact(artifact)))
    with pytest.raises(BadArtifact, match=problem):
        decode_artifact(data)


def test_files_round_trip_and_nonsense_files_are_rejected(tmp_path):
    artifact = RunArtifact(job=Job("ada", "00_inputs"), cells=[
        Cell(CellRole.ANSWER, "code", "x = 1", "q_x", run=CellRun(CellStatus.OK,
                                                                records=[{"a": float("nan")}]))])
    path = tmp_path / "runs" / "ada.json"
    dump_artifact(artifact, path)
    again = load_artifact(path)
    assert again.cells[0].grade_id == "q_x" and again.cells[0].run.status == CellStatus.OK
    path.write_text("{not json")
    with pytest.raises(BadArtifact, match="not valid JSON"):
        load_artifact(path)
    path.write_text(json.dumps({"kind": "something else"}))
    with pytest.raises(BadArtifact, match="not a grader run artifact"):
        load_artifact(path)
