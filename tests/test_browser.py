"""In a real browser: `make lab`'s JupyterLab opens the start notebook, every notebook runs
from the Run menu without an error, and a dashboard redraws when a slider moves; its live
chart (Vega in the browser) shows tooltips, and a click on a message outlines its path.

Each dashboard's redraw latency (slider key press -> new chart in the page) is printed and
written to ``benchmarks/results/browser.json``; no test asserts a wall-clock time.

nbval checks the kernel side (outputs); this checks what a learner sees: the ipywidgets
front end is installed and wired, so a control really re-runs the scenario and the chart
image changes. JupyterLab serves a copy of ``notebooks/`` (the test edits nothing of the
repository's) and Chromium comes from Debian (``apt-get install chromium``; ``.ci/run``
installs it and sets ``LABKIT_REQUIRE_BROWSER=1`` so that a missing browser fails there).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.slow]

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted(p.name for p in (ROOT / "notebooks").glob("*.ipynb"))
START = "00_start_here.ipynb"
TOKEN = "labkit-browser-test"
#: The notebook on show (JupyterLab keeps other tabs in the DOM, hidden).
PANEL = ".jp-NotebookPanel:not(.lm-mod-hidden)"


def _chromium() -> str:
    path = os.environ.get("LABKIT_CHROMIUM") or shutil.which("chromium") \
        or shutil.which("chromium-browser")
    if path is None:
        if os.environ.get("LABKIT_REQUIRE_BROWSER") == "1":
            pytest.fail("no chromium on PATH: apt-get install chromium (see .ci/run)")
        pytest.skip("no chromium on PATH: apt-get install chromium to run the browser tests")
    return path


def test_make_lab_and_binder_install_the_kits_jupyterlab_defaults() -> None:
    makefile = (ROOT / "Makefile").read_text()
    assert "OVERRIDES := $(VENV)/share/jupyter/lab/settings/overrides.json" in makefile
    assert "lab: $(STAMP) $(OVERRIDES)" in makefile
    assert "cp tools/jupyterlab_overrides.json" in (ROOT / "binder" / "postBuild").read_text()
    overrides = json.loads((ROOT / "tools" / "jupyterlab_overrides.json").read_text())
    assert overrides["@jupyterlab/apputils-extension:notification"]["fetchNews"] == "false"


def _lab_recipe() -> tuple[bool, list[str]]:
    """The Makefile's `lab` target: whether it trusts the notebooks first, and the flags it
    starts JupyterLab with, so this test opens what `make lab` opens."""
    makefile = (ROOT / "Makefile").read_text()
    target = makefile.split("\nlab:", 1)[1].split("\n\n", 1)[0]
    trusts = "jupyter trust notebooks/*.ipynb" in target
    args = re.findall(r"(--[A-Za-z.]+_?[A-Za-z]*=[^\s\\]+)", target)
    assert any(a.startswith("--LabApp.default_url=") for a in args), target
    return trusts, [a for a in args if not a.startswith("--ServerApp.root_dir=")]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A JupyterLab on a copy of the notebooks, started as `make lab` starts it."""
    home = tmp_path_factory.mktemp("lab")
    shutil.copytree(ROOT / "notebooks", home / "notebooks")
    # notebook 05 reads its journals from ../data, as in the repository
    shutil.copytree(ROOT / "data", home / "data")
    settings = home / "settings"
    # The kit's own defaults (no news prompt), as `make lab` and Binder install them in the
    # environment's settings directory; here in one of the test's own.
    app_settings = home / "app-settings"
    app_settings.mkdir()
    shutil.copy(ROOT / "tools" / "jupyterlab_overrides.json", app_settings / "overrides.json")
    # Render every cell (no virtual scrolling): the test's own user setting.
    for plugin, values in {
        "@jupyterlab/notebook-extension/tracker": {"windowingMode": "none"},
    }.items():
        path = settings / f"{plugin}.jupyterlab-settings"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(values))
    port = _free_port()
    # Its own data dir: the trust database and its secret stay out of the user's.
    env = dict(os.environ, JUPYTERLAB_SETTINGS_DIR=str(settings),
               JUPYTERLAB_WORKSPACES_DIR=str(home / "workspaces"),
               JUPYTER_RUNTIME_DIR=str(home / "runtime"), JUPYTER_DATA_DIR=str(home / "jupyter"))
    jupyter = Path(sys.executable).with_name("jupyter")
    trusts, lab_args = _lab_recipe()
    if trusts:
        subprocess.run([str(jupyter), "trust", *sorted(map(str, home.glob("notebooks/*.ipynb")))],
                       cwd=home, env=env, check=True, capture_output=True)
    log = (home / "lab.log").open("w")
    proc = subprocess.Popen(
        [str(jupyter), "lab", "--no-browser", f"--port={port}", "--ServerApp.ip=127.0.0.1",
         f"--IdentityProvider.token={TOKEN}", f"--ServerApp.root_dir={home}", "--allow-root",
         f"--LabApp.app_settings_dir={app_settings}",
         *lab_args],
        cwd=home, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                urllib.request.urlopen(f"{url}/api/status?token={TOKEN}", timeout=2)
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    log.flush()
                    raise RuntimeError("JupyterLab did not start:\n"
                                       + (home / "lab.log").read_text()[-3000:]) from None
                time.sleep(0.5)
        yield url
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
        log.close()


@pytest.fixture(scope="module")
def browser(lab: str) -> Iterator[Any]:
    sync_api = pytest.importorskip("playwright.sync_api")
    chromium = _chromium()
    with sync_api.sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=chromium,
                               args=["--no-sandbox", "--disable-gpu", "--disable-quic",
                                     "--no-first-run", "--disable-background-networking"])
        yield b
        b.close()


