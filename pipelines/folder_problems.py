"""The error a reference folder loader raises: every problem found, each with its file and
line, so one run of the loader lists everything to fix (tariff catalogs, tax rule sets)."""

from __future__ import annotations

#: How many problems the message shows; ``problems`` keeps them all.
SHOWN_PROBLEMS = 50


class FolderProblems(ValueError):
    """``problems`` holds one "file:line: what" per problem; ``subject`` names the folder's
    kind in the message ("the catalog", "the tax rule set")."""

    def __init__(self, problems: list[str], subject: str) -> None:
        self.problems = problems
        shown = "\n".join(problems[:SHOWN_PROBLEMS])
        more = len(problems) - SHOWN_PROBLEMS
        tail = f"\n... and {more} more" if more > 0 else ""
        super().__init__(f"{len(problems)} problem(s) in {subject}:\n{shown}{tail}")
