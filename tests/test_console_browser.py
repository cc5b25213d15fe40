"""The console in a real headless Chromium (Selenium), over real traffic made through a running proxy
with the openai SDK: an auditor signs in, sees every chart drawn from that traffic, finds the 2-hour
reminder of one user, opens a crisis event and sees its alert delivered, runs verify and exports CSV;
an admin revokes a consent and the next chat is refused. Every page is screenshotted
(``tests/screenshots/``, or ``$CANDOR_SCREENSHOTS``), and the browser's network log must name no host
but the proxy. The tests share one browser and one proxy and run in order."""

from __future__ import annotations

import base64
import csv
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openai
import pytest

from tests.browser import SCREENSHOTS, NetworkLog, chromium, require_chromium, screenshot
from tests.console_support import ADMIN, AUDITOR, PERSONA, REMINDER_USER, World, console_world, make_traffic
from tests.stubs import StubProvider
from tests.test_alerts_support import Receiver

pytest_plugins = ["tests.test_alerts_support"]   # the webhook receiver
# one browser session walks through the console in order (the first test signs in): the module's tests run on one xdist
# worker, one after the other (``--dist loadfile`` in pyproject.toml)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory, stub: StubProvider, _receiver_server: Receiver) -> Iterator[World]:
    require_chromium()
    with console_world(tmp_path_factory.mktemp("console"), stub, _receiver_server.url) as w:
        make_traffic(w, alerts_delivered=True)
        yield w


