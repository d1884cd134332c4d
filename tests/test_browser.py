"""The FastAPI example's chat page, in a real browser.

The app runs under uvicorn in a thread, on a free port and a new SQLite
database, exactly as ``make serve`` runs it; headless Chromium (the OS
package, driven by Selenium through the OS package's chromedriver) loads the
page and uses it as a person would: typing, pressing Enter, clicking. The
tests skip only when no Chromium is installed; ``.ci/run`` installs it, so CI
never skips them. ``SYNERGIA_CHROMIUM`` and ``SYNERGIA_CHROMEDRIVER`` name
other binaries. Screenshots land in ``tests/artifacts/`` (ignored by git).
"""

from __future__ import annotations

import datetime as dt
import itertools
import logging
import os
import shutil
import socket
import threading
import time
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal, TypeVar

import httpx
import pytest
import uvicorn
from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support.ui import WebDriverWait

from examples.fastapi_app.app import create_app
from examples.fastapi_app.settings import Settings

CHROMIUM = os.environ.get("SYNERGIA_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = (
    os.environ.get("SYNERGIA_CHROMEDRIVER")
    or shutil.which("chromedriver")
    or "/usr/bin/chromedriver"
)
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--window-size=1360,960",
    "--force-device-scale-factor=1",
    "--lang=en-US",
)
ARTIFACTS = Path(__file__).parent / "artifacts"
ECHO_DELAY = 0.08  # seconds between two words of a streamed reply: slow enough to watch and stop
WAIT = 15  # seconds any one expectation may take

pytestmark = pytest.mark.skipif(
    not (Path(CHROMIUM).is_file() and Path(CHROMEDRIVER).is_file()),
    reason=(
        f"no Chromium to test the chat page in ({CHROMIUM}, {CHROMEDRIVER}): "
        "apt-get install chromium chromium-driver (.ci/run does)"
    ),
)

T = TypeVar("T")
Browser = webdriver.Chrome


# ----------------------------------------------------------------------------- fixtures


class LiveApp:
    """The example app served by uvicorn in a thread, on a port of its own."""

    def __init__(self, settings: Settings) -> None:
        # uvicorn's log_level sets these loggers' levels process-wide: put
        # them back when the app stops, so later tests see them untouched.
        self._levels = {
            name: logging.getLogger(name).level
            for name in ("uvicorn", "uvicorn.error", "uvicorn.access", "uvicorn.asgi")
        }
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._socket.bind(("127.0.0.1", 0))
        port = self._socket.getsockname()[1]
        self.url = f"http://127.0.0.1:{port}/"
        config = uvicorn.Config(
            create_app(settings),
            log_level="warning",
            access_log=False,
            lifespan="on",
            http="h11",
            ws="none",
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [self._socket]}, daemon=True
        )

    def start(self) -> None:
        self._thread.start()
        deadline = time.monotonic() + WAIT
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the app did not start")
            time.sleep(0.02)

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(WAIT)
        self._socket.close()
        for name, level in self._levels.items():
            logging.getLogger(name).setLevel(level)

    def api(self, user: str = "alice") -> httpx.Client:
        """An HTTP client of the app's API, as ``user``."""
        return httpx.Client(base_url=f"{self.url}api/v1", headers={"X-User-Id": user})


@pytest.fixture
def live(tmp_path: Path) -> Iterator[LiveApp]:
    """The app on a new SQLite database, with a slow enough echo model."""
    settings = Settings(
        _env_file=None,
        SYNERGIA_DATABASE_URL=f"sqlite:///{tmp_path / 'chat.db'}",
        LOG_DIR=tmp_path / "logs",
        LOG_LEVEL="WARNING",
        ECHO_DELAY_SECONDS=ECHO_DELAY,
    )
    app = LiveApp(settings)
    app.start()
    try:
        yield app
    finally:
        app.stop()


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Browser]:
    """Headless Chromium, with a fresh profile; each test's app has its own origin."""
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(WAIT)
    try:
        yield driver
    finally:
        driver.quit()


# ------------------------------------------------------------------------------ helpers


