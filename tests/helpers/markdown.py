"""Markdown documents as the tests read them: a real CommonMark parser with tables (markdown-it-py)."""

from __future__ import annotations

from markdown_it import MarkdownIt


def tables(document: str) -> list[list[list[str]]]:
    """Every table of ``document`` as rows of cell texts (inline source), header row first."""
    found: list[list[list[str]]] = []
    row: list[str] | None = None
    for token in MarkdownIt("commonmark").enable("table").parse(document):
        if token.type == "table_open":
            found.append([])
        elif token.type == "tr_open":
            row = []
        elif token.type == "inline" and row is not None:
            row.append(token.content)
        elif token.type == "tr_close":
            found[-1].append(row)
            row = None
    return found