def _open(browser: Any, url: str) -> Any:
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.set_default_timeout(240_000)
    page.goto(url)
    page.locator(PANEL).wait_for()
    page.locator(".jp-StatusBar-TextItem", has_text="Idle").first.wait_for()
    return page


def _close(lab: str, page: Any) -> None:
    """Close the page and shut down every kernel of the lab, so that the next test's
    figures are not those of a machine still busy with this one's kernels (the Play test
    leaves a kernel with a queue of frames to work through)."""
    page.close()
    with urllib.request.urlopen(f"{lab}/api/kernels?token={TOKEN}", timeout=30) as answer:
        kernels = json.load(answer)
    for kernel in kernels:
        request = urllib.request.Request(f"{lab}/api/kernels/{kernel['id']}?token={TOKEN}",
                                         method="DELETE")
        urllib.request.urlopen(request, timeout=60).close()


def _menu(page: Any, menu: str, item: str) -> None:
    page.locator(".lm-MenuBar-itemLabel", has_text=menu).first.click()
    page.locator(".lm-Menu-itemLabel", has_text=item).first.click()


#: True when every code cell shows an execution count: ``[12]:``, not ``[ ]:`` or ``[*]:``.
_PROMPTS = f"{PANEL} .jp-CodeCell .jp-InputArea-prompt"
_ALL_EXECUTED = """() => {
    const prompts = [...document.querySelectorAll(PROMPTS)];
    return prompts.length > 0 && prompts.every(p => /^\\[\\d+\\]:$/.test(p.textContent.trim()));
}""".replace("PROMPTS", repr(_PROMPTS))


def _run_all(page: Any) -> None:
    """Clear every output, run every cell from the Run menu, and wait until each code cell
    has run (a cell that raised stops the rest, and the wait fails)."""
    _menu(page, "Edit", "Clear Outputs of All Cells")
    page.wait_for_function(f"() => !({_ALL_EXECUTED})()", polling=250)
    _menu(page, "Run", "Run All Cells")
    page.wait_for_function(_ALL_EXECUTED, polling=500)


def _errors(page: Any) -> list[str]:
    texts: list[str] = page.locator(PANEL).locator(
        ".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr'], "
        ".jp-RenderedText[data-mime-type='application/vnd.jupyter.error']").all_inner_texts()
    return [t for t in texts if "Traceback" in t or "Error" in t]


RESULTS = ROOT / "benchmarks" / "results" / "browser.json"

