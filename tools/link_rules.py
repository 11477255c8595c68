"""Turn bare rule ids in MyST notebook sources into links: ``link_rules.py notebooks/*.md``.

In the markdown parts of each file, a rule id cited as plain text (``G13``, ``(R8, R9)``,
``G13/G14``, ``G1-G3``) becomes a link to its entry in ``docs/rules.md``:
``[G13](../docs/rules.md#G13)``; in a range each end is linked on its own. Left untouched:
code cells and every other fenced block, inline code spans, the YAML front matter, MyST
comment lines (``%``) and cell breaks (``+++``), URLs, HTML comments, and ids that are
already the text of a link. The script is idempotent: a second run changes nothing. It
prints each change as ``file:line: G13 -> [G13](...)``; ``--check`` only reports (exit
status 1 if something would change). It rewrites the ``.md`` file only: sync a paired
``.ipynb`` afterwards (``jupytext --sync``).

The scanner here is also what ``tests/test_rules.py`` uses to check the notebooks.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RULES_MD = ROOT / "docs" / "rules.md"

#: A rule id as cited: G or R and one or two digits, not inside a longer word or number
#: (``E0004``, ``M/G/1``, ``utf8`` and ``G13x`` are not rule ids).
RULE_ID = re.compile(r"(?<![A-Za-z0-9_])([GR])(\d{1,2})(?![0-9A-Za-z_])")

# Fences: ``` or ~~~, three or more. A fence whose info string is a MyST directive other
# than a code one (``{note}``, ``{admonition}``) holds markdown; every other fence is code.
_FENCE_OPEN = re.compile(r"^ {0,3}(`{3,}|~{3,})(.*)$")
_CODE_DIRECTIVES = frozenset({
    "code-cell", "code", "code-block", "sourcecode", "literalinclude", "raw", "math",
    "eval-rst", "mermaid", "csv-table", "list-table", "glue",
})
_DIRECTIVE = re.compile(r"^\{([A-Za-z0-9_-]+)\}")

_BACKTICKS = re.compile(r"`+")
# [text](destination "optional title"); images too (the leading ! is outside the match).
_LINK = re.compile(r"\[([^\[\]\n]*)\]\(\s*(<[^>\n]*>|[^()\s]*)(?:\s+\"[^\"\n]*\")?\s*\)")
_AUTOLINK = re.compile(r"<[A-Za-z][A-Za-z0-9+.-]*:[^<>\s]*>")
_URL = re.compile(r"\bhttps?://[^\s<>()\[\]`]+")
_HTML_COMMENT = re.compile(r"<!--.*?-->", re.DOTALL)
_MASK = "\x00"
# The text of a link to a rule: one id, or a range "G1-G3" (hyphen, en dash or "..").
_RULE_LINK_TEXT = re.compile(r"\s*[GR]\d{1,2}(?:\s*(?:-|\u2013|\.\.)\s*[GR]\d{1,2})?\s*")


@dataclass(frozen=True, slots=True)
class Citation:
    """One rule id in the markdown prose of a file."""

    rule: str  #: "G13"
    start: int  #: offset of the id in the file's text
    line: int  #: 1-based line number
    linked: bool  #: the text of a link to ``<target>#<id>`` (or of a range such link starts)
    in_link: bool  #: inside the text of some link (linked or not)


@dataclass(frozen=True, slots=True)
class Change:
    """A bare id made a link by :func:`link_text`."""

    rule: str
    line: int
    link: str


def _is_code_fence(info: str) -> bool:
    m = _DIRECTIVE.match(info.strip())
    return m is None or m.group(1) in _CODE_DIRECTIVES


def prose_blocks(text: str) -> Iterator[tuple[int, str]]:
    """Yield ``(offset, block)`` for each run of markdown prose lines in a MyST source.

    Skipped: the YAML front matter, fenced code (code cells included), ``+++`` cell breaks
    and ``%`` comment lines. Blank lines end a block (an inline code span cannot cross one).
    """
    lines = text.splitlines(keepends=True)
    offsets: list[int] = []
    pos = 0
    for line in lines:
        offsets.append(pos)
        pos += len(line)
    i = 0
    if lines and lines[0].rstrip() == "---":  # front matter, up to the next ---
        i = 1
        while i < len(lines) and lines[i].rstrip() != "---":
            i += 1
        i += 1
    stack: list[tuple[str, int, bool]] = []  # open fences: (char, length, is_code)
    block_start: int | None = None
    block_parts: list[str] = []

    def flush() -> Iterator[tuple[int, str]]:
        nonlocal block_start
        if block_start is not None:
            yield block_start, "".join(block_parts)
        block_start = None
        block_parts.clear()

    while i < len(lines):
        line = lines[i]
        stripped = line.strip()
        in_code = bool(stack) and stack[-1][2]
        m = _FENCE_OPEN.match(line.rstrip("\r\n"))
        if m is not None:
            fence, info = m.group(1), m.group(2)
            if stack and fence[0] == stack[-1][0] and len(fence) >= stack[-1][1] \
                    and not info.strip():
                yield from flush()
                stack.pop()
                i += 1
                continue
            if not in_code and not (fence[0] == "`" and "`" in info):
                yield from flush()
                stack.append((fence[0], len(fence), _is_code_fence(info)))
                i += 1
                continue
        if in_code or not stripped or stripped.startswith(("+++", "%")):
            yield from flush()
            i += 1
            continue
        if block_start is None:
            block_start = offsets[i]
        block_parts.append(line)
        i += 1
    yield from flush()


def _code_spans(block: str) -> Iterator[tuple[int, int]]:
    """``(start, end)`` of each inline code span in ``block`` (CommonMark backtick runs)."""
    runs = [m for m in _BACKTICKS.finditer(block)
            if not (m.start() > 0 and block[m.start() - 1] == "\\")]
    k = 0
    while k < len(runs):
        opening = runs[k]
        size = len(opening.group())
        for j in range(k + 1, len(runs)):
            if len(runs[j].group()) == size:
                yield opening.start(), runs[j].end()
                k = j + 1
                break
        else:
            k += 1  # an unmatched run is literal text


def _mask(s: str, start: int, end: int) -> str:
    return s[:start] + _MASK * (end - start) + s[end:]


def _rule_link_target(text: str, dest: str, target: str) -> bool:
    """Is ``[text](dest)`` a link to a rule entry: text one id or a range, dest its entry?"""
    ids = [m.group() for m in RULE_ID.finditer(text)]
    if not ids or len(ids) > 2 or dest != f"{target}#{ids[0]}":
        return False
    return _RULE_LINK_TEXT.fullmatch(text) is not None


def citations(text: str, target: str = "../docs/rules.md") -> list[Citation]:
    """Every rule id in the markdown prose of a MyST source ``text``.

    ``target`` is the path of ``rules.md`` as seen from the file; a citation is ``linked``
    when it is the text of a link to ``<target>#<id>``.
    """
    found: list[Citation] = []
    for base, block in prose_blocks(text):
        masked = block
        for start, end in _code_spans(block):
            masked = _mask(masked, start, end)
        masked = _HTML_COMMENT.sub(lambda m: _MASK * len(m.group()), masked)
        links: list[tuple[int, int, bool]] = []  # link text spans: (start, end, is_rule_link)
        for m in _LINK.finditer(masked):
            dest = m.group(2).strip("<>")
            links.append((m.start(1), m.end(1), _rule_link_target(m.group(1), dest, target)))
            masked = _mask(masked, m.end(1), m.end())  # the destination is not prose
        masked = _AUTOLINK.sub(lambda m: _MASK * len(m.group()), masked)
        masked = _URL.sub(lambda m: _MASK * len(m.group()), masked)
        for m in RULE_ID.finditer(masked):
            inside = [ok for (s, e, ok) in links if s <= m.start() < e]
            offset = base + m.start()
            found.append(Citation(
                rule=m.group(), start=offset, line=text.count("\n", 0, offset) + 1,
                linked=bool(inside) and inside[0], in_link=bool(inside)))
    return found


def link_text(text: str, target: str = "../docs/rules.md") -> tuple[str, list[Change]]:
    """Make every bare rule id in the prose of ``text`` a link; the new text and changes."""
    changes: list[Change] = []
    parts: list[str] = []
    pos = 0
    for c in citations(text, target):
        if c.in_link:
            continue
        link = f"[{c.rule}]({target}#{c.rule})"
        parts.append(text[pos:c.start])
        parts.append(link)
        pos = c.start + len(c.rule)
        changes.append(Change(c.rule, c.line, link))
    parts.append(text[pos:])
    return "".join(parts), changes


def target_for(path: Path) -> str:
    """The path of ``docs/rules.md`` relative to ``path``'s directory, with ``/``."""
    return Path(os.path.relpath(RULES_MD, path.resolve().parent)).as_posix()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("files", nargs="+", type=Path, help="MyST markdown notebook sources")
    parser.add_argument("--check", action="store_true",
                        help="report what would change, write nothing, exit 1 if anything would")
    args = parser.parse_args(argv)
    total = 0
    for path in args.files:
        text = path.read_text(encoding="utf-8")
        target = target_for(path)
        new, changes = link_text(text, target)
        for ch in changes:
            print(f"{path}:{ch.line}: {ch.rule} -> {ch.link}")
        for c in citations(text, target):
            if c.in_link and not c.linked:
                print(f"{path}:{c.line}: {c.rule} left as is: inside the text of another link",
                      file=sys.stderr)
        if changes and not args.check:
            path.write_text(new, encoding="utf-8")
        total += len(changes)
    verb = "would link" if args.check else "linked"
    print(f"{verb} {total} rule id(s) in {len(args.files)} file(s)")
    return 1 if args.check and total else 0


if __name__ == "__main__":
    sys.exit(main())
