"""Bulk import of actions from a file (``manage.py import_actions``): CSV or JSON Lines.

Token-moving types (EARN_/SPEND_/PURCHASE_CYBER_TOKENS, UNLOCK_CONTENT) come in as history with their
ledger rows, in file order (an unlock with its unlock record and reward row, for a stage of the catalog); a line
that would take a balance below zero, or an unlock that cannot be recorded, stops the import, named by its number.

The file is streamed and taken in chunks. Each chunk is validated by the same rules as
``POST /api/actions`` (``parse_batch``) and stored by ``actions_ingest`` in one transaction with
the file's checkpoint, so an import that stops (a bad line, a crash) keeps every chunk before it
and a re-run carries on after the last committed line. A chunk with a bad line is not stored at
all; the error names the line (1-based; a CSV header is line 1) and the field. Event ids dedupe,
so importing a file twice never stores an action twice.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import orjson
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from activity.registry import REGISTRY
from activity.services import actions_ingest
from activity.validation import EARLIEST_HISTORY_TIMESTAMP, ParsedAction, parse_batch
from content.errors import ContentHistoryRefused
from content.services import content_unlock_record_history
from core.metrics import ACTIONS_REJECTED
from operations.models import ImportCheckpoint
from wallet.errors import IdempotencyKeyReused, InsufficientBalance
from wallet.services import wallet_record_history

FORMATS = ("csv", "jsonl")
EXTENSIONS = {".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl"}
CSV_COLUMNS = ("event_id", "user_id", "action_type", "action_timestamp", "metadata")
HEAD_BYTES = 64 * 1024
MAX_REPORTED_PROBLEMS = 20
_INTEGER = re.compile(r"\s*[+-]?\d+\s*")
_BATCH_PATH = re.compile(r"line\[(\d+)\](?:\.(.*))?")

ByteCounter = Callable[[int], object]


class ImportFailed(Exception):
    """The import stopped; ``str()`` says why (line numbers and fields) and what was kept."""


@dataclass(frozen=True)
class Record:
    """One action as read from the file, before validation."""

    first_line: int
    last_line: int
    item: Any
    problems: dict[str, str] = field(default_factory=dict)  # found while reading (bad JSON, ...)


@dataclass(frozen=True)
class ImportReport:
    """What this run did. ``resumed_after`` is the last line an earlier run had committed."""

    path: str
    stored: int = 0
    duplicates: int = 0
    lines: int = 0
    resumed_after: int = 0
    already_finished_at: dt.datetime | None = None
    checkpoint: ImportCheckpoint | None = None


def detect_format(path: Path, explicit: str | None = None) -> str:
    if explicit is not None:
        if explicit not in FORMATS:
            raise ImportFailed(f"Unknown format {explicit!r}: use one of {', '.join(FORMATS)}.")
        return explicit
    fmt = EXTENSIONS.get(path.suffix.lower())
    if fmt is None:
        raise ImportFailed(f"Cannot tell the format of {path.name} from its extension: pass --format csv or jsonl.")
    return fmt


def file_fingerprint(path: Path) -> str:
    """SHA-256 of the absolute path, the size and the first 64 KiB: the checkpoint's key.

    Changing a line beyond the head without changing the size keeps the key (a fixed typo resumes);
    anything else starts afresh, which event-id dedupe makes safe.
    """
    resolved = path.resolve()
    digest = hashlib.sha256()
    digest.update(str(resolved).encode())
    digest.update(b"\0" + str(resolved.stat().st_size).encode() + b"\0")
    with resolved.open("rb") as fh:
        digest.update(fh.read(HEAD_BYTES))
    return digest.hexdigest()


# --- reading ------------------------------------------------------------------------------------


class LineSource:
    """The file's lines, decoded, one at a time, counting lines and reporting bytes as it goes."""

    def __init__(self, fh: IO[bytes], on_bytes: ByteCounter | None = None) -> None:
        self.fh = fh
        self.on_bytes = on_bytes
        self.lines = 0

    def __iter__(self) -> Iterator[str]:
        for raw in self.fh:
            self.lines += 1
            if self.on_bytes is not None:
                self.on_bytes(len(raw))
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise ImportFailed(f"line {self.lines}: Not valid UTF-8 ({exc.reason} at byte {exc.start}).") from exc
            yield line.removeprefix("\ufeff") if self.lines == 1 else line


def _json_problem(exc: orjson.JSONDecodeError) -> str:
    return f"Not valid JSON: {exc.msg} (column {exc.colno})."


