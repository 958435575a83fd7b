"""The quiz in a real browser: the static book page, a page with two quizzes, and JupyterLab.

Run after building the book (``make test`` does both)::

    GANCOURSE_BOOK_HTML=_build/html GANCOURSE_SCREENSHOTS=_build/screenshots pytest -m browser tests/browser

``GANCOURSE_BOOK_HTML`` is the book's HTML folder (default ``_build/html``); with
``GANCOURSE_SCREENSHOTS`` set, screenshots of a right and a wrong answer are saved there.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from gancourse import quiz as Q

pytestmark = pytest.mark.browser

By = pytest.importorskip("selenium.webdriver.common.by").By
Keys = pytest.importorskip("selenium.webdriver.common.keys").Keys
WebDriverWait = pytest.importorskip("selenium.webdriver.support.ui").WebDriverWait

ROOT = Path(__file__).resolve().parents[2]
CHAPTER = "07_check_your_understanding"
PAGE = f"book/{CHAPTER}.html"
BANK = "gan_anatomy"


# ------------------------------------------------------------------ helpers


def wait(driver, condition, timeout=30):
    return WebDriverWait(driver, timeout).until(lambda d: condition(d))


def open_quiz(driver, url):
    """Load ``url`` and return the first quiz once its script has wired it up."""
    driver.get(url)
    return wait(driver, lambda d: (d.find_elements(By.CSS_SELECTOR, '.gcq[data-gcq-ready="1"]') or [None])[0])


def centre(driver, element):
    driver.execute_script("arguments[0].scrollIntoView({block: 'center'});", element)
    return element


def question(root, qid):
    return root.find_element(By.CSS_SELECTOR, f'form[data-gcq-id="{qid}"]')


def choose(driver, form, text):
    """Click the label whose text is ``text``, as a reader would."""
    labels = [lab for lab in form.find_elements(By.CSS_SELECTOR, "label.gcq-choice") if lab.text == text]
    assert len(labels) == 1, f"no single choice {text!r}"
    centre(driver, labels[0]).click()


def press_check(driver, form):
    """Click Check and return the feedback text once it is shown."""
    box = form.find_element(By.CSS_SELECTOR, ".gcq-feedback")
    centre(driver, form.find_element(By.CSS_SELECTOR, "button.gcq-check")).click()
    wait(driver, lambda d: box.text.strip(), timeout=10)
    return box


def flat(text: str) -> str:
    return " ".join(text.split())


def save(element, folder, name):
    if folder is not None:
        element.screenshot(str(folder / name))


@pytest.fixture
def book_page(book_html, serve):
    page = book_html / PAGE
    if not page.is_file():
        pytest.skip(
            f"the book is not built ({page} is missing): run `jupyter-book build .` "
            "or set GANCOURSE_BOOK_HTML to the built book's html folder"
        )
    return f"{serve(book_html)}/{PAGE}"


# ------------------------------------------------------------------ the built book


def test_book_quiz_right_and_wrong_answers(driver, book_page, screenshots):
    root = open_quiz(driver, book_page)

    first = question(root, "gradients-reach-generator")
    choose(driver, first, "False")
    feedback = press_check(driver, first)
    assert feedback.text.startswith("Correct.")
    assert "gcq-right" in feedback.get_attribute("class")
    save(centre(driver, first), screenshots, "quiz-right-answer.png")

    second = question(root, "training-alternates")
    choose(driver, second, "True")
    feedback = press_check(driver, second)
    assert feedback.text.startswith("Not quite.")
    assert "takes turns" in feedback.text
    assert "gcq-wrong" in feedback.get_attribute("class")
    save(centre(driver, second), screenshots, "quiz-wrong-answer.png")

    score = root.find_element(By.CSS_SELECTOR, ".gcq-score").text
    assert score == f"Score: 1 of 2 right at the first try ({len(Q.load_bank(BANK))} questions)."


def test_book_shows_the_html_quiz_and_hides_the_code(driver, book_page):
    open_quiz(driver, book_page)
    # the static rendering was chosen over the (dead) widget view: see nb_mime_priority_overrides
    assert driver.find_elements(By.CSS_SELECTOR, 'script[type="application/vnd.jupyter.widget-view+json"]') == []
    assert len(driver.find_elements(By.CSS_SELECTOR, ".gcq")) == 1
    text = driver.find_element(By.TAG_NAME, "main").text
    assert "Check your understanding: GAN anatomy" in text
    assert "google.colab" not in text and f'quiz("{BANK}")' not in text  # remove-cell, remove-input
    assert "needs JavaScript" not in text


def test_book_quiz_by_keyboard(driver, book_page):
    root = open_quiz(driver, book_page)
    negatives = question(root, "negatives")
    right = Q.load_bank(BANK).question("negatives").right_indices[0]
    radio = centre(driver, negatives.find_element(By.CSS_SELECTOR, f'input[value="{right}"]'))
    radio.send_keys(Keys.SPACE)  # select with the keyboard
    assert radio.is_selected()
    radio.send_keys(Keys.TAB)  # a radio group is one tab stop: next comes Check
    active = driver.switch_to.active_element
    assert active.text == "Check"
    active.send_keys(Keys.ENTER)
    feedback = negatives.find_element(By.CSS_SELECTOR, ".gcq-feedback")
    wait(driver, lambda d: feedback.text.startswith("Correct."), timeout=10)

    number = question(root, "fooled-accuracy")
    box = centre(driver, number.find_element(By.CSS_SELECTOR, 'input[type="text"]'))
    box.send_keys("50%", Keys.ENTER)  # Enter in the box checks the answer
    feedback = number.find_element(By.CSS_SELECTOR, ".gcq-feedback")
    wait(driver, lambda d: feedback.text.startswith("Correct."), timeout=10)


def _answers(q: Q.Question):
    """Answers worth trying on one question: right, wrong, partly right, empty."""
    if q.kind == "numeric":
        return ["0.5", "50%", "0,5", str(q.answer + 10 * q.tolerance + 0.1), "abc", ""]
    n = len(q.choices)
    if q.kind != "multiple":
        return [[i] for i in range(n)] + [[]]
    right = list(q.right_indices)
    wrong = [i for i in range(n) if i not in right]
    return [right, right[1:], sorted(right + wrong[:1]), list(range(n)), wrong, []]


def test_book_feedback_matches_python_for_every_answer(driver, book_page):
    """The page's JavaScript and gancourse.quiz.grade give the same verdict and the same words."""
    root = open_quiz(driver, book_page)
    bank = Q.load_bank(BANK)
    score = Q.Score(len(bank))
    for index, q in enumerate(bank.questions):
        form = question(root, q.id)
        box = form.find_element(By.CSS_SELECTOR, ".gcq-feedback")
        for answer in _answers(q):
            typed = answer if q.kind == "numeric" else ""
            chosen = [] if q.kind == "numeric" else answer
            driver.execute_script(
                """const [form, chosen, typed] = arguments;
                   for (const input of form.querySelectorAll("input")) {
                     if (input.type === "text") { input.value = typed; }
                     else { input.checked = chosen.includes(Number(input.value)); }
                   }
                   form.querySelector(".gcq-feedback").textContent = "";
                   form.requestSubmit();""",
                form, chosen, typed,
            )
            if q.kind == "numeric":
                expected = Q.grade(q, typed)
            elif q.kind == "multiple":
                expected = Q.grade(q, chosen)
            else:
                expected = Q.grade(q, chosen[0] if chosen else None)
            score.record(index, expected)
            shown = wait(driver, lambda d, box=box: box.text, timeout=10)
            assert flat(shown) == flat(expected.message), (q.id, answer)
            css = "gcq-hint" if not expected.answered else ("gcq-right" if expected.correct else "gcq-wrong")
            assert css in box.get_attribute("class").split(), (q.id, answer)
    assert root.find_element(By.CSS_SELECTOR, ".gcq-score").text == score.text()


