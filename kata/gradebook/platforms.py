"""The results the platforms already hold, read instead of grading again.

Gradescope's "Export Submissions" (a zip, or the folder it unpacks to):

    assignment_123_export/
        submission_metadata.yml     per submission: :submitters (:name, :sid, :email),
                                    :created_at, :score, :status, :results (results.json)
        submission_456/ ...         the learner's files

Each submission's :results is the results.json our Gradescope bundle wrote, so it reads as
one of ours (kata.gradebook.book.from_results); a group submission gives a row per member.

Classroom 50: the classroom's scores.json (schema classroom50/scores/v1, written by its
collect-scores workflow: per assignment, per owner, the result.json of every submission,
newest first), a single result.json (classroom50/result/v1), or the folder that
`gh teacher download` writes (a result.json per repository).
"""

import json
import zipfile
from pathlib import Path

from kata.gradebook.book import Row, broken, from_classroom50, from_results

METADATA = "submission_metadata.yml"
SCORES_SCHEMA, RESULT_SCHEMA = "classroom50/scores/v1", "classroom50/result/v1"
GRADESCOPE, CLASSROOM50 = "gradescope", "classroom 50"


def gradescope_metadata(path: Path) -> str | None:
    """The text of the export's submission_metadata.yml, if `path` is such an export."""
    path = Path(path)
    if path.is_dir():
        found = sorted(path.glob(METADATA)) or sorted(path.glob(f"*/{METADATA}"))
        return found[0].read_text(encoding="utf-8") if found else None
    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as zipped:
            names = [n for n in zipped.namelist() if n.rsplit("/", 1)[-1] == METADATA]
            if names:
                return zipped.read(min(names, key=len)).decode("utf-8")
    return None


def read_gradescope(text: str) -> list[Row]:
    try:
        import yaml
    except ImportError as error:
        raise SystemExit("reading a Gradescope export needs PyYAML: pip install pyyaml") \
            from error
    rows = []
    for key, entry in (yaml.safe_load(text) or {}).items():
        entry = entry if isinstance(entry, dict) else {}
        submitters = entry.get(":submitters") or [{}]
        results = entry.get(":results")
        for submitter in submitters:
            learner = str(submitter.get(":email") or submitter.get(":sid")
                          or submitter.get(":name") or key)
            if isinstance(results, dict) and results.get("tests"):
                row = from_results(results, learner, GRADESCOPE)
            else:
                row = broken(learner, GRADESCOPE, f"{key}: no autograder results in the export "
                             f"(status {entry.get(':status', 'unknown')})")
            row.submitted_at = str(entry.get(":created_at") or "")
            rows.append(row)
    return rows


def classroom50_json(path: Path) -> dict | None:
    """A Classroom 50 scores.json or result.json, by its schema; None for anything else."""
    if Path(path).suffix != ".json" or not Path(path).is_file():
        return None
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) and data.get("schema") in (SCORES_SCHEMA,
                                                                     RESULT_SCHEMA) else None


def classroom50_results(path: Path) -> list[Path]:
    """The result.json files of a `gh teacher download` folder: one per repository."""
    if not Path(path).is_dir():
        return []
    return [p for p in sorted(Path(path).glob("*/result.json")) if classroom50_json(p)]


def read_classroom50(data: dict, assignment: str | None = None) -> list[Row]:
    """Rows from a scores.json (the newest submission of each owner) or one result.json."""
    if data.get("schema") == RESULT_SCHEMA:
        return [from_classroom50(data, str(data.get("owner") or "unknown"))]
    assignments = data.get("assignments") or {}
    if assignment is None:
        if len(assignments) != 1:
            raise SystemExit("scores.json holds the assignments " + ", ".join(sorted(
                assignments)) + ": say which with --assignment")
        assignment = next(iter(assignments))
    if assignment not in assignments:
        raise SystemExit(f"scores.json has no assignment {assignment!r}")
    rows = []
    for entry in assignments[assignment].get("entries") or []:
        owner = str(entry.get("owner") or "unknown")
        submissions = entry.get("submissions") or []
        rows.append(from_classroom50(submissions[0], owner) if submissions
                    else broken(owner, CLASSROOM50, "no submission in scores.json"))
    return rows


def read_platform(path: Path, assignment: str | None = None) -> list[Row] | None:
    """The rows of a platform's export at `path`, or None when it is no such export."""
    text = gradescope_metadata(path)
    if text is not None:
        return read_gradescope(text)
    data = classroom50_json(path)
    if data is not None:
        return read_classroom50(data, assignment)
    results = classroom50_results(path)
    if results:
        return [row for result in results
                for row in read_classroom50(json.loads(result.read_text(encoding="utf-8")))]
    return None