#: Resolves with ``{chart: performance.now()}`` when the dashboard's chart has been redrawn
#: for the new run, or ``{status: ...}`` when only the status line changed (the new run
#: gives the same picture, so nothing is sent to the chart). The kernel's last word on a
#: move is the status line, after the chart's update; Vega draws that update on its own
#: schedule, just before or after. So the redraw is the chart's last change once the status
#: line has changed and the chart has been still for ``SETTLE`` ms: an earlier change
#: alone (the time slider's new end reaching the chart first) is not the new picture.
#: Rejects after a minute, so that an update that never comes fails the test.
_WATCH_REDRAW = """root => {
    const SETTLE = 400;
    const chart = () => root.querySelector('.vega-embed svg');
    const status = () => [...root.querySelectorAll('.widget-html-content')]
        .map(s => s.innerHTML).join('|');
    const before = chart(), beforeStatus = status();
    let drawnAt = null, statusAt = null, timer = null;
    window.__labkitRedrawn = new Promise((resolve, reject) => {
        const done = () => {
            observer.disconnect();
            resolve(drawnAt === null ? {status: statusAt} : {chart: drawnAt});
        };
        const check = records => {
            const now = performance.now();
            const svg = chart();
            if (svg && svg.querySelector('.role-mark') && (svg !== before
                    || records.some(r => before && before.contains(r.target)))) {
                drawnAt = now;
            }
            if (statusAt === null && status() !== beforeStatus) statusAt = now;
            if (statusAt !== null) {
                clearTimeout(timer);
                timer = setTimeout(done, SETTLE);
            }
        };
        const observer = new MutationObserver(check);
        observer.observe(root, {subtree: true, childList: true, characterData: true,
                                attributes: true});
        setTimeout(() => reject(new Error('the chart was not redrawn in 60 s')), 60000);
    });
    return performance.now();
}"""


def _record(notebook: str, figures: dict[str, Any]) -> None:
    print(f"{notebook}: {figures}")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    found = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    found[notebook] = figures
    RESULTS.write_text(json.dumps(found, indent=2, sort_keys=True) + "\n")


def _dashboard(page: Any, cell: int | None = None) -> Any:
    """The first dashboard with a live chart (in code cell ``cell``, if given), scrolled
    into view."""
    where = page.locator(PANEL)
    if cell is not None:
        where = where.locator(".jp-CodeCell").nth(cell)
    dash = where.locator(".widget-vbox", has=page.locator(".vega-embed")).first
    # attached, not visible: a flat line (a queue that never changes its peak) has no height
    dash.locator(".vega-embed svg .role-mark").first.wait_for(state="attached")
    dash.scroll_into_view_if_needed()
    return dash


def _move_first_slider(page: Any, dash: Any, moves: int = 5) -> dict[str, Any]:
    """Press the right arrow on the dashboard's first slider ``moves`` times (fewer when it
    reaches its end), each time waiting for the chart to be redrawn; the median
    milliseconds from a key press to the new chart in the page (``redraw_ms``, every figure
    in ``redraw_ms_each``), or to the new status line when the picture stayed the same
    (``status_ms``)."""
    found: dict[str, list[float]] = {}
    handle = dash.locator(".widget-slider").first.locator(".noUi-handle").first
    for _ in range(moves):
        if found and handle.get_attribute("aria-valuenow") == \
                handle.get_attribute("aria-valuemax"):
            break
        for key, ms in _move_once(page, dash).items():
            found.setdefault(key, []).append(ms)
    out: dict[str, Any] = {}
    for key, values in sorted(found.items()):
        out[key] = round(statistics.median(values), 1)
        out[f"{key}_each"] = values
    return out


def _move_once(page: Any, dash: Any) -> dict[str, float]:
    root = dash.element_handle()
    slider = dash.locator(".widget-slider").first
    before = slider.locator(".widget-readout").first.inner_text().strip()
    slider.locator(".noUi-handle").first.focus()
    start = page.evaluate(_WATCH_REDRAW, root)
    page.keyboard.press("ArrowRight")
    end = page.evaluate("() => window.__labkitRedrawn")
    assert slider.locator(".widget-readout").first.inner_text().strip() != before
    what, at = next(iter(end.items()))
    return {"redraw_ms" if what == "chart" else "status_ms": round(float(at) - float(start), 1)}


#: Where to hover a mark, in page coordinates: a bar's or a point's centre; a third of
#: the way along a line or a rule (the centre of a line's box is rarely on the line).
_HOVER_POINT = """el => {
    el.scrollIntoView({block: 'center'});
    const box = el.getBoundingClientRect();
    const group = el.closest('g.role-mark');
    const along = group && /mark-(line|rule)/.test(group.getAttribute('class'));
    if (!along || !el.getTotalLength) return [box.x + box.width / 2, box.y + box.height / 2];
    const p = el.getPointAtLength(el.getTotalLength() / 3);
    const at = new DOMPoint(p.x, p.y).matrixTransform(el.getScreenCTM());
    return [at.x, at.y];
}"""


