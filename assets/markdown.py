"""Markdown tables for Dagster asset and check metadata: one builder for every layer."""

from collections.abc import Iterable, Sequence


def markdown_table(columns: Sequence[str], rows: Iterable[Sequence], empty: str = "none") -> str:
    """A Markdown table of ``rows`` under ``columns``; ``empty`` when there is no row."""
    body = ["| " + " | ".join(str(v) for v in row) + " |" for row in rows]
    if not body:
        return empty
    return "\n".join(["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns), *body])
