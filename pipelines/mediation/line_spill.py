"""A spill per line bucket: rows gathered in chunks, set aside on local disk by line bucket,
and read back one bucket at a time.

A stage whose input is larger than memory (a day of a big network's records) appends it in
chunks of bounded size; each chunk is split by line bucket (line_buckets.py) and appended to
its bucket's file. Each file is Arrow IPC, LZ4-compressed: quick to write, and readable a
few columns at a time. The spill is scratch: its directory is emptied when it opens and
removed when it closes, so a run killed halfway leaves nothing the next run reads.
"""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType

import pyarrow as pa

from pipelines.mediation.line_buckets import LINE_BUCKETS, split_by_line_bucket

_WRITE_OPTIONS = pa.ipc.IpcWriteOptions(compression="lz4")


class LineBucketSpill:
    """Rows of ``schema`` (which has the line columns) kept per line bucket under
    ``directory``; a context manager that removes the directory on the way out."""

    def __init__(self, directory: Path, schema: pa.Schema) -> None:
        self.directory = directory
        self.schema = schema
        self._writers: dict[int, pa.ipc.RecordBatchFileWriter] = {}
        self._rows = [0] * LINE_BUCKETS

    def __enter__(self) -> LineBucketSpill:
        shutil.rmtree(self.directory, ignore_errors=True)
        self.directory.mkdir(parents=True)
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.close()
        shutil.rmtree(self.directory, ignore_errors=True)

    def append(self, rows: pa.Table) -> None:
        """Add ``rows`` to their buckets, after the rows appended before."""
        for bucket, part in split_by_line_bucket(rows.select(self.schema.names)).items():
            writer = self._writers.get(bucket)
            if writer is None:
                writer = pa.ipc.new_file(self._path(bucket), self.schema, options=_WRITE_OPTIONS)
                self._writers[bucket] = writer
            writer.write_table(part.cast(self.schema))
            self._rows[bucket] += part.num_rows

    def close(self) -> None:
        """Finish writing: the buckets can be read from now on."""
        for writer in self._writers.values():
            writer.close()
        self._writers.clear()

    def rows(self, bucket: int) -> int:
        """How many rows were appended to ``bucket``."""
        return self._rows[bucket]

    def read(self, bucket: int, columns: Sequence[str] | None = None) -> pa.Table:
        """One bucket's rows (or only ``columns``) in the order they were appended."""
        if self._writers:
            raise RuntimeError("close the spill before reading it")
        names = list(self.schema.names if columns is None else columns)
        path = self._path(bucket)
        if not path.exists():
            return self.schema.empty_table().select(names)
        fields = [self.schema.get_field_index(name) for name in names]
        options = pa.ipc.IpcReadOptions(included_fields=fields)
        # Mapped, not read: only the chosen columns' pages come off the disk. The mapping
        # lives as long as a buffer of the table refers to it.
        source = pa.memory_map(str(path))
        return pa.ipc.open_file(source, options=options).read_all().select(names)

    def _path(self, bucket: int) -> Path:
        return self.directory / f"line_bucket={bucket}.arrow"