def _tooltip(page: Any, dash: Any) -> str:
    """Hover the chart's marks (not its legend) until one shows its tooltip; its text."""
    marks = dash.locator(".vega-embed svg").locator(
        "g.role-mark.mark-rect path, g.role-mark.mark-symbol path, "
        "g.role-mark.mark-rule line, g.role-mark.mark-line path")
    for i in range(min(marks.count(), 40)):
        x, y = marks.nth(i).evaluate(_HOVER_POINT)
        page.mouse.move(x, y)
        try:
            page.locator("#vg-tooltip-element.visible").wait_for(timeout=1_000)
        except Exception:
            continue
        text: str = page.locator("#vg-tooltip-element").inner_text()
        if text.strip():
            return text
    return ""


#: The first mark of a selector wide enough to be clicked (a zero-length bar, a message
#: received the instant it was sent, is drawn but cannot be hit).
_CLICKABLE = """(svg, sel) => [...svg.querySelectorAll(sel)].findIndex(m => {
    const box = m.getBoundingClientRect();
    return box.width >= 3 && (box.height >= 3 || m.tagName === 'line');
})"""


def _outlined_after_click(page: Any, dash: Any, selector: str, attribute: str,
                          normal: str, click: str | None = None) -> int:
    """Click the first of ``click`` (default: of ``selector``) that can be hit and count
    the marks of ``selector`` whose ``attribute`` changed from ``normal`` (the message's
    path, outlined in every panel)."""
    svg = dash.locator(".vega-embed svg")
    click = click or selector
    index: int = svg.evaluate(_CLICKABLE, click)
    assert index >= 0, f"no mark of {click!r} to click"
    mark = svg.locator(click).nth(index)
    mark.scroll_into_view_if_needed()
    box = mark.bounding_box()
    assert box is not None
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.wait_for_timeout(500)
    count: int = dash.locator(".vega-embed svg").evaluate(
        "(svg, [sel, attr, normal]) => [...svg.querySelectorAll(sel)]"
        ".filter(m => (m.getAttribute(attr) ?? normal) !== normal).length",
        [selector, attribute, normal])
    return count


def test_make_lab_opens_the_start_notebook(lab: str, browser: Any) -> None:
    page = _open(browser, f"{lab}/?reset&token={TOKEN}")
    assert page.url.endswith(f"/lab/tree/notebooks/{START}")
    title = page.locator(PANEL).locator(".jp-RenderedMarkdown h1").first
    assert title.inner_text().strip() == "00 · Start here"
    # No "get notified about Jupyter news?" toast over the notebook.
    page.wait_for_timeout(2_000)
    assert page.locator(".jp-Notification-Toast, .Toastify__toast").count() == 0
    # The committed outputs show without a kernel run: the first chart is already there.
    assert page.locator(PANEL).locator(".jp-RenderedSVG img, .jp-RenderedSVG svg").count() > 0
    _close(lab, page)


def test_a_dashboard_redraws_when_its_slider_moves(lab: str, browser: Any) -> None:
    page = _open(browser, f"{lab}/lab/tree/notebooks/{START}?reset&token={TOKEN}")
    _run_all(page)
    assert _errors(page) == []
    dash = _dashboard(page)
    status = dash.locator(".widget-html-content").last
    assert "rounds 3" in status.inner_text()
    slider = dash.locator(".widget-slider").first
    assert slider.locator(".widget-readout").first.inner_text().strip() == "3"
    latency = _move_first_slider(page, dash, moves=1)
    assert "redraw_ms" in latency  # four rounds: another picture
    assert slider.locator(".widget-readout").first.inner_text().strip() == "4"
    page.wait_for_function(
        "el => el.textContent.includes('rounds 4')", arg=status.element_handle())
    text = status.inner_text()
    assert "Go" in text and "Rust" in text and "ball 4" in text
    # hover an arrow: its tooltip names the message
    tip = _tooltip(page, dash)
    assert "message id" in tip or "actor" in tip, tip
    # click an arrow: its path is drawn thick, in the Go and the Rust panel
    thick = _outlined_after_click(page, dash, "g.mark-rule line[stroke-dasharray='1,0']",
                                  "stroke-width", "1.5")
    assert thick >= 2
    # two more moves (5 and 6 rounds) for the latency figure: the median of three
    each = latency["redraw_ms_each"] + _move_first_slider(page, dash, moves=2)["redraw_ms_each"]
    latency = {"redraw_ms": round(statistics.median(each), 1), "redraw_ms_each": each}
    _record(START, {**latency, "tooltip": tip.strip().splitlines()[:2], "outlined": thick})
    _close(lab, page)