def wait_for(driver: WebDriver, condition: Callable[[WebDriver], T], what: str) -> T:
    """``condition``'s first truthy result (retried on stale elements), or fail saying ``what``."""

    def check(driver: WebDriver) -> T | Literal[False]:
        try:
            return condition(driver)
        except StaleElementReferenceException:
            return False

    result: T = WebDriverWait(driver, WAIT, poll_frequency=0.05).until(check, what)
    return result


def idle(driver: WebDriver) -> bool:
    """Whether the page has no request in flight (and so renders nothing new)."""
    return bool(driver.execute_script("return document.body.dataset.pending === '0'"))


def open_page(driver: WebDriver, live: LiveApp) -> None:
    driver.get(live.url)
    wait_for(
        driver,
        lambda d: d.execute_script("return document.body.dataset.ready") and idle(d),
        "the page to load",
    )


def by_id(driver: WebDriver, element_id: str) -> WebElement:
    return driver.find_element(By.ID, element_id)


def messages(driver: WebDriver) -> list[WebElement]:
    return driver.find_elements(By.CSS_SELECTOR, "#messages > .message")


def thread_text(driver: WebDriver) -> list[str]:
    """The shown thread, as ``role: content`` lines."""
    script = """return [...document.querySelectorAll('#messages > .message')].map((m) =>
        m.dataset.role + ': ' + (m.querySelector('.message__content')?.textContent ?? ''));"""
    lines: list[str] = driver.execute_script(script)
    return lines


def settled(driver: WebDriver, count: int) -> bool:
    """Whether ``count`` messages are shown, none streaming, and the send button is back."""
    if not idle(driver):
        return False
    items = messages(driver)
    return (
        len(items) == count
        and all(item.get_attribute("data-status") == "complete" for item in items)
        and by_id(driver, "send").is_displayed()
    )


def switcher_of(item: WebElement) -> str:
    return item.find_element(By.CSS_SELECTOR, ".switcher__position").text


def active_id(driver: WebDriver) -> str:
    value: str = driver.execute_script("return document.activeElement.id")
    return value


def add_echo_model(driver: WebDriver) -> None:
    """Click the banner's button that puts the echo model in the empty catalog."""
    banner = by_id(driver, "no-model-banner")
    wait_for(driver, lambda d: banner.is_displayed(), "the empty-catalog banner")
    by_id(driver, "add-echo-model").click()
    wait_for(driver, lambda d: not banner.is_displayed(), "the banner to go")
    assert "Echo" in by_id(driver, "chat-model").text


def send(driver: WebDriver, *keys: str) -> None:
    """Type ``keys`` into the message box and press Enter."""
    box = by_id(driver, "composer-input")
    box.send_keys(*keys, Keys.ENTER)


def record_reply_texts(driver: WebDriver) -> None:
    """Record every text the newest assistant message shows, as it changes."""
    driver.execute_script(
        """
        window.replyTexts = [];
        new MutationObserver(() => {
          const replies = document.querySelectorAll('.message--assistant .message__content');
          const text = replies.length ? replies[replies.length - 1].textContent : '';
          if (text && window.replyTexts.at(-1) !== text) window.replyTexts.push(text);
        }).observe(document.getElementById('messages'),
                   {subtree: true, childList: true, characterData: true});
        """
    )