# ------------------------------------------------------------------ several quizzes on one page


def test_two_quizzes_on_one_page_do_not_clash(driver, serve, tmp_path):
    pair = ["which-probability", "why-harder"]
    first, second = (Q.quiz("generative_models", questions=pair).to_html() for _ in range(2))
    (tmp_path / "two.html").write_text(
        f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Two quizzes</title></head>'
        f"<body>{first}{second}</body></html>",
        encoding="utf-8",
    )
    driver.get(f"{serve(tmp_path)}/two.html")
    roots = wait(driver, lambda d: d.find_elements(By.CSS_SELECTOR, '.gcq[data-gcq-ready="1"]'))
    assert len(roots) == 2
    ids = driver.execute_script("return Array.from(document.querySelectorAll('[id]'), e => e.id);")
    assert len(ids) == len(set(ids)), "duplicate element ids"

    a, b = (question(r, "which-probability") for r in roots)
    right = Q.load_bank("generative_models").question("which-probability")
    right_text = right.choices[right.right_indices[0]].text
    wrong_text = next(c.text for c in right.choices if not c.correct)
    choose(driver, a, right_text)
    choose(driver, b, wrong_text)  # a different radio group: does not clear the first one
    assert a.find_element(By.CSS_SELECTOR, f'input[value="{right.right_indices[0]}"]').is_selected()
    assert press_check(driver, a).text.startswith("Correct.")
    assert b.find_element(By.CSS_SELECTOR, ".gcq-feedback").text == ""
    assert roots[0].find_element(By.CSS_SELECTOR, ".gcq-score").text.startswith("Score: 1 of 1")
    assert roots[1].find_element(By.CSS_SELECTOR, ".gcq-score").text.startswith("Score: no answers")