#: A timeline's bars (their descriptions name the phase; a load chart's bars do not).
_BARS = "g.mark-rect path[aria-label*='phase']"
#: A sequence diagram's arrows: messages (solid) and replies (dashed); not the lifelines.
_ARROWS = "g.mark-rule line[stroke-dasharray='1,0'], g.mark-rule line[stroke-dasharray='5,3']"
#: Per notebook, the first dashboard's message pick: the marks that show the path
#: (``selector``), the attribute the pick changes and its normal value, the mark to click
#: (``None``: the first of ``selector``; ``{value}``: the first slider's value after the
#: moves), and the fewest marks the path must have.
_PICKS: dict[str, tuple[str, str, str, str | None, int]] = {
    # a timeline: the message's wait and handling (01, 03: and a blocked send; in every panel)
    "01_mailboxes.ipynb": ("g.mark-rect path", "stroke", "white", None, 2),
    "02_routing.ipynb": (_BARS, "stroke", "white", None, 2),
    "03_backpressure.ipynb": (_BARS, "stroke", "white", None, 4),  # Go and Rust
    # a sequence diagram of one run: the job's one arrow
    "04_supervision.ipynb": (_ARROWS, "stroke-width", "1.5", None, 1),
    # the command the bank crashed on (the first slider, crash_at, as the moves left it):
    # its arrow, the same command sent again after the recovery, and the answer to that
    "05_replay.ipynb": (_ARROWS, "stroke-width", "1.5",
                        "g.mark-rule line[aria-label*='message id: {value};']", 3),
}


@pytest.mark.parametrize("notebook", [n for n in NOTEBOOKS if n != START])
def test_every_notebook_runs_from_the_menu_with_live_widgets(lab: str, browser: Any,
                                                             notebook: str) -> None:
    page = _open(browser, f"{lab}/lab/tree/notebooks/{notebook}?reset&token={TOKEN}")
    _run_all(page)
    assert _errors(page) == []
    widgets = page.locator(PANEL).locator(
        ".widget-vbox .widget-slider, .widget-vbox .widget-dropdown")
    assert widgets.count() > 0, "the live experiment's controls did not render"
    # A widget that failed to render shows ipywidgets' error text instead of the controls.
    assert page.locator(PANEL).locator("text=Error displaying widget").count() == 0
    # The first dashboard: a slider move redraws its live chart; its marks have tooltips.
    dash = _dashboard(page)
    latency = _move_first_slider(page, dash)
    tip = _tooltip(page, dash)
    assert tip.strip(), "no mark of the dashboard's chart showed a tooltip"
    figures: dict[str, Any] = {**latency, "tooltip": tip.strip().splitlines()[:2]}
    # A click on a message in the dashboard's live chart draws its path.
    selector, attribute, normal, click, least = _PICKS[notebook]
    if click is not None:
        value = dash.locator(".widget-slider").first.locator(".widget-readout").first
        click = click.format(value=value.inner_text().strip())
    figures["outlined"] = _outlined_after_click(page, dash, selector, attribute, normal, click)
    assert figures["outlined"] >= least, figures
    _record(notebook, figures)
    _close(lab, page)


#: The chart's picture, as a fingerprint that changes when Vega redraws anything.
_PICTURE = "root => { const s = root.querySelector('.vega-embed svg'); " \
    "return s ? s.querySelectorAll('.role-mark > *').length + ':' + s.innerHTML.length : ''; }"


def _busy_kernel(page: Any, seconds: int) -> None:
    """Run a cell that keeps the kernel busy for ``seconds``: widget messages to the kernel
    wait until it is done, so whatever the page changes meanwhile, it changed alone."""
    page.locator(PANEL).locator(".jp-Cell").last.click()
    page.keyboard.press("Escape")
    page.keyboard.press("b")  # a new cell below
    page.keyboard.press("Enter")
    page.keyboard.type(f"import time; time.sleep({seconds})")
    page.keyboard.press("Control+Enter")
    page.wait_for_function(f"() => ({_SLEEPING})()", polling=100)


#: True while the cell that sleeps is running (its prompt is ``[*]:``).
_SLEEPING = """() => [...document.querySelectorAll(CELLS)]
    .filter(c => c.textContent.includes('time.sleep('))
    .some(c => c.querySelector('.jp-InputArea-prompt').textContent.trim() === '[*]:')
""".replace("CELLS", repr(f"{PANEL} .jp-CodeCell"))


