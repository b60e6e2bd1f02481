"""Readers of the submission formats scored by ``repro evaluate``, with precise errors.

Every problem raises :class:`common.errors.PredictionFileError` naming the file, the 1-based
line (as an editor shows it) and the column, so a user can fix the input. The helpers here are
shared by all tasks (SED event lists, scene labels, later tagging/probability tables):

- :func:`read_lines` — the non-blank lines of a text file, numbered; empty/unreadable = error.
- :func:`parse_time`, :func:`parse_probability`, :func:`check_label` — one field each.
- :func:`file_key` — how a ground-truth file and a prediction are matched (base name, no
  extension), so ``audio/a001.wav``, ``a001.wav`` and ``a001`` are one file.
- :func:`read_event_list`, :func:`read_annotation_folder` — DCASE event lists.
- :func:`read_scene_labels` — ``filename,label`` tables (comma or tab separated).
- :func:`read_file_list`, :func:`restrict_files` — limit a ground truth to one split.
- :func:`match_predictions` — pair prediction files with ground-truth files.
- :func:`parse_label_list` — a ``--labels a,b,c`` option.

DCASE event-list format (read by sed_eval and dcase_util): tab-separated
``filename<TAB>onset<TAB>offset<TAB>event_label``, seconds, no header; a line holding the
filename alone lists a file with no event.
"""
from __future__ import annotations

import csv
import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from common.errors import ConfigError, PredictionFileError

EVENT_COLUMNS = ("filename", "onset", "offset", "event_label")
ANNOTATION_COLUMNS = ("onset", "offset", "event_label")
SCENE_LABEL_COLUMNS = ("filename", "label")
# Header names accepted for the label column of a scene table (ours, DCASE's).
SCENE_LABEL_HEADERS = ("label", "scene_label")
# TUT-SED Synthetic 2016 names an annotation "...-annot-<n>.txt" for audio "...-mix-<n>.wav"
# (specs/drossos_sed.md §3.1).
_ANNOT_TO_MIX = re.compile(r"-annot-(?=[^/\\]*$)")


@dataclass(frozen=True)
class Event:
    """One event of an event list; ``line`` is where it was read (1-based)."""
    filename: str
    onset: float
    offset: float
    event_label: str
    line: int

    def as_sed_eval(self) -> dict[str, object]:
        """The dict sed_eval 0.2.1 accepts as one event-list item."""
        return {"filename": self.filename, "onset": self.onset, "offset": self.offset,
                "event_label": self.event_label}


@dataclass
class EventList:
    """Events of one or more files read from ``path`` (a file or a folder).

    ``files`` maps each file name as written to its events, in reading order, and includes
    files listed with no event; ``lines`` gives the first line (or 0 for a folder entry) where
    a file was named, and ``sources`` the file each entry was read from."""
    path: Path
    files: dict[str, list[Event]] = field(default_factory=dict)
    lines: dict[str, int] = field(default_factory=dict)
    sources: dict[str, Path] = field(default_factory=dict)

    def add_file(self, name: str, line: int, source: Path) -> None:
        if name not in self.files:
            self.files[name] = []
            self.lines[name] = line
            self.sources[name] = source

    @property
    def events(self) -> list[Event]:
        return [ev for evs in self.files.values() for ev in evs]


@dataclass
class SceneLabels:
    """One label per file from a scene table; ``lines`` holds the line of each file."""
    path: Path
    labels: dict[str, str] = field(default_factory=dict)
    lines: dict[str, int] = field(default_factory=dict)
    label_column: str = "label"


# --------------------------------------------------------------------------- fields