def _csv_item(header: list[str], row: list[str]) -> tuple[dict[str, Any], dict[str, str]]:
    if len(row) != len(header):
        return {}, {"": f"Has {len(row)} fields; the header has {len(header)}."}
    values = dict(zip(header, row, strict=True))
    item: dict[str, Any] = {name: values[name] for name in CSV_COLUMNS}
    user_id = item["user_id"]
    if _INTEGER.fullmatch(user_id):
        item["user_id"] = int(user_id)
    raw_metadata = item["metadata"].strip()
    if not raw_metadata:
        item["metadata"] = {}
        return item, {}
    try:
        item["metadata"] = orjson.loads(raw_metadata)
    except orjson.JSONDecodeError as exc:
        return item, {"metadata": _json_problem(exc)}
    return item, {}


def _csv_records(lines: Iterable[str]) -> Iterator[Record]:
    reader = csv.reader(lines)
    try:
        header = [name.strip().lower() for name in next(reader)]
    except StopIteration:
        return
    except csv.Error as exc:
        raise ImportFailed(f"line 1: header: {exc}.") from exc
    missing = [name for name in CSV_COLUMNS if name not in header]
    if missing:
        raise ImportFailed(
            f"line 1: header: must name the columns {', '.join(CSV_COLUMNS)} (missing: {', '.join(missing)})."
        )
    while True:
        first_line = reader.line_num + 1
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            yield Record(first_line, reader.line_num, None, {"": f"Not valid CSV: {exc}."})
            continue
        if not row or row == [""]:
            continue
        item, problems = _csv_item(header, row)
        yield Record(first_line, reader.line_num, item, problems)


def _jsonl_records(lines: Iterable[str]) -> Iterator[Record]:
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            item = orjson.loads(line.rstrip("\r\n"))
        except orjson.JSONDecodeError as exc:
            yield Record(number, number, None, {"": _json_problem(exc)})
            continue
        yield Record(number, number, item)


def read_records(source: LineSource, fmt: str) -> Iterator[Record]:
    return _csv_records(source) if fmt == "csv" else _jsonl_records(source)


def _chunks(records: Iterable[Record], size: int) -> Iterator[list[Record]]:
    chunk: list[Record] = []
    for record in records:
        chunk.append(record)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


# --- validating and storing ---------------------------------------------------------------------


def validate_chunk(
    chunk: list[Record], *, now: dt.datetime
) -> tuple[list[tuple[int, ParsedAction]], list[tuple[int, str]]]:
    """The chunk's actions with their lines, or its problems as (line, "line N: field: problem"),
    all-or-nothing."""
    problems: list[tuple[int, str]] = []
    readable: list[Record] = []
    for record in chunk:
        if record.problems:
            problems += [
                (record.first_line, _describe(record.first_line, name, text)) for name, text in record.problems.items()
            ]
        else:
            readable.append(record)
    # Token-moving types are history here: they are stored with their ledger rows (see _store_chunk).
    actions, errors = parse_batch(
        [r.item for r in readable],
        now=now,
        max_future=dt.timedelta(seconds=settings.ACTIONS_MAX_FUTURE_SECONDS),
        allow_token_moving=True,
        prefix="line",
        earliest=EARLIEST_HISTORY_TIMESTAMP,
    )
    for path, texts in errors.items():
        match = _BATCH_PATH.fullmatch(path)
        index, name = (int(match.group(1)), match.group(2) or "") if match else (0, path)
        line = readable[index].first_line
        problems += [(line, _describe(line, name, text)) for text in texts]
    problems.sort(key=lambda p: p[0])
    if problems:
        return [], problems
    return [(record.first_line, a) for record, a in zip(readable, actions, strict=True)], []


def _describe(line: int, name: str, problem: str) -> str:
    return f"line {line}: {name}: {problem}" if name else f"line {line}: {problem}"


def _checkpoint_for(path: Path, restart: bool) -> ImportCheckpoint:
    checkpoint, _ = ImportCheckpoint.objects.get_or_create(
        fingerprint=file_fingerprint(path), defaults={"path": str(path.resolve())}
    )
    if restart:
        checkpoint.lines_done = checkpoint.stored = checkpoint.duplicates = 0
        checkpoint.finished_at = None
        checkpoint.save()
    return checkpoint


class BalanceWouldGoNegative(Exception):  # or another refusal of one history line
    def __init__(self, line: int, message: str) -> None:
        super().__init__(f"line {line}: {message}")
        self.line = line


