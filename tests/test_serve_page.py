"""The try-it page in a real headless browser (Debian's chromium driven by selenium): type, click, read.

``make test`` installs chromium + chromium-driver when missing (as root, with apt-get); without them
these tests skip and say so. Screenshots go to $TLZOO_SCREENSHOTS (default: pytest's temporary folder).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

pytest.importorskip("fastapi", reason="tlzoo[serve] is not installed (make install adds it)")
webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is not installed (make install adds it)")
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support import expected_conditions  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

BROWSER = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
DRIVER = shutil.which("chromedriver")
pytestmark = pytest.mark.skipif(
    not (BROWSER and DRIVER),
    reason="NO HEADLESS BROWSER: chromium and chromedriver are not installed, so the page is NOT tested; "
           "run 'make browser' as root (apt-get install chromium chromium-driver)")


@pytest.fixture
def server(served):
    return served


@pytest.fixture(scope="module")
def browser():
    options = webdriver.ChromeOptions()
    options.binary_location = BROWSER
    for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                 "--window-size=1280,900"):
        options.add_argument(flag)
    driver = webdriver.Chrome(options=options, service=webdriver.ChromeService(executable_path=DRIVER))
    yield driver
    driver.quit()


@pytest.fixture(scope="module")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = Path(os.environ.get("TLZOO_SCREENSHOTS") or tmp_path_factory.mktemp("screenshots"))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _run(browser, fields: dict[str, str], wait_for: str) -> None:
    for name, value in fields.items():
        box = browser.find_element(By.ID, f"field-{name}")
        box.clear()
        box.send_keys(value)
    browser.find_element(By.ID, "run").click()
    WebDriverWait(browser, 30).until(expected_conditions.presence_of_element_located((By.CSS_SELECTOR, wait_for)))


def test_classification_shows_label_bars_and_the_model_card(server, browser, shots: Path) -> None:
    browser.get(server.url + "/")
    WebDriverWait(browser, 20).until(expected_conditions.presence_of_element_located((By.ID, "field-text")))
    assert "classification" in browser.find_element(By.CSS_SELECTOR, "nav button.active").text
    card = browser.find_element(By.ID, "card").text
    assert "classification" in card and "tiny-bert" in card and "accuracy" in card
    assert browser.find_element(By.ID, "field-text_pair").get_attribute("id")  # the optional pair field
    _run(browser, {"text": "a gripping, beautifully acted film"}, ".bar")
    bars = browser.find_elements(By.CSS_SELECTOR, ".bar")
    assert {bar.get_attribute("data-label") for bar in bars} == {"negative", "positive"}
    assert browser.find_element(By.ID, "label").text in ("negative", "positive")
    assert "%" in bars[0].text
    browser.save_screenshot(str(shots / "serve-classification.png"))


def test_ner_highlights_entities_in_the_text(server, browser, shots: Path) -> None:
    browser.get(server.url + "/models/ner")
    WebDriverWait(browser, 20).until(expected_conditions.presence_of_element_located((By.ID, "field-text")))
    _run(browser, {"text": "John Smith flew from London to Paris."}, "#entities")
    document = browser.find_element(By.ID, "entities")
    assert document.text.replace("\n", " ").startswith("John")
    marks = document.find_elements(By.CSS_SELECTOR, "mark.entity")
    assert marks, "the tiny model tags every word with some entity type"
    assert all(mark.get_attribute("data-type") for mark in marks)
    browser.save_screenshot(str(shots / "serve-ner.png"))


def test_qa_highlights_the_answer_in_its_context(server, browser, shots: Path) -> None:
    browser.get(server.url + "/models/qa")
    WebDriverWait(browser, 20).until(expected_conditions.presence_of_element_located((By.ID, "field-question")))
    context = "The Eiffel Tower is a wrought-iron lattice tower in Paris, France."
    _run(browser, {"question": "Where is the tower?", "context": context}, "#answer")
    answer = browser.find_element(By.ID, "answer").text
    assert answer and answer in context
    assert browser.find_element(By.CSS_SELECTOR, "mark.answer").text == answer
    browser.save_screenshot(str(shots / "serve-qa.png"))


def test_translation_shows_the_generated_text_and_takes_parameters(server, browser, shots: Path) -> None:
    browser.get(server.url + "/")
    WebDriverWait(browser, 20).until(expected_conditions.presence_of_element_located((By.CSS_SELECTOR, "nav button")))
    browser.find_element(By.CSS_SELECTOR, 'nav button[data-model="translation"]').click()
    browser.find_element(By.ID, "param-max_new_tokens").send_keys("4")
    _run(browser, {"text": "A man is walking in the park."}, "#generated")
    assert browser.current_url.endswith("/models/translation")
    generated = browser.find_element(By.ID, "generated")
    assert generated.is_displayed() and generated.text  # the text, or a note that the tiny model wrote nothing
    browser.save_screenshot(str(shots / "serve-translation.png"))


def test_a_server_error_is_shown_on_the_page(server, browser) -> None:
    browser.get(server.url + "/models/translation")
    WebDriverWait(browser, 20).until(expected_conditions.presence_of_element_located((By.ID, "param-num_beams")))
    browser.find_element(By.ID, "param-num_beams").send_keys("99")
    browser.find_element(By.ID, "run").click()
    error = WebDriverWait(browser, 20).until(expected_conditions.presence_of_element_located((By.CSS_SELECTOR,
                                                                                              ".error")))
    assert error.text.startswith("422: parameters.num_beams: Input should be less than or equal to 8")