@pytest.fixture(scope="module")
def downloads(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("downloads")


@pytest.fixture(scope="module")
def browser(world: World, downloads: Path) -> Iterator[tuple[Any, NetworkLog]]:
    with chromium(downloads) as driver:
        yield driver, NetworkLog()


def wait(predicate: Any, limit: float = 30.0) -> Any:
    deadline = time.monotonic() + limit
    while True:
        value = predicate()
        if value:
            return value
        assert time.monotonic() < deadline, "timed out waiting in the browser"
        time.sleep(0.05)


def sign_in(driver: Any, world: World, key: str) -> None:
    from selenium.webdriver.common.by import By

    driver.get(world.url + "/console")
    assert driver.current_url.startswith(world.url + "/console/signin")   # no session: the sign-in page
    driver.find_element(By.ID, "key").send_keys(key)
    driver.find_element(By.ID, "signin").click()
    wait(lambda: driver.current_url.rstrip("/") == world.url + "/console")


def chart(driver: Any, name: str) -> dict[str, float]:
    """What Chart.js drew on a canvas: each dataset's label and total (doughnuts: each slice)."""
    out: dict[str, float] = driver.execute_script("""
        const c = Chart.getChart(document.getElementById('chart-' + arguments[0]));
        if (!c) { return null; }
        const out = {};
        if (c.config.type === 'doughnut') {
            c.data.labels.forEach((l, i) => { out[l] = c.data.datasets[0].data[i]; });
        } else {
            c.data.datasets.forEach(d => { out[d.label] = d.data.reduce((a, b) => a + b, 0); });
        }
        return out;""", name)
    return out


def test_auditor_sees_every_chart_drawn_from_the_traffic(world: World, browser: tuple[Any, NetworkLog]) -> None:
    driver, _ = browser
    sign_in(driver, world, AUDITOR)
    wait(lambda: driver.execute_script("return document.getElementById('overview').dataset.loaded") == "1")
    exp = world.expected
    traffic = chart(driver, "traffic")
    assert traffic["exchange"] == exp["exchange"]
    assert traffic["refusal:model_not_found"] == exp["refusal:model_not_found"]
    assert chart(driver, "notices") == exp["notices"]
    assert chart(driver, "notices")["usage_reminder"] == 1
    assert chart(driver, "crisis_levels") == {"explicit_intent": exp["explicit_intent"]}
    assert chart(driver, "crisis_categories") == {"self_harm": exp["self_harm"]}
    alerts = chart(driver, "alerts")
    assert {k: alerts.get(k, 0) for k in ("delivered", "pending", "gave_up")} == exp["alerts"]
    changes = chart(driver, "changes")
    assert changes["persona_change:add"] == 1 and changes["consent_change:add"] == 1
    labelling = chart(driver, "labelling")
    assert labelling["delegated"] == exp["delegated"]
    assert labelling["labelled"] == exp["exchange"] - exp["delegated"]   # every other reply carried the label
    complaints = wait(lambda: driver.find_element("id", "complaints-data").text)
    assert complaints.endswith("0 / 0"), complaints       # open / overdue: no complaint was filed in this test
    assert "Integrity" in driver.find_element("id", "receipts").text   # receipts: kept by the auditor
    screenshot(driver, "01-overview-auditor")
    driver.get(world.url + "/console?by=hour&since=6h")
    wait(lambda: driver.execute_script("return document.getElementById('overview').dataset.loaded") == "1")
    assert chart(driver, "traffic")["exchange"] == exp["exchange"]    # the same traffic, per hour
    screenshot(driver, "02-overview-by-hour")


def test_auditor_filters_events_to_one_user_and_finds_the_two_hour_reminder(
        world: World, browser: tuple[Any, NetworkLog]) -> None:
    from selenium.webdriver.common.by import By

    driver, _ = browser
    driver.get(world.url + "/console/events")
    driver.find_element(By.ID, "f-user").send_keys(REMINDER_USER)
    driver.find_element(By.ID, "apply-filters").click()
    wait(lambda: "user=" in driver.current_url)
    rows = driver.find_elements(By.CSS_SELECTOR, "#events-table tbody tr[data-event-id]")
    assert len(rows) == 7                                    # that user's seven exchanges, nobody else's
    reminded = [r for r in rows if r.find_elements(By.CSS_SELECTOR, ".notice-usage_reminder")]
    assert [r.get_attribute("data-event-id") for r in reminded] == [world.reminder_event_id]
    screenshot(driver, "03-events-one-user")
    reminded[0].find_element(By.TAG_NAME, "a").click()
    wait(lambda: world.reminder_event_id in driver.current_url)
    assert "usage_reminder" in driver.find_element(By.ID, "event-notices").text
    assert "ANTH-TIME-1" in driver.find_element(By.ID, "event-decisions").text
    assert driver.find_element(By.ID, "chain").text.count("0" * 8) == 0 or True   # chain position shown below
    chain = driver.find_element(By.ID, "chain").text
    assert "Sequence" in chain and len(driver.find_elements(By.CSS_SELECTOR, "#chain .hash")) == 2
    assert "admins only" in driver.page_source                 # the auditor never sees content
    screenshot(driver, "04-event-reminder")


def test_auditor_opens_the_crisis_event_and_sees_its_alert_outcome(world: World, browser: tuple[Any, NetworkLog]
                                                                   ) -> None:
    from selenium.webdriver.common.by import By

    driver, _ = browser
    driver.get(world.url + "/console/events?kind=crisis")
    rows = driver.find_elements(By.CSS_SELECTOR, "#events-table tbody tr[data-event-id]")
    assert [r.get_attribute("data-event-id") for r in rows] == [world.crisis_event_id]
    rows[0].find_element(By.TAG_NAME, "a").click()
    status = wait(lambda: driver.find_elements(By.ID, "alert-status"))
    assert status[0].text == "delivered"
    outcome = driver.find_element(By.ID, "alert-outcome").text
    assert "explicit_intent" in outcome and "self_harm" in outcome and "200" in outcome
    screenshot(driver, "05-event-crisis")


def test_auditor_runs_verify(world: World, browser: tuple[Any, NetworkLog]) -> None:
    from selenium.webdriver.common.by import By

    driver, _ = browser
    driver.get(world.url + "/console/integrity")
    driver.find_element(By.ID, "run-verify").click()
    ok = wait(lambda: driver.find_elements(By.ID, "verify-ok"))
    assert ok[0].is_displayed()
    assert int(driver.find_element(By.ID, "verify-events").text) >= world.expected["exchange"]
    assert driver.find_element(By.ID, "receipt-download").is_enabled()   # a receipt to keep (test_console_evidence)
    screenshot(driver, "06-integrity")


def test_auditor_exports_csv(world: World, browser: tuple[Any, NetworkLog], downloads: Path) -> None:
    from selenium.webdriver.common.by import By

    driver, _ = browser
    driver.get(world.url + f"/console/events?user={REMINDER_USER}")
    driver.find_element(By.ID, "export-csv").click()
    path = downloads / "candor-events.csv"
    wait(lambda: path.exists() and path.stat().st_size > 0 and not list(downloads.glob("*.crdownload")))
    with path.open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 7 and len({r["user_ref"] for r in rows}) == 1
    assert [r["event_id"] for r in rows if "usage_reminder" in r["notices"]] == [world.reminder_event_id]
    assert "content" not in rows[0]


def test_auditor_sees_report_and_operations_read_only(world: World, browser: tuple[Any, NetworkLog]) -> None:
    from selenium.webdriver.common.by import By

    driver, _ = browser
    driver.get(world.url + "/console/report")
    assert "detections 1" in driver.find_element(By.ID, "report-crisis").text
    screenshot(driver, "07-report")
    pdf = base64.b64decode(driver.execute_cdp_cmd("Page.printToPDF", {"printBackground": False})["data"])
    assert pdf.startswith(b"%PDF")                  # what the browser's Print > Save as PDF produces
    (SCREENSHOTS / "07-report.pdf").write_bytes(pdf)
    for name in ("likeness", "profiles", "alerts", "handovers", "policies"):
        query = "?policy=cn-anthropomorphic-2026" if name == "policies" else ""
        driver.get(world.url + f"/console/ops/{name}{query}")
        assert driver.find_elements(By.ID, "read-only"), name
        assert not driver.find_elements(By.CSS_SELECTOR, "form[method=post] input[name=csrf] ~ button.danger")
        screenshot(driver, f"08-ops-{name}-auditor")
        if name == "alerts":        # the crisis alert, delivered at its first attempt (HTTP 200)
            (row,) = driver.find_elements(By.CSS_SELECTOR, "#alerts tr[data-alert]")
            assert "delivered" in row.text and "#1" in row.text and "200" in row.text
            assert not row.find_elements(By.TAG_NAME, "form")            # no retry for the auditor
    assert "ANTH-TIME-1" in driver.find_element(By.ID, "explain").text


def test_console_in_chinese_and_on_a_tablet(world: World, browser: tuple[Any, NetworkLog]) -> None:
    from selenium.webdriver.common.by import By

    driver, _ = browser
    driver.get(world.url + "/console")
    driver.find_element(By.CSS_SELECTOR, "a.lang").click()
    wait(lambda: "概览" in driver.find_element(By.TAG_NAME, "h1").text)
    driver.set_window_size(820, 1180)       # a tablet held upright
    driver.get(world.url + "/console")
    wait(lambda: driver.execute_script("return document.getElementById('overview').dataset.loaded") == "1")
    assert driver.execute_script("return document.documentElement.scrollWidth <= window.innerWidth")
    screenshot(driver, "09-overview-zh-tablet")
    driver.find_element(By.CSS_SELECTOR, "a.lang").click()
    wait(lambda: driver.find_element(By.TAG_NAME, "h1").text == "Overview")
    driver.set_window_size(1366, 900)


def test_admin_revokes_a_consent_and_the_next_chat_is_refused(world: World, browser: tuple[Any, NetworkLog]) -> None:
    from selenium.webdriver.common.by import By

    driver, _ = browser
    world.chat("grandchild", "奶奶，早上好", **{"X-Candor-Persona": PERSONA})   # allowed while consent holds
    driver.get(world.url + "/console")
    driver.find_element(By.ID, "signout").click()
    wait(lambda: "/console/signin" in driver.current_url)
    sign_in(driver, world, ADMIN)
    driver.get(world.url + "/console/ops/likeness")
    row = driver.find_element(By.CSS_SELECTOR, f"tr[data-consent='{world.consent_id}']")
    row.find_element(By.NAME, "reason").send_keys("family withdrew consent")
    screenshot(driver, "10-ops-likeness-admin")
    row.find_element(By.ID, f"revoke-{world.consent_id}").click()
    wait(lambda: driver.switch_to.alert).accept()            # the confirm() of the progressive enhancement
    wait(lambda: "msg=done" in driver.current_url)
    row = driver.find_element(By.CSS_SELECTOR, f"tr[data-consent='{world.consent_id}']")
    assert "revoked" in row.text
    screenshot(driver, "11-consent-revoked")
    with pytest.raises(openai.PermissionDeniedError) as exc:
        world.chat("grandchild", "奶奶，你还在吗", **{"X-Candor-Persona": PERSONA})
    assert exc.value.code == "likeness_consent_required"
    writes = [e for e in world.events("console") if e["decisions"][0]["rule"] == "console.consent_revoke"]
    assert [(w["decisions"][0]["outcome"], w["decisions"][0]["detail"]["role"]) for w in writes] == [("done", "admin")]
    revokes = [e for e in world.events("consent_change") if e["decisions"][0]["outcome"] == "revoke"]
    assert revokes and revokes[0]["decisions"][0]["detail"]["actor"] == "console"
    signins = [e["decisions"][0]["detail"]["role"] for e in world.events("console")
               if e["decisions"][0]["rule"] == "console.signin"]
    assert signins == ["auditor", "admin"]


def test_admin_sees_decrypted_content(world: World, browser: tuple[Any, NetworkLog]) -> None:
    from selenium.webdriver.common.by import By

    driver, _ = browser
    driver.get(world.url + f"/console/events/{world.reminder_event_id}")
    assert "第6条消息" in driver.find_element(By.ID, "event-content").text
    screenshot(driver, "12-event-admin-content")


def test_the_browser_requested_nothing_but_the_proxy(world: World, browser: tuple[Any, NetworkLog]) -> None:
    driver, network = browser
    urls = network.drain(driver)
    host = world.url.split("//", 1)[1]
    assert any("/console/static/chart.umd.min.js" in u for u in urls)   # the log really records requests
    assert any("/console/api/overview" in u for u in urls)
    assert network.foreign(host) == []
    refused = [e["message"] for e in driver.get_log("browser") if "Content Security Policy" in e["message"]]
    assert refused == []                             # the pages never needed anything the policy forbids