def read_lines(path: str | Path, *, allow_empty: bool = False) -> list[tuple[int, str]]:
    """``(line_number, text)`` of the non-blank lines of a UTF-8 text file (a BOM and trailing
    CR are dropped). An unreadable file, or one with no content unless ``allow_empty``, is an
    error naming it."""
    path = Path(path)
    if path.is_dir():
        raise PredictionFileError(path, "is a folder, expected a file")
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise PredictionFileError(path, "file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise PredictionFileError(path, f"cannot read as UTF-8 text ({exc})") from None
    lines = [(n, line.rstrip("\r")) for n, line in enumerate(text.split("\n"), start=1)
             if line.strip()]
    if not lines and not allow_empty:
        raise PredictionFileError(path, "file is empty")
    return lines


def parse_float(value: str, path: str | Path, line: int, column: str) -> float:
    """A finite decimal number."""
    try:
        number = float(value)
    except ValueError:
        raise PredictionFileError(path, f"{value!r} is not a number", line, column) from None
    if not math.isfinite(number):
        raise PredictionFileError(path, f"{value!r} is not a finite number", line, column)
    return number


def parse_time(value: str, path: str | Path, line: int, column: str) -> float:
    """A time in seconds: a finite number >= 0."""
    number = parse_float(value, path, line, column)
    if number < 0:
        raise PredictionFileError(path, f"time {value!r} is negative", line, column)
    return number


def parse_probability(value: str, path: str | Path, line: int, column: str) -> float:
    """A probability: a finite number in [0, 1]."""
    number = parse_float(value, path, line, column)
    if not 0.0 <= number <= 1.0:
        raise PredictionFileError(path, f"probability {value!r} is outside [0, 1]",
                                  line, column)
    return number


def check_label(value: str, known: Iterable[str], path: str | Path, line: int,
                column: str) -> str:
    """``value`` when it is one of ``known``; else an error listing the known labels."""
    known = list(known)
    if value not in known:
        shown = ", ".join(known) if len(known) <= 30 else ", ".join(known[:30]) + ", ..."
        raise PredictionFileError(path, f"unknown label {value!r} (known: {shown})",
                                  line, column)
    return value


def file_key(name: str) -> str:
    """The key matching a prediction to a ground-truth file: the base name without folder and
    without its last extension (``audio/home/a001.wav`` -> ``a001``)."""
    base = re.split(r"[/\\]", name.strip())[-1]
    stem, dot, _ = base.rpartition(".")
    return stem if dot and stem else base


def split_fields(text: str, delimiter: str) -> list[str]:
    """Fields of one line, stripped of surrounding blanks. Comma lines follow CSV quoting."""
    if delimiter == ",":
        return [f.strip() for f in next(csv.reader([text]))]
    return [f.strip() for f in text.split(delimiter)]


def _is_number(value: str) -> bool:
    try:
        float(value)
    except ValueError:
        return False
    return True


def _missing_column(path: Path, line: int, columns: tuple[str, ...], found: int,
                    delimiter_name: str) -> PredictionFileError:
    return PredictionFileError(
        path, f"missing column: expected {len(columns)} {delimiter_name}-separated columns "
              f"({', '.join(columns)}), found {found}", line, columns[found])


# --------------------------------------------------------------------------- event lists

def _event(fields: list[str], filename: str, path: Path, line: int) -> Event:
    """An event from the fields named ``onset, offset, event_label`` (the last three)."""
    onset_s, offset_s, label = fields[-3:]
    onset = parse_time(onset_s, path, line, "onset")
    offset = parse_time(offset_s, path, line, "offset")
    if onset >= offset:
        raise PredictionFileError(path, f"onset {onset_s} is not before offset {offset_s}",
                                  line, "offset")
    if not label:
        raise PredictionFileError(path, "empty event label", line, "event_label")
    return Event(filename, onset, offset, label, line)


def read_event_list(path: str | Path) -> EventList:
    """A DCASE event list: ``filename<TAB>onset<TAB>offset<TAB>event_label`` per line, or the
    filename alone for a file with no event. Lines must be tab-separated (labels may hold
    spaces). Errors name the line and column: a missing column, a non-number, a negative
    onset, onset >= offset, an empty label or filename."""
    path = Path(path)
    result = EventList(path)
    lines = read_lines(path)
    for number, text in lines:
        fields = split_fields(text, "\t")
        if not fields[0]:
            raise PredictionFileError(path, "empty filename", number, "filename")
        if len(fields) == 1 or not any(fields[1:]):
            # The filename alone (trailing tabs tolerated): a file with no event. A line that
            # looks like space-separated columns is a format error, not a file name.
            tokens = text.split()
            if len(fields) == 1 and len(tokens) >= 4 and _is_number(tokens[-3]):
                raise PredictionFileError(path, "columns must be tab-separated (found spaces)",
                                          number, "onset")
            result.add_file(fields[0], number, path)
            continue
        if len(fields) < len(EVENT_COLUMNS):
            raise _missing_column(path, number, EVENT_COLUMNS, len(fields), "tab")
        if len(fields) > len(EVENT_COLUMNS):
            raise PredictionFileError(
                path, f"expected 4 tab-separated columns ({', '.join(EVENT_COLUMNS)}), "
                      f"found {len(fields)}", number)
        if number == lines[0][0] and fields[1].lower() == "onset":
            raise PredictionFileError(path, "header line found; the DCASE event-list format "
                                            "has no header", number, "onset")
        event = _event(fields, fields[0], path, number)
        result.add_file(fields[0], number, path)
        result.files[fields[0]].append(event)
    return result


def annotation_audio_name(annotation: Path) -> str:
    """The audio file an annotation file describes: TUT-SED Synthetic 2016
    ``...-annot-<n>.txt`` -> ``...-mix-<n>.wav`` (specs/drossos_sed.md §3.1); any other
    ``<stem>.ann|.txt`` -> ``<stem>.wav`` (TUT Sound Events 2016 ``a001.ann`` -> ``a001.wav``)."""
    return _ANNOT_TO_MIX.sub("-mix-", annotation.stem) + ".wav"


def read_annotation_folder(folder: str | Path) -> EventList:
    """A dataset's ``meta/`` folder: one annotation file per audio file, lines
    ``onset<TAB>offset<TAB>event_label`` (whitespace-separated when a file has no tab); an
    empty file is an audio file with no event. Files ``*.ann`` are read when any exist
    (TUT Sound Events 2016), else ``*.txt`` (TUT-SED Synthetic 2016), in sub-folders too."""
    folder = Path(folder)
    if not folder.is_dir():
        raise PredictionFileError(folder, "not a folder")
    files = sorted(folder.rglob("*.ann")) or sorted(folder.rglob("*.txt"))
    if not files:
        raise PredictionFileError(folder, "no annotation files (*.ann or *.txt) in the folder")
    result = EventList(folder)
    seen: dict[str, Path] = {}
    for ann in files:
        name = annotation_audio_name(ann)
        if name in seen:
            raise PredictionFileError(ann, f"describes {name!r} like {seen[name]}")
        seen[name] = ann
        result.add_file(name, 0, ann)
        lines = read_lines(ann, allow_empty=True)
        delimiter = "\t" if any("\t" in text for _, text in lines) else None
        for number, text in lines:
            fields = split_fields(text, "\t") if delimiter else text.split()
            if len(fields) < len(ANNOTATION_COLUMNS):
                raise _missing_column(ann, number, ANNOTATION_COLUMNS, len(fields),
                                      "tab" if delimiter else "whitespace")
            if len(fields) > len(ANNOTATION_COLUMNS) and delimiter:
                raise PredictionFileError(
                    ann, f"expected 3 tab-separated columns ({', '.join(ANNOTATION_COLUMNS)}), "
                         f"found {len(fields)}", number)
            if not delimiter:
                # Whitespace-separated: a label may hold spaces, so it is the rest of the line.
                fields = fields[:2] + [" ".join(fields[2:])]
            result.files[name].append(_event(fields, name, ann, number))
    return result


def read_ground_truth_events(path: str | Path) -> EventList:
    """An event-list file, or a ``meta/`` folder of per-file annotations."""
    path = Path(path)
    return read_annotation_folder(path) if path.is_dir() else read_event_list(path)


def read_file_list(path: str | Path) -> dict[str, int]:
    """Files named by a list such as ``evaluation_setup/test.txt``: the first column of each
    line (tab-separated, or whitespace when a line has no tab) -> the first line naming it.
    A file named on several lines (one line per event) is listed once."""
    path = Path(path)
    names: dict[str, int] = {}
    for number, text in read_lines(path):
        name = (text.split("\t") if "\t" in text else text.split())[0].strip()
        if not name:
            raise PredictionFileError(path, "empty filename", number, "filename")
        names.setdefault(name, number)
    return names


def restrict_files(events: EventList, file_list: str | Path) -> EventList:
    """``events`` limited to the files of ``file_list`` (matched by :func:`file_key`), in the
    list's order. A listed file absent from ``events`` is an error naming its line."""
    listed = read_file_list(file_list)
    keys = unique_keys(events.files, events.lines, events.path)
    result = EventList(events.path)
    for name, number in listed.items():
        key = file_key(name)
        if key not in keys:
            raise PredictionFileError(file_list, f"file {name!r} is not in the ground truth "
                                                 f"{events.path}", number, "filename")
        own = keys[key]
        result.add_file(own, events.lines[own], events.sources[own])
        result.files[own] = events.files[own]
    return result


# --------------------------------------------------------------------------- scene labels

def read_scene_labels(path: str | Path) -> SceneLabels:
    """A table of one label per file: ``filename,label`` (CSV) or ``filename<TAB>scene_label``
    (DCASE). The delimiter is a tab when the first line holds one, else a comma. A first line
    whose first field is ``filename`` is a header: the label column is then the one named
    ``label`` or ``scene_label`` and other columns (e.g. class probabilities) are ignored.
    Without a header the table has exactly two columns. A file named twice (by
    :func:`file_key`) is an error naming both lines."""
    path = Path(path)
    lines = read_lines(path)
    delimiter = "\t" if "\t" in lines[0][1] else ","
    delimiter_name = "tab" if delimiter == "\t" else "comma"
    first = split_fields(lines[0][1], delimiter)
    result = SceneLabels(path)
    if first[0].lower() == "filename":
        header = [f.lower() for f in first]
        label_name = next((h for h in SCENE_LABEL_HEADERS if h in header), None)
        if label_name is None:
            raise PredictionFileError(
                path, f"header has no label column (one of {', '.join(SCENE_LABEL_HEADERS)})",
                lines[0][0], "label")
        file_col, label_col = header.index("filename"), header.index(label_name)
        columns = tuple(first)
        rows = lines[1:]
        result.label_column = first[label_col]
        if not rows:
            raise PredictionFileError(path, "no rows after the header", lines[0][0])
    else:
        file_col, label_col, columns, rows = 0, 1, SCENE_LABEL_COLUMNS, lines
    keys: dict[str, str] = {}
    for number, text in rows:
        fields = split_fields(text, delimiter)
        if len(fields) < len(columns):
            raise _missing_column(path, number, columns, len(fields), delimiter_name)
        if len(fields) > len(columns):
            raise PredictionFileError(
                path, f"expected {len(columns)} {delimiter_name}-separated columns "
                      f"({', '.join(columns)}), found {len(fields)}", number)
        name, label = fields[file_col], fields[label_col]
        if not name:
            raise PredictionFileError(path, "empty filename", number, columns[file_col])
        if not label:
            raise PredictionFileError(path, "empty label", number, columns[label_col])
        key = file_key(name)
        if key in keys:
            raise PredictionFileError(
                path, f"duplicate file {name!r} (already on line "
                      f"{result.lines[keys[key]]})", number, columns[file_col])
        keys[key] = name
        result.labels[name] = label
        result.lines[name] = number
    return result


# --------------------------------------------------------------------------- matching

def unique_keys(names: Iterable[str], lines: Mapping[str, int], path: Path,
                column: str = "filename") -> dict[str, str]:
    """``file_key -> name``; two names with one key (e.g. ``a/x.wav`` and ``b/x.wav``) are an
    error, since predictions could not tell them apart."""
    keys: dict[str, str] = {}
    for name in names:
        key = file_key(name)
        if key in keys:
            raise PredictionFileError(
                path, f"files {keys[key]!r} and {name!r} share the base name {key!r}, which "
                      "is how predictions are matched", lines.get(name) or None, column)
        keys[key] = name
    return keys


def match_predictions(truth_names: Iterable[str], truth_lines: Mapping[str, int],
                      truth_path: Path, predicted_names: Iterable[str],
                      predicted_lines: Mapping[str, int], predicted_path: Path,
                      column: str = "filename") -> tuple[dict[str, str], list[str]]:
    """Pair predictions with ground-truth files by :func:`file_key`.

    Returns ``{predicted name: ground-truth name}`` and the ground-truth files with no
    prediction (in ground-truth order). A prediction for a file not in the ground truth is an
    error naming its line."""
    truth_keys = unique_keys(truth_names, truth_lines, truth_path, column)
    pairs: dict[str, str] = {}
    for name in predicted_names:
        key = file_key(name)
        if key not in truth_keys:
            raise PredictionFileError(
                predicted_path, f"prediction for file {name!r}, which is not in the ground "
                                f"truth {truth_path}", predicted_lines.get(name), column)
        pairs[name] = truth_keys[key]
    predicted = set(pairs.values())
    missing = [name for name in truth_keys.values() if name not in predicted]
    return pairs, missing


def parse_label_list(value: str | None) -> list[str] | None:
    """``--labels a,b,c`` -> ``["a", "b", "c"]`` (None when not given)."""
    if value is None:
        return None
    labels = [v.strip() for v in str(value).split(",") if v.strip()]
    if not labels:
        raise ConfigError("--labels: no label given")
    duplicates = sorted({lab for lab in labels if labels.count(lab) > 1})
    if duplicates:
        raise ConfigError(f"--labels: duplicate labels {duplicates}")
    return labels
