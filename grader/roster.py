"""The class list, as an LMS exports it: who should have a row, under which id and name.

``grader grade --roster FILE`` reads one of:

* **Canvas**: the gradebook export (``Student, ID, SIS User ID, SIS Login ID, Section, ...``),
  keyed by ``ID``, the Canvas user id that also names the downloaded files;
* **Moodle**: the assignment's grading worksheet (``Identifier, Full name, Email address, ...``,
  identifiers ``Participant 123``, the number that also names the downloaded folders), or the
  course's participants or grades export (``First name, Last name, ID number, Email address``),
  matched to submissions by full name;
* a plain CSV with the columns ``id,name`` (``student_id`` is accepted for ``id``): the ids of a
  folder of submissions are its folder names.

Every rostered student then gets one row per assignment ("missing" when nothing was submitted),
and the LMS import files list every rostered student.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from pathlib import Path

MAX_ROSTER_BYTES = 20_000_000


class RosterError(ValueError):
    """A roster file the grader cannot read; the message says why."""


@dataclass
class Student:
    id: str
    """The id submissions carry (Canvas user id, Moodle participant number, folder name)."""
    name: str
    fields: dict[str, str] = field(default_factory=dict)
    """The row as the LMS exported it (its import file needs some of these columns back)."""


@dataclass
class Roster:
    kind: str
    """canvas, moodle-worksheet, moodle-participants or plain."""
    students: list[Student]
    header: list[str]

    def by_id(self) -> dict[str, Student]:
        return {s.id: s for s in self.students}

    def match(self, student_id: str, name: str) -> Student | None:
        """The rostered student a submission belongs to: by id, else by unique full name."""
        found = self.by_id().get(student_id)
        if found is not None:
            return found
        wanted = _name_key(name)
        same = [s for s in self.students if _name_key(s.name) == wanted]
        return same[0] if len(same) == 1 else None


def _name_key(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", name.casefold())


def read_roster(path: Path) -> Roster:
    """Read a roster file in any of the formats above (recognised by its header)."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise RosterError(f"cannot read the roster {path}: {exc.strerror}") from None
    if len(raw) > MAX_ROSTER_BYTES:
        raise RosterError(f"the roster {path} is larger than {MAX_ROSTER_BYTES // 10**6} MB")
    text = raw.decode("utf-8-sig", errors="replace")
    rows = list(csv.reader(io.StringIO(text)))
    rows = [r for r in rows if any(cell.strip() for cell in r)]
    if not rows:
        raise RosterError(f"the roster {path} is empty")
    header = [h.strip() for h in rows[0]]
    body = [dict(zip(header, (c.strip() for c in row))) for row in rows[1:]]
    lower = [h.casefold() for h in header]
    if "student" in lower and "id" in lower and "sis user id" in lower:
        return _canvas(header, body)
    if "identifier" in lower and "full name" in lower:
        return _moodle_worksheet(header, body)
    if "first name" in lower and "last name" in lower:
        return _moodle_participants(header, body)
    if ("id" in lower or "student_id" in lower) and "name" in lower:
        return _plain(header, body)
    raise RosterError(f"the roster {path} is not a format the grader knows: expected Canvas's "
                      "gradebook export, Moodle's grading worksheet or participants export, or "
                      "a CSV with the columns id,name")


def _column(header: list[str], *names: str) -> str:
    for name in names:
        for h in header:
            if h.casefold() == name:
                return h
    raise RosterError(f"the roster has no column {names[0]!r}")


def _unique(students: list[Student], kind: str, header: list[str]) -> Roster:
    seen: dict[str, str] = {}
    for s in students:
        if not s.id:
            raise RosterError(f"a student of the roster has no id ({s.name!r})")
        if s.id in seen:
            raise RosterError(f"the roster lists the id {s.id!r} twice ({seen[s.id]!r}, "
                              f"{s.name!r})")
        seen[s.id] = s.name
    return Roster(kind, students, header)


def _canvas(header, body) -> Roster:
    name, uid = _column(header, "student"), _column(header, "id")
    students = [Student(row[uid], row[name], row) for row in body
                if row.get(uid, "").isdigit()]   # skips "Points Possible" and test students
    return _unique(students, "canvas", header)


def _moodle_worksheet(header, body) -> Roster:
    ident, name = _column(header, "identifier"), _column(header, "full name")
    students = []
    for row in body:
        number = re.sub(r"\D", "", row.get(ident, ""))
        students.append(Student(number, row.get(name, ""), row))
    return _unique(students, "moodle-worksheet", header)


def _moodle_participants(header, body) -> Roster:
    first, last = _column(header, "first name"), _column(header, "last name")
    key = next((h for h in header if h.casefold() in ("id number", "email address",
                                                      "username")), None)
    if key is None:
        raise RosterError("the Moodle export needs an 'ID number', 'Email address' or "
                          "'Username' column to import grades back")
    students = [Student(row[key], f"{row[first]} {row[last]}".strip(), row) for row in body]
    return _unique(students, "moodle-participants", header)


def _plain(header, body) -> Roster:
    ident, name = _column(header, "id", "student_id"), _column(header, "name")
    return _unique([Student(row[ident], row[name], row) for row in body], "plain", header)