# ------------------------------------------------------------------ JupyterLab with a live kernel


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def jupyterlab(tmp_path):
    """A JupyterLab server on 127.0.0.1 serving a copy of the chapter; yields its base URL."""
    pytest.importorskip("jupyterlab")
    if os.environ.get("GANCOURSE_SKIP_JUPYTERLAB") == "1":
        pytest.skip("GANCOURSE_SKIP_JUPYTERLAB=1")
    (tmp_path / "book").mkdir()
    shutil.copy(ROOT / "book" / f"{CHAPTER}.ipynb", tmp_path / "book")
    port = _free_port()
    command = [
        sys.executable, "-m", "jupyterlab", "--no-browser", "--ServerApp.ip=127.0.0.1",
        f"--ServerApp.port={port}", "--ServerApp.port_retries=0", "--ServerApp.token=",
        "--ServerApp.password=", f"--ServerApp.root_dir={tmp_path}", "--expose-app-in-browser",
    ]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        command.append("--allow-root")
    log = open(tmp_path / "jupyterlab.log", "w")
    server = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, cwd=tmp_path, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                urllib.request.urlopen(f"{url}/api/status", timeout=2)
                break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    pytest.fail("JupyterLab did not start:\n" + (tmp_path / "jupyterlab.log").read_text())
                time.sleep(0.5)
        yield url
    finally:
        os.killpg(server.pid, signal.SIGTERM)  # the server and the kernels it started
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()
        log.close()


def test_jupyterlab_shows_the_live_widget_quiz(driver, jupyterlab, screenshots):
    driver.get(f"{jupyterlab}/lab/tree/book/{CHAPTER}.ipynb")
    # --expose-app-in-browser gives window.jupyterapp: run the notebook through JupyterLab's own
    # command once its kernel session is ready (steadier than clicking through the menus).
    wait(driver, lambda d: d.execute_script(
        "const app = window.jupyterapp; const w = app && app.shell.currentWidget;"
        "return !!(w && w.sessionContext && w.sessionContext.session && w.sessionContext.session.kernel);"
    ), timeout=120)
    status = driver.execute_async_script(
        """const done = arguments[arguments.length - 1];
           const app = window.jupyterapp, panel = app.shell.currentWidget;
           panel.sessionContext.ready
             .then(() => app.commands.execute("notebook:run-all-cells"))
             .then(() => done("ok"), (err) => done(String(err)));"""
    )
    assert status == "ok", status
    quiz_box = wait(driver, lambda d: (d.find_elements(By.CSS_SELECTOR, ".jp-OutputArea-output .gcq") or [None])[0],
                    timeout=120)
    # the widget was chosen, not the static HTML (which would carry an id="gcq-..." root)
    assert "gcq-question" in quiz_box.get_attribute("innerHTML")
    assert quiz_box.get_attribute("id") in (None, "")

    blocks = wait(driver, lambda d: d.find_elements(By.CSS_SELECTOR, ".gcq .gcq-question"))
    assert len(blocks) == len(Q.load_bank(BANK))

    def answer(block, choice_index):
        radio = block.find_elements(By.CSS_SELECTOR, "input[type=radio]")[choice_index]
        centre(driver, radio).click()
        block.find_element(By.CSS_SELECTOR, "button").click()
        return wait(driver, lambda d: block.find_element(By.CSS_SELECTOR, ".gcq-feedback").text, timeout=30)

    assert answer(blocks[0], 1).startswith("Correct.")  # "False"
    assert answer(blocks[1], 0).startswith("Not quite.")  # "True"
    def score(d):  # the HTML widget re-renders its content on each update: look the line up again
        return d.find_element(By.CSS_SELECTOR, ".gcq .gcq-score").text

    wait(driver, lambda d: "1 of 2" in score(d), timeout=30)
    save(centre(driver, blocks[1]), screenshots, "jupyterlab-quiz.png")

    # type a number and click Check at once: the typed value must reach Python before the click
    number = blocks[[q.id for q in Q.load_bank(BANK).questions].index("fooled-accuracy")]
    centre(driver, number.find_element(By.CSS_SELECTOR, "input[type=text]")).send_keys("50%")
    number.find_element(By.CSS_SELECTOR, "button").click()
    feedback = wait(driver, lambda d: number.find_element(By.CSS_SELECTOR, ".gcq-feedback").text, timeout=30)
    assert feedback.startswith("Correct.")
    wait(driver, lambda d: "2 of 3" in score(d), timeout=30)
