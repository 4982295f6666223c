"""The library's storage: one SQLite database (WAL) and files stored once by content hash.

Layout of a library folder::

    library.db (+ -wal, -shm)    entries, collections, a full-text index of the prompts
    images/ab/<sha256>.<ext>     each image as received (PNG: plus its provenance text chunks;
                                 other formats: plus a ``.json`` sidecar), named by the SHA-256
                                 of the bytes received
    inputs/ab/<sha256>           the files an edit sent (image, mask), to repeat it

Writers write the files first, then the rows in one transaction, so a reader never sees an
entry whose file is not complete, and two processes writing at once both land (SQLite's lock,
waited on for ``LIBRARY_BUSY_TIMEOUT``). Every failure of SQLite or of the file system becomes a
``LibraryError`` that says what to do.
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
import time
from collections.abc import Iterator
from pathlib import Path

from .._constants import LIBRARY_BUSY_TIMEOUT
from .._errors import LibraryError

__all__ = ["DATABASE_NAME", "SCHEMA_VERSION", "Store", "has_fts5"]

DATABASE_NAME = "library.db"
SCHEMA_VERSION = 1
#: ``PRAGMA application_id``: "CWLB", marks the database as a comet-widgets library.
APPLICATION_ID = 0x43574C42

# Statements separated by blank lines (executescript would commit the open transaction).
_SCHEMA = """
CREATE TABLE entries (
    id INTEGER PRIMARY KEY,
    sha256 TEXT NOT NULL,          -- the image file: images/<sha256[:2]>/<sha256><ext>
    ext TEXT NOT NULL,
    prompt TEXT NOT NULL,
    revised_prompt TEXT,
    model TEXT,
    params TEXT NOT NULL,          -- JSON: every parameter sent (an edit's files: name/size/sha256)
    image_index INTEGER NOT NULL,
    format TEXT,
    width INTEGER,
    height INTEGER,
    mismatches TEXT NOT NULL,      -- JSON {parameter: [asked, got]}
    request_id TEXT,
    created REAL NOT NULL,         -- Unix time (the answer's, else when it was recorded)
    elapsed REAL,
    usage TEXT,                    -- JSON
    cost TEXT NOT NULL,            -- JSON (Cost.as_dict), for the whole generation
    cost_usd REAL,
    inputs TEXT NOT NULL,          -- JSON [sha256 of each input file stored]
    batch TEXT,
    item INTEGER,
    starred INTEGER NOT NULL DEFAULT 0
)

CREATE INDEX entries_created ON entries (created DESC, id DESC)

CREATE INDEX entries_model ON entries (model, created DESC)

CREATE INDEX entries_sha256 ON entries (sha256)

CREATE TABLE thumbnails (sha256 TEXT PRIMARY KEY, data BLOB NOT NULL) WITHOUT ROWID

CREATE TABLE collections (
    name TEXT NOT NULL,
    entry INTEGER NOT NULL REFERENCES entries (id) ON DELETE CASCADE,
    PRIMARY KEY (name, entry)
) WITHOUT ROWID

CREATE INDEX collections_entry ON collections (entry)
"""

_FTS_SCHEMA = """
CREATE VIRTUAL TABLE entries_fts USING fts5(
    prompt, revised_prompt, content='entries', content_rowid='id'
)

CREATE TRIGGER entries_fts_insert AFTER INSERT ON entries BEGIN
    INSERT INTO entries_fts (rowid, prompt, revised_prompt)
    VALUES (new.id, new.prompt, new.revised_prompt);
END

CREATE TRIGGER entries_fts_delete AFTER DELETE ON entries BEGIN
    INSERT INTO entries_fts (entries_fts, rowid, prompt, revised_prompt)
    VALUES ('delete', old.id, old.prompt, old.revised_prompt);
END
"""


def has_fts5() -> bool:
    """Whether this Python's SQLite has the FTS5 full-text extension (most builds do)."""
    probe = sqlite3.connect(":memory:")
    try:
        probe.execute("CREATE VIRTUAL TABLE probe USING fts5(text)")
        return True
    except sqlite3.OperationalError:
        return False
    finally:
        probe.close()


@contextlib.contextmanager
def _transaction(connection: sqlite3.Connection) -> Iterator[None]:
    connection.execute("BEGIN IMMEDIATE")
    try:
        yield
        connection.execute("COMMIT")
    except BaseException:
        if connection.in_transaction:
            connection.execute("ROLLBACK")
        raise


class Store:
    """The database connection of one ``Library`` and its transactions.

    One connection, opened on first use; a lock lets one thread at a time use it (the panel
    calls from its loop thread, the user from the kernel's).
    """

    def __init__(self, root: Path) -> None:
        self.root = root
        self.database = root / DATABASE_NAME
        self._connection: sqlite3.Connection | None = None
        self._lock = threading.RLock()
        #: True when search uses the FTS5 index; False: a LIKE scan (SQLite built without it).
        self.fts = False

    def _open(self) -> sqlite3.Connection:
        try:
            self.root.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise LibraryError(
                f"cannot create the library folder {self.root}: {exc.strerror or exc}; give"
                " Library(path) or set COMET_WIDGETS_LIBRARY to a folder you can write",
                path=self.root,
            ) from exc
        # Its sqlite3.Error, as any other, is made a LibraryError by read() and write().
        connection = sqlite3.connect(
            self.database,
            timeout=LIBRARY_BUSY_TIMEOUT,
            isolation_level=None,  # transactions are explicit: BEGIN IMMEDIATE ... COMMIT
            check_same_thread=False,  # guarded by self._lock instead
        )
        connection.row_factory = sqlite3.Row
        try:
            self._prepare(connection)
        except BaseException:
            connection.close()
            raise
        return connection

    def _prepare(self, connection: sqlite3.Connection) -> None:
        try:
            # One statement, so one snapshot: another process may be creating it meanwhile.
            version, app, tables = connection.execute(
                "SELECT (SELECT user_version FROM pragma_user_version),"
                " (SELECT application_id FROM pragma_application_id),"
                " (SELECT count(*) FROM sqlite_master)"
            ).fetchone()
        except sqlite3.DatabaseError as exc:
            raise self._damaged(exc) from exc
        if tables and app != APPLICATION_ID:
            raise LibraryError(
                f"{self.database} is not a comet-widgets library (another program's SQLite"
                " database); nothing was changed. Give Library(path) another folder, or move"
                " the file aside",
                path=self.database,
            )
        if version > SCHEMA_VERSION:
            raise LibraryError(
                f"{self.database} was written by a newer comet-widgets (library schema"
                f" {version}, this one reads up to {SCHEMA_VERSION}); nothing was changed."
                " Upgrade: pip install -U comet-widgets",
                path=self.database,
            )
        # Turning a new database to WAL takes an exclusive lock without SQLite's busy handler:
        # while another process reads or creates it at the same moment, this waits for it here.
        deadline = time.monotonic() + LIBRARY_BUSY_TIMEOUT
        while True:
            try:
                connection.execute("PRAGMA journal_mode=WAL")
                break
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or time.monotonic() > deadline:
                    raise
                time.sleep(0.01)
        connection.execute("PRAGMA synchronous=NORMAL")  # WAL: durable at checkpoints
        connection.execute("PRAGMA foreign_keys=ON")
        if version < SCHEMA_VERSION:
            self._create(connection)
        fts = connection.execute("SELECT 1 FROM sqlite_master WHERE name = 'entries_fts'")
        self.fts = fts.fetchone() is not None

    def _create(self, connection: sqlite3.Connection) -> None:
        with _transaction(connection):
            # Another process may have created it while this one waited for the lock.
            if connection.execute("PRAGMA user_version").fetchone()[0] < SCHEMA_VERSION:
                script = _SCHEMA + ("\n" + _FTS_SCHEMA if has_fts5() else "")
                for statement in script.strip().split("\n\n"):
                    connection.execute(statement)
                connection.execute(f"PRAGMA application_id = {APPLICATION_ID}")
                connection.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

    def _damaged(self, exc: Exception) -> LibraryError:
        return LibraryError(
            f"{self.database} is damaged or not a database ({exc}); no image is lost: every"
            " image file carries its provenance. Recreate the database from them with"
            f" Library({str(self.root)!r}).rebuild() (the damaged file is kept aside)",
            path=self.database,
        )

    def _error(self, doing: str, exc: Exception) -> LibraryError:
        if isinstance(exc, sqlite3.DatabaseError) and "not a database" in str(exc):
            return self._damaged(exc)
        text = str(exc)
        hint = ""
        if "readonly" in text or "unable to open" in text:
            hint = "; the folder must be writable: give Library(path) another folder"
        elif "full" in text:
            hint = "; the disk is full: free some space"
        elif "locked" in text or "busy" in text:
            hint = "; another process held the library too long: try again"
        return LibraryError(f"{doing} the library at {self.database}: {text}{hint}", path=self.root)

    @contextlib.contextmanager
    def read(self, doing: str = "cannot read") -> Iterator[sqlite3.Connection]:
        """The connection, for reads (each statement sees one consistent snapshot)."""
        with self._lock:
            try:
                if self._connection is None:
                    self._connection = self._open()
                yield self._connection
            except sqlite3.Error as exc:
                raise self._error(doing, exc) from exc

    @contextlib.contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """One write transaction: everything in it lands, or nothing does."""
        with self.read("cannot write to") as connection, _transaction(connection):
            yield connection

    def move_aside(self) -> Path | None:
        """Close the connection and rename the database (and its WAL files) to
        ``library.db.old-<time>``; returns the new name, None when there was none."""
        self.close()
        if not self.database.exists():
            return None
        aside = self.database.with_name(f"{DATABASE_NAME}.old-{time.strftime('%Y%m%d-%H%M%S')}")
        for suffix in ("", "-wal", "-shm"):
            source = self.database.with_name(DATABASE_NAME + suffix)
            if source.exists():
                source.rename(aside.with_name(aside.name + suffix))
        return aside

    def close(self) -> None:
        with self._lock:
            if self._connection is not None:
                self._connection.close()
                self._connection = None
