"""docs/rules.md: every rule G1-G47 and R1-R40 has an entry with a title and a source; every
rule id cited in labkit/ and the notebooks exists; the notebooks' prose links each id to its
entry; and tools/link_rules.py makes those links."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tools import link_rules

ROOT = Path(__file__).resolve().parents[1]
RULES_MD = ROOT / "docs" / "rules.md"
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.md"))
EXPECTED = [f"G{i}" for i in range(1, 48)] + [f"R{i}" for i in range(1, 41)]
TARGET = "../docs/rules.md"  # docs/rules.md as seen from notebooks/

_ENTRY = re.compile(r"^### ([GR]\d{1,2})[ \t]*$", re.MULTILINE)
_ANY_HEADING = re.compile(r"^#{1,6} ", re.MULTILINE)
_TITLE = re.compile(r"\*\*[^*\n]+\*\*")
_SOURCE = re.compile(r"^Source: .*\]\(https?://[^\s)]+\)", re.MULTILINE)


def _rel(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


def _entries() -> dict[str, list[str]]:
    """Rule id -> the text of each entry with that id (more than one is a duplicate)."""
    text = RULES_MD.read_text(encoding="utf-8")
    entries: dict[str, list[str]] = {}
    for m in _ENTRY.finditer(text):
        nxt = _ANY_HEADING.search(text, m.end())
        entries.setdefault(m.group(1), []).append(
            text[m.end():nxt.start() if nxt else len(text)])
    return entries


def _cited_files() -> list[Path]:
    return [*sorted((ROOT / "labkit").rglob("*.py")), *NOTEBOOKS, ROOT / "README.md"]


# -- docs/rules.md ------------------------------------------------------------------------------


def test_rules_doc_has_every_rule_once() -> None:
    entries = _entries()
    missing = [r for r in EXPECTED if r not in entries]
    unexpected = sorted(set(entries) - set(EXPECTED))
    duplicates = sorted(r for r, texts in entries.items() if len(texts) > 1)
    assert not missing, f"docs/rules.md has no entry for {missing}"
    assert not unexpected, f"docs/rules.md has entries for rules that do not exist: {unexpected}"
    assert not duplicates, f"docs/rules.md has more than one entry for {duplicates}"


@pytest.mark.parametrize("rule", EXPECTED)
def test_rule_entry_has_title_text_and_source(rule: str) -> None:
    texts = _entries().get(rule)
    assert texts, f"docs/rules.md has no entry for {rule}"
    lines = [line for line in texts[0].splitlines() if line.strip()]
    assert lines and _TITLE.fullmatch(lines[0].strip()), (
        f"{rule}: the heading must be followed by a one-line bold title, got {lines[:1]}")
    assert _SOURCE.search(texts[0]), f"{rule}: no 'Source:' line with an http(s) link"
    body = [line for line in lines[1:] if not line.startswith("Source:")]
    assert body, f"{rule}: no explanation between the title and the Source line"


def test_rules_doc_internal_links_resolve() -> None:
    text = RULES_MD.read_text(encoding="utf-8")
    entries = _entries()
    bad = [m.group(1) for m in re.finditer(r"\]\(#([GR]\d{1,2})\)", text)
           if m.group(1) not in entries]
    assert not bad, f"docs/rules.md links to entries that do not exist: {bad}"


# -- citations in labkit/ and the notebooks -----------------------------------------------------


def test_every_cited_rule_exists() -> None:
    """Every rule id in labkit's source, the notebooks and README.md has an entry.

    The pattern is link_rules.RULE_ID: a G or R with one or two digits, not part of a longer
    word or number. In those files it matches rule citations only (``E0004``, ``M/G/1``,
    ``E_N/G/1`` do not match); tests/ is not scanned, as its regex literals (``R2[34]``)
    would match.
    """
    entries = _entries()
    missing = []
    for path in _cited_files():
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            missing += [f"{_rel(path)}:{n}: {m.group()}"
                        for m in link_rules.RULE_ID.finditer(line) if m.group() not in entries]
    assert not missing, "cited rule ids with no entry in docs/rules.md:\n" + "\n".join(missing)


def test_notebook_rule_ids_are_links() -> None:
    """In the markdown of each notebook, every rule id is a link to its entry
    (``[G13](../docs/rules.md#G13)``); ``python tools/link_rules.py notebooks/*.md`` fixes it."""
    bare = []
    for path in NOTEBOOKS:
        bare += [f"{_rel(path)}:{c.line}: {c.rule} is not a link to {TARGET}#{c.rule}"
                 for c in link_rules.citations(path.read_text(encoding="utf-8"), TARGET)
                 if not c.linked]
    assert not bare, (f"{len(bare)} rule id(s) in notebook markdown are not links "
                      "(run python tools/link_rules.py notebooks/*.md):\n" + "\n".join(bare))


# -- tools/link_rules.py ------------------------------------------------------------------------

SAMPLE = """\
---
jupytext:
  formats: ipynb,md:myst
note: G5 in the front matter
---

# Channels

An unbuffered channel is a rendezvous (G1), G13/G14 cover close, see R8, R9 and G1-G3.
Already linked: [G2](../docs/rules.md#G2). Inline `ch.send(v)  # G4` stays code.
Not rule ids: E0004, M/G/1, G13x, xG13, G100, https://example.org/R5.

```{code-cell} ipython3
await ch.send(1)   # blocks (G6)
```

+++

A range link is fine: [G20-G22](../docs/rules.md#G20). Last one: R40.
"""

LINKED = """\
---
jupytext:
  formats: ipynb,md:myst
note: G5 in the front matter
---

# Channels

An unbuffered channel is a rendezvous ([G1](../docs/rules.md#G1)), \
[G13](../docs/rules.md#G13)/[G14](../docs/rules.md#G14) cover close, \
see [R8](../docs/rules.md#R8), [R9](../docs/rules.md#R9) and \
[G1](../docs/rules.md#G1)-[G3](../docs/rules.md#G3).
Already linked: [G2](../docs/rules.md#G2). Inline `ch.send(v)  # G4` stays code.
Not rule ids: E0004, M/G/1, G13x, xG13, G100, https://example.org/R5.

```{code-cell} ipython3
await ch.send(1)   # blocks (G6)
```

+++

A range link is fine: [G20-G22](../docs/rules.md#G20). Last one: [R40](../docs/rules.md#R40).
"""


def test_link_rules_links_bare_ids_only() -> None:
    new, changes = link_rules.link_text(SAMPLE, TARGET)
    assert new == LINKED
    assert [(c.rule, c.line) for c in changes] == [
        ("G1", 9), ("G13", 9), ("G14", 9), ("R8", 9), ("R9", 9), ("G1", 9), ("G3", 9),
        ("R40", 19)]


def test_link_rules_is_idempotent() -> None:
    once, _ = link_rules.link_text(SAMPLE, TARGET)
    twice, changes = link_rules.link_text(once, TARGET)
    assert twice == once
    assert changes == []
    assert all(c.linked for c in link_rules.citations(once, TARGET))


def test_citations_see_bare_and_linked_ids_in_prose_only() -> None:
    found = {(c.rule, c.linked) for c in link_rules.citations(SAMPLE, TARGET)}
    assert found == {("G1", False), ("G13", False), ("G14", False), ("R8", False),
                     ("R9", False), ("G3", False), ("R40", False), ("G2", True),
                     ("G20", True), ("G22", True)}


def test_citations_accept_a_range_link_to_its_first_entry() -> None:
    text = "See [G1\u2013G3](../docs/rules.md#G1), [R8..R9](../docs/rules.md#R8).\n"
    assert all(c.linked for c in link_rules.citations(text, TARGET))
    assert not link_rules.citations("[G1-G3](../docs/rules.md#G3)\n", TARGET)[0].linked


def test_citations_reject_a_link_to_the_wrong_entry() -> None:
    text = "See [G13](../docs/rules.md#G14) and [G7](https://go.dev/ref/spec).\n"
    cites = link_rules.citations(text, TARGET)
    assert [(c.rule, c.in_link, c.linked) for c in cites] == [
        ("G13", True, False), ("G7", True, False)]
    assert link_rules.link_text(text, TARGET) == (text, [])  # not nested into another link


def test_link_rules_fences_and_code_spans() -> None:
    text = ("````{note}\nA note about G1.\n```python\nx = 1  # G2\n```\n````\n"
            "~~~\nG3\n~~~\n`` a ` G4 `` and ``G5``, then G6.\n% a comment on G7\n")
    new, changes = link_rules.link_text(text, TARGET)
    assert [c.rule for c in changes] == ["G1", "G6"]
    assert "[G1](../docs/rules.md#G1)" in new and "# G2\n" in new and "\nG3\n" in new


def test_link_rules_main_rewrites_and_reports(tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    nb_dir = tmp_path / "notebooks"
    nb_dir.mkdir()
    nb = nb_dir / "01_x.md"
    nb.write_text(SAMPLE, encoding="utf-8")
    target = link_rules.target_for(nb)
    assert target.endswith("docs/rules.md")
    assert link_rules.main(["--check", str(nb)]) == 1
    assert nb.read_text(encoding="utf-8") == SAMPLE
    assert link_rules.main([str(nb)]) == 0
    out = capsys.readouterr().out
    assert f"{nb}:9: G1 -> [G1]({target}#G1)" in out
    assert link_rules.main([str(nb)]) == 0
    assert "linked 0 rule id(s) in 1 file(s)" in capsys.readouterr().out


def test_target_for_a_notebook_is_relative() -> None:
    assert link_rules.target_for(ROOT / "notebooks" / "00_start_here.md") == TARGET