def _sleeping(page: Any) -> bool:
    return bool(page.evaluate(_SLEEPING))


def test_play_scrubs_virtual_time_in_the_browser_alone(lab: str, browser: Any) -> None:
    notebook = "01_mailboxes.ipynb"
    page = _open(browser, f"{lab}/lab/tree/notebooks/{notebook}?reset&token={TOKEN}")
    _run_all(page)
    assert _errors(page) == []
    dash = _dashboard(page)
    root = dash.element_handle()
    whole = page.evaluate(_PICTURE, root)
    _busy_kernel(page, 40)
    dash.scroll_into_view_if_needed()
    # The time slider to its start: the chart shows the first instant, drawn by the browser.
    time_slider = dash.locator(".widget-slider", has_text="time (s)").first
    time_slider.locator(".noUi-handle").first.focus()
    page.keyboard.press("Home")
    page.wait_for_function(f"root => ({_PICTURE})(root) !== {json.dumps(whole)}", arg=root,
                           timeout=10_000)
    start = page.evaluate(_PICTURE, root)
    # Play: each frame another picture, while the kernel is still busy.
    dash.locator(".widget-play button").first.click()
    seen = {start}
    for _ in range(30):
        page.wait_for_timeout(100)
        seen.add(page.evaluate(_PICTURE, root))
    assert _sleeping(page), "the kernel finished its cell before the frames were checked"
    assert len(seen) >= 4, seen
    _record("play", {"frames_seen_with_a_busy_kernel": len(seen)})
    _close(lab, page)


#: Dashboards at 10 000 messages, Go and Rust side by side: the depth and latency charts of
#: notebook 01's producer and consumer (the ``dashboard`` group of ``make bench``, kernel
#: side), here end to end. The two runs go to worker processes (labkit.workers) after the
#: first refresh, which took longer than ``widgets.WORKERS_AFTER``. The first dashboard
#: works nothing out ahead: each move simulates both runs then. The second is as a
#: learner gets it: the workers work out the runs at the next capacities while the
#: learner reads (``look_ahead``).
_BIG = """from labkit import scenarios, widgets
def big(**options):
    return widgets.Dashboard(
        scenarios.producer_consumer,
        controls={"capacity": range(1, 11)},
        charts=["depth", "latency"],
        compare_models=["go", "rust"],
        fixed={"messages": 10_000, "seed": 1},
        **options)
cold = big(look_ahead=0)
cold"""
_BIG_AHEAD = """ahead = big()
ahead"""


def _put_notebook(lab: str, name: str, *sources: str) -> None:
    """Save a notebook of these code cells into the lab's notebooks folder (Jupyter's
    contents API)."""
    cells: list[dict[str, Any]] = [
        {"cell_type": "code", "execution_count": None, "id": f"cell{i}", "metadata": {},
         "outputs": [], "source": source} for i, source in enumerate(sources)]
    content = {"cells": cells,
               "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3",
                                           "language": "python"}},
               "nbformat": 4, "nbformat_minor": 5}
    request = urllib.request.Request(
        f"{lab}/api/contents/notebooks/{name}?token={TOKEN}", method="PUT",
        data=json.dumps({"type": "notebook", "format": "json", "content": content}).encode(),
        headers={"Content-Type": "application/json"})
    urllib.request.urlopen(request, timeout=30).close()


def test_a_10000_message_dashboard_redraws_when_its_slider_moves(lab: str,
                                                                 browser: Any) -> None:
    name = "big_dashboard.ipynb"
    _put_notebook(lab, name, _BIG, _BIG_AHEAD)
    page = _open(browser, f"{lab}/lab/tree/notebooks/{name}?reset&token={TOKEN}")
    _run_all(page)
    assert _errors(page) == []
    for cell, label in ((0, "nothing worked out ahead"), (1, "as shown to a learner")):
        dash = _dashboard(page, cell)
        # the workers start, and work out runs ahead, in the background as a learner reads
        page.wait_for_timeout(3_000)
        status = dash.locator(".widget-html-content").last
        assert "messages 10000" in status.inner_text()
        figures = _move_first_slider(page, dash)
        assert "redraw_ms" in figures  # every capacity gives another picture
        tip = _tooltip(page, dash)
        assert tip.strip(), "no mark of the 10 000-message chart showed a tooltip"
        _record(f"10000 messages, Go + Rust, {label}",
                {**figures, "tooltip": tip.strip().splitlines()[:2]})
    _close(lab, page)