def _store_token_history(lined: list[tuple[int, ParsedAction]]) -> tuple[int, int]:
    """Token-moving actions, one ledger row each, in file order (balances are running sums). A content unlock goes
    through content, which records its unlock and reward with the ledger row."""
    stored = duplicates = 0
    for line, a in lined:
        try:
            record = content_unlock_record_history if a.action_type == "UNLOCK_CONTENT" else wallet_record_history
            result = record(a)
        except ContentHistoryRefused as exc:
            raise BalanceWouldGoNegative(line, f"UNLOCK_CONTENT of player {a.player_id}: {exc.message}") from exc
        except InsufficientBalance as exc:
            raise BalanceWouldGoNegative(
                line, f"{a.action_type} of player {a.player_id} would take the balance below zero ({exc.message})"
            ) from exc
        except IdempotencyKeyReused as exc:
            raise BalanceWouldGoNegative(line, f"event_id {a.event_id} was imported before with other content") from exc
        if result.replayed:
            duplicates += 1
        else:
            stored += 1
    return stored, duplicates


def _store_chunk(
    checkpoint: ImportCheckpoint, lined: list[tuple[int, ParsedAction]], last_line: int
) -> tuple[int, int]:
    """The chunk's actions (token-moving ones through the wallet) and the checkpoint after it, in one
    transaction."""
    plain = [a for _, a in lined if not REGISTRY[a.action_type].moves_tokens]
    tokens = [(line, a) for line, a in lined if REGISTRY[a.action_type].moves_tokens]
    with transaction.atomic():
        result = actions_ingest(actions=plain, path="import")
        token_stored, token_duplicates = _store_token_history(tokens)
        stored, duplicates = result.stored + token_stored, result.duplicates + token_duplicates
        checkpoint.lines_done = last_line
        checkpoint.stored += stored
        checkpoint.duplicates += duplicates
        checkpoint.save(update_fields=["lines_done", "stored", "duplicates", "updated_at"])
    return stored, duplicates


def _failure(
    problems: list[tuple[int, str]], chunk: list[Record], checkpoint: ImportCheckpoint, stored: int
) -> ImportFailed:
    shown = [text for _, text in problems[:MAX_REPORTED_PROBLEMS]]
    if len(problems) > MAX_REPORTED_PROBLEMS:
        shown.append(f"... and {len(problems) - MAX_REPORTED_PROBLEMS} more problems in this chunk.")
    done = f"lines 1-{checkpoint.lines_done} are done" if checkpoint.lines_done else "no line is done yet"
    shown.append(
        f"Stopped at the chunk of lines {chunk[0].first_line}-{chunk[-1].last_line}: nothing of it was stored. "
        f"Stored {stored} actions in this run; {done}. "
        "Fix the file and run again: if its first 64 KiB and size are unchanged the import resumes after "
        "the last line done, otherwise it starts over (the actions stored already count as duplicates)."
    )
    return ImportFailed("\n".join(shown))


def import_actions_file(
    path: Path,
    *,
    fmt: str | None = None,
    chunk_size: int = 5000,
    restart: bool = False,
    on_bytes: ByteCounter | None = None,
) -> ImportReport:
    """Import ``path`` chunk by chunk (see the module docstring). Raises ImportFailed on a bad chunk,
    after committing every chunk before it."""
    if chunk_size < 1:
        raise ImportFailed("The chunk size must be at least 1.")
    fmt = detect_format(path, fmt)
    checkpoint = _checkpoint_for(path, restart)
    if checkpoint.finished_at is not None:
        return ImportReport(path=str(path), already_finished_at=checkpoint.finished_at, checkpoint=checkpoint)
    resumed_after = checkpoint.lines_done
    stored = duplicates = 0
    with path.open("rb") as fh:
        source = LineSource(fh, on_bytes)
        records = (r for r in read_records(source, fmt) if r.last_line > resumed_after)
        for chunk in _chunks(records, chunk_size):
            lined, problems = validate_chunk(chunk, now=timezone.now())
            if problems:
                ACTIONS_REJECTED.labels("import").inc()
                raise _failure(problems, chunk, checkpoint, stored)
            try:
                chunk_stored, chunk_duplicates = _store_chunk(checkpoint, lined, chunk[-1].last_line)
            except BalanceWouldGoNegative as exc:
                ACTIONS_REJECTED.labels("import").inc()
                raise _failure([(exc.line, str(exc))], chunk, checkpoint, stored) from exc
            stored += chunk_stored
            duplicates += chunk_duplicates
    checkpoint.lines_done = max(checkpoint.lines_done, source.lines)
    checkpoint.finished_at = timezone.now()
    checkpoint.save(update_fields=["lines_done", "finished_at", "updated_at"])
    return ImportReport(
        path=str(path),
        stored=stored,
        duplicates=duplicates,
        lines=checkpoint.lines_done - resumed_after,
        resumed_after=resumed_after,
        checkpoint=checkpoint,
    )