def screenshot(driver: WebDriver, name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / name
    assert driver.save_screenshot(str(path)), path
    return path


def assert_no_console_errors(driver: Browser) -> None:
    """No error in the browser's console since the last look (a failed request, an exception)."""
    entries: list[dict[str, Any]] = driver.get_log("browser")  # type: ignore[no-untyped-call]
    errors = [entry["message"] for entry in entries if entry.get("level") == "SEVERE"]
    assert errors == []


def echo_cost(prompt_words: int, reply_words: int) -> Decimal:
    """What the echo model's catalog entry (2.50 / 10 USD per million) charges."""
    return (prompt_words * Decimal("2.50") + reply_words * Decimal(10)) / 1_000_000


# -------------------------------------------------------------------------------- tests


def test_a_conversation_streams_branches_and_switches(
    browser: webdriver.Chrome, live: LiveApp
) -> None:
    driver = browser
    open_page(driver, live)
    assert by_id(driver, "user-id").get_attribute("value") == "alice"
    assert "Stand-in for sign-in" in by_id(driver, "user-id-note").text
    screenshot(driver, "empty.png")
    add_echo_model(driver)

    # Send with Enter: a chat is created, titled by the message, and the reply streams in.
    record_reply_texts(driver)
    send(driver, "Plan three days in Rome")
    wait_for(driver, lambda d: settled(d, 2), "the first reply")
    assert thread_text(driver) == [
        "user: Plan three days in Rome",
        "assistant: Plan three days in Rome",
    ]
    seen: list[str] = driver.execute_script("return window.replyTexts")
    # Token by token: partial texts first (how many depends on the machine's load) ...
    assert len(seen) >= 2, seen
    assert seen[-1] == "Plan three days in Rome"
    assert all(later.startswith(earlier) for earlier, later in itertools.pairwise(seen)), seen
    reply = messages(driver)[1]
    assert reply.find_element(By.CSS_SELECTOR, ".message__author").text == "Echo"
    assert reply.find_element(By.CSS_SELECTOR, ".message__cost").text == f"${echo_cost(5, 5)}"
    assert "5 in · 5 out tokens" in reply.find_element(By.CSS_SELECTOR, ".message__meta").text
    assert active_id(driver) == "composer-input"  # focus stays in the message box
    assert by_id(driver, "announcer").get_attribute("textContent") == (
        "Echo replied: Plan three days in Rome"  # read out once to screen readers
    )
    assert by_id(driver, "chat-title").text == "Plan three days in Rome"
    current = driver.find_element(By.CSS_SELECTOR, '.chat-item[aria-current="page"]')
    assert current.find_element(By.CSS_SELECTOR, ".chat-item__title").text == (
        "Plan three days in Rome"
    )

    # Shift+Enter is a new line, Enter sends.
    send(driver, "Where to eat", Keys.SHIFT, Keys.ENTER, Keys.SHIFT, "near the Pantheon")
    wait_for(driver, lambda d: settled(d, 4), "the second reply")
    assert thread_text(driver)[2:] == [
        "user: Where to eat\nnear the Pantheon",
        "assistant: Where to eat near the Pantheon",
    ]

    # Edit the first message: a new branch, answered at once.
    first = messages(driver)[0]
    first.find_element(By.XPATH, ".//button[normalize-space()='Edit']").click()
    editor = driver.find_element(By.CSS_SELECTOR, ".message__editor textarea")
    assert active_id(driver) == editor.get_attribute("id")
    editor.send_keys(Keys.CONTROL, "a")
    editor.send_keys("Plan four days in Paris", Keys.ENTER)
    wait_for(driver, lambda d: settled(d, 2) and "Paris" in thread_text(d)[-1], "the edit's reply")
    assert thread_text(driver) == [
        "user: Plan four days in Paris",
        "assistant: Plan four days in Paris",
    ]
    assert switcher_of(messages(driver)[0]) == "2/2"

    # Switch back to the first branch, and forth again.
    messages(driver)[0].find_element(By.CSS_SELECTOR, '[aria-label="Previous version"]').click()
    wait_for(driver, lambda d: idle(d) and len(messages(d)) == 4, "the first branch")
    assert switcher_of(messages(driver)[0]) == "1/2"
    assert thread_text(driver)[0] == "user: Plan three days in Rome"
    assert thread_text(driver)[3] == "assistant: Where to eat near the Pantheon"
    focused = driver.execute_script("return document.activeElement.dataset.action")
    assert focused == "next"  # focus stays on the switcher ("previous" is disabled at 1/2)
    messages(driver)[0].find_element(By.CSS_SELECTOR, '[aria-label="Next version"]').click()
    wait_for(driver, lambda d: idle(d) and len(messages(d)) == 2, "the second branch")
    assert switcher_of(messages(driver)[0]) == "2/2"

    # Regenerate the answer: a sibling of the old one, switchable the same way.
    messages(driver)[1].find_element(By.XPATH, ".//button[normalize-space()='Regenerate']").click()
    wait_for(
        driver,
        lambda d: settled(d, 2) and len(d.find_elements(By.CSS_SELECTOR, ".switcher")) == 2,
        "the regenerated reply",
    )
    assert switcher_of(messages(driver)[1]) == "2/2"
    assert thread_text(driver)[1] == "assistant: Plan four days in Paris"
    screenshot(driver, "conversation.png")

    with live.api() as api:
        chat_id = driver.execute_script("return location.hash").removeprefix("#chat=")
        chat = api.get(f"/chats/{chat_id}").json()
        assert chat["message_count"] == 7  # 2 + 2 on the first branch, 1 + 2 on the second
        spent = api.get("/usage", params={"chat_id": chat_id}).json()["cost"]

    # The chat's usage: every reply of every branch, today.
    by_id(driver, "usage-chat").click()
    wait_for(driver, lambda d: idle(d) and d.find_elements(By.ID, "usage-total-cost"), "usage")
    assert by_id(driver, "usage-total-cost").text == f"${spent}"
    today = dt.datetime.now(dt.timezone.utc).date().isoformat()
    bar = driver.find_element(By.CSS_SELECTOR, f'#usage-chart rect[data-day="{today}"]')
    assert bar.get_attribute("data-cost") == spent

    # Back on the first branch, the panel open: the picture in the example's README.
    messages(driver)[0].find_element(By.CSS_SELECTOR, '[aria-label="Previous version"]').click()
    wait_for(driver, lambda d: idle(d) and len(messages(d)) == 4, "the first branch again")
    screenshot(driver, "conversation-usage.png")
    assert_no_console_errors(driver)


def test_the_stop_button_cancels_a_streaming_reply(
    browser: webdriver.Chrome, live: LiveApp
) -> None:
    driver = browser
    open_page(driver, live)
    add_echo_model(driver)
    long_message = " ".join(f"word{index}" for index in range(150))  # 12 s to stream whole
    send(driver, long_message)
    stop = by_id(driver, "stop")
    wait_for(driver, lambda d: stop.is_displayed(), "the stop button")
    assert not by_id(driver, "send").is_displayed()

    def partial_reply(driver: WebDriver) -> str | None:
        text: str | None = driver.execute_script(
            "return document.querySelector('.message--assistant .message__content')?.textContent"
        )
        return text if text and len(text.split()) >= 3 else None

    wait_for(driver, partial_reply, "a few words of the reply")
    screenshot(driver, "streaming.png")
    stop.click()
    wait_for(
        driver,
        lambda d: idle(d) and d.find_elements(By.CSS_SELECTOR, '[data-status="cancelled"]'),
        "the reply to stop",
    )
    reply = driver.find_element(By.CSS_SELECTOR, '.message--assistant[data-status="cancelled"]')
    assert reply.find_element(By.CSS_SELECTOR, ".tag").text == "Stopped"
    shown = reply.find_element(By.CSS_SELECTOR, ".message__content").text
    assert 3 <= len(shown.split()) < 150
    assert long_message.startswith(shown)
    wait_for(driver, lambda d: by_id(d, "send").is_displayed(), "the send button")
    assert active_id(driver) == "composer-input"

    with live.api() as api:
        stored = api.get(f"/messages/{reply.get_attribute('data-id')}").json()
    assert (stored["status"], stored["content"]) == ("cancelled", shown)
    assert_no_console_errors(driver)


def test_the_chat_list_pages_and_acts(browser: Browser, live: LiveApp) -> None:
    driver = browser

    def titles(list_id: str) -> list[str]:
        """The titles a chat list shows, once the page is idle."""
        if not idle(driver):
            return ["(busy)"]
        script = f"""return [...document.querySelectorAll('#{list_id} .chat-item__title')]
            .map((t) => t.textContent);"""
        found: list[str] = driver.execute_script(script)
        return found

    with live.api() as api:
        for index in range(1, 24):
            assert api.post("/chats", json={"title": f"Trip {index:02}"}).status_code == 201
    open_page(driver, live)

    # Newest activity first, 20 at a time.
    wait_for(driver, lambda d: len(titles("chat-list")) == 20, "the first page")
    assert titles("chat-list")[:3] == ["Trip 23", "Trip 22", "Trip 21"]
    by_id(driver, "load-more").click()
    wait_for(driver, lambda d: len(titles("chat-list")) == 23, "the second page")
    assert titles("chat-list")[-1] == "Trip 01"
    assert not by_id(driver, "load-more").is_displayed()

    def open_chat(title: str) -> None:
        driver.find_element(By.XPATH, f"//button[@class='chat-item'][span='{title}']").click()
        wait_for(driver, lambda d: by_id(d, "chat-title").text == title, f"chat {title}")

    open_chat("Trip 05")
    by_id(driver, "chat-rename").click()
    rename = by_id(driver, "rename-input")
    assert active_id(driver) == "rename-input"
    rename.send_keys(Keys.CONTROL, "a")
    rename.send_keys("Lisbon in May", Keys.ENTER)
    wait_for(driver, lambda d: "Lisbon in May" in titles("chat-list"), "the new title")
    assert by_id(driver, "chat-title").text == "Lisbon in May"

    by_id(driver, "chat-pin").click()
    wait_for(driver, lambda d: titles("pinned-list") == ["Lisbon in May"], "the pinned chat")
    assert "Lisbon in May" not in titles("chat-list")
    assert by_id(driver, "chat-pin").text == "Unpin"

    by_id(driver, "chat-archive").click()
    wait_for(driver, lambda d: titles("pinned-list") == [], "the chat to be archived")
    assert "Lisbon in May" not in titles("chat-list")
    by_id(driver, "show-archived").click()
    wait_for(driver, lambda d: titles("pinned-list") == ["Lisbon in May"], "archived chats")
    by_id(driver, "show-archived").click()
    by_id(driver, "chat-archive").click()  # unarchive
    wait_for(driver, lambda d: titles("pinned-list") == ["Lisbon in May"], "the chat unarchived")

    by_id(driver, "chat-delete").click()
    wait_for(driver, lambda d: titles("pinned-list") == [], "the chat to be deleted")
    assert "Lisbon in May" not in titles("chat-list")
    assert "Deleted" in by_id(driver, "toast-text").text
    assert by_id(driver, "chat-title").text == "New chat"
    deleted = driver.find_element(By.CSS_SELECTOR, "#deleted-list .deleted-item__title")
    assert deleted.text == "Lisbon in May"
    driver.find_element(By.CSS_SELECTOR, "#deleted-list [data-restore]").click()
    wait_for(driver, lambda d: titles("pinned-list") == ["Lisbon in May"], "the chat restored")
    assert by_id(driver, "chat-title").text == "Lisbon in May"
    assert not by_id(driver, "deleted-group").is_displayed()

    # The user field is who the API sees: bob has no chats, alice still has hers.
    user = by_id(driver, "user-id")
    user.send_keys(Keys.CONTROL, "a")
    user.send_keys("bob", Keys.ENTER)
    wait_for(driver, lambda d: by_id(d, "chat-list-empty").is_displayed(), "bob's empty list")
    assert titles("chat-list") == titles("pinned-list") == []
    user.send_keys(Keys.CONTROL, "a")
    user.send_keys("alice", Keys.ENTER)
    wait_for(driver, lambda d: len(titles("chat-list")) == 20, "alice's chats again")
    assert_no_console_errors(driver)


def test_the_usage_panel_charts_cost_by_day(browser: Browser, live: LiveApp) -> None:
    driver = browser
    with live.api() as api:
        model = api.post(
            "/models",
            json={
                "provider": "openai",
                "name": "gpt-4o",
                "input_price_per_million": "2.50",
                "output_price_per_million": "10",
            },
        ).json()
        costs = []
        for title, tokens in (("Rome", 1200), ("Paris", 3000)):
            chat = api.post("/chats", json={"title": title, "model_id": model["id"]}).json()
            url = f"/chats/{chat['id']}/messages"
            api.post(url, json={"role": "user", "content": f"Plan {title}"})
            answer = api.post(
                url,
                json={
                    "role": "assistant",
                    "content": f"Here is {title}",
                    "model_id": model["id"],
                    "usage": {"input_tokens": tokens, "output_tokens": tokens},
                },
            ).json()
            costs.append(Decimal(answer["cost"]))
    open_page(driver, live)
    driver.find_element(By.XPATH, "//button[@class='chat-item'][span='Paris']").click()
    wait_for(driver, lambda d: idle(d) and len(messages(d)) == 2, "the Paris chat")
    assert messages(driver)[1].find_element(By.CSS_SELECTOR, ".message__author").text == "gpt-4o"

    by_id(driver, "usage-chat").click()
    panel = by_id(driver, "usage-panel")
    wait_for(driver, lambda d: panel.is_displayed(), "the usage panel")

    def total(driver: WebDriver) -> str | None:
        return by_id(driver, "usage-total-cost").text if idle(driver) else None

    wait_for(driver, lambda d: total(d) == f"${costs[1]}", "the chat's cost")

    def bars(driver: WebDriver) -> dict[str, str]:
        found: dict[str, str] = driver.execute_script(
            """return Object.fromEntries([...document.querySelectorAll('#usage-chart rect')]
                 .map((bar) => [bar.dataset.day, bar.dataset.cost]));"""
        )
        return found

    today = dt.datetime.now(dt.timezone.utc).date().isoformat()
    drawn = bars(driver)
    assert len(drawn) == 14  # the last 14 days, today last
    assert list(drawn)[-1] == today
    assert {day: cost for day, cost in drawn.items() if cost != "0"} == {today: str(costs[1])}
    bar = driver.find_element(By.CSS_SELECTOR, f'#usage-chart rect[data-day="{today}"]')
    height = driver.execute_script("return arguments[0].getBBox().height", bar)
    assert height > 50  # the only bar reaches most of the chart's height
    assert driver.find_element(By.CSS_SELECTOR, "#usage-models tbody th").text == "gpt-4o"

    by_id(driver, "usage-scope-user").click()
    wait_for(driver, lambda d: total(d) == f"${sum(costs)}", "every chat's cost")
    assert bars(driver)[today] == str(sum(costs))
    screenshot(driver, "usage.png")
    assert_no_console_errors(driver)


def test_money_is_shown_exactly(browser: Browser, live: LiveApp) -> None:
    """Costs are decimal strings, exponent form included ("1E-7"): shown exactly, no float."""
    driver = browser
    with live.api() as api:
        cheap = {"provider": "p", "name": "cheap", "price_per_million_tokens": "0.1"}
        model = api.post("/models", json=cheap).json()
        chat = api.post("/chats", json={"title": "Pennies", "model_id": model["id"]}).json()
        reply = {
            "role": "assistant",
            "content": "ok",
            "model_id": model["id"],
            "usage": {"input_tokens": 1, "output_tokens": 0},
        }
        answer = api.post(f"/chats/{chat['id']}/messages", json=reply).json()
    assert Decimal(answer["cost"]) == Decimal("0.0000001")
    open_page(driver, live)
    driver.find_element(By.XPATH, "//button[@class='chat-item'][span='Pennies']").click()
    wait_for(driver, lambda d: idle(d) and len(messages(d)) == 1, "the chat")
    assert messages(driver)[0].find_element(By.CSS_SELECTOR, ".message__cost").text == (
        "$0.0000001"
    )
    shown: dict[str, str] = driver.execute_async_script(
        """
        const done = arguments[arguments.length - 1];
        import("./static/api.js").then(({ plainDecimal }) => done(Object.fromEntries(
          ["6.25E-7", "1.2E+3", "0E-10", "2.50", "100.00", "-0.5", "0.0000625", "7"]
            .map((text) => [text, plainDecimal(text)]))));
        """
    )
    assert shown == {
        "6.25E-7": "0.000000625",
        "1.2E+3": "1200",
        "0E-10": "0",
        "2.50": "2.5",
        "100.00": "100",
        "-0.5": "-0.5",
        "0.0000625": "0.0000625",
        "7": "7",
    }
    assert_no_console_errors(driver)
