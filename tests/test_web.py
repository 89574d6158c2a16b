"""``anchor serve``: the HTTP API (TestClient) and the verification page in a real browser (Debian's chromium).

The browser tests drive /usr/bin/chromium through Playwright's Python package (headless, no sandbox,
background networking off, a fresh profile), refuse every request that leaves the app, and save a
screenshot of each case under test-artifacts/.
"""

from __future__ import annotations

import json
import re
import shutil
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from fastapi.testclient import TestClient

from anchor.cli import main
from anchor.config import Settings
from anchor.verifier import receipt_link, trusted_from_deployments
from anchor.web import MAX_BODY_BYTES, WebConfig, create_app

from support.anvil import free_port
from support.prerequisites import missing
from support.verifier_world import World, build_world

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(scope="module")
def world(anvil: Settings) -> World:
    return build_world(anvil)


@pytest.fixture(scope="module")
def config(world: World) -> WebConfig:
    return WebConfig(rpc_urls=[world.rpc_url], trusted=trusted_from_deployments(world.settings.deployments_dir))


@pytest.fixture(scope="module")
def client(config: WebConfig) -> Iterator[TestClient]:
    with TestClient(create_app(config)) as made:
        yield made


def post(client: TestClient, body: bytes | str, content_type: str = "application/json") -> Any:
    return client.post("/verify", content=body, headers={"Content-Type": content_type})


# ---------------------------------------------------------------------------------------------- API


def test_verify_a_valid_receipt(world: World, client: TestClient) -> None:
    response = post(client, world.text("valid"))
    assert response.status_code == 200
    document = response.json()
    assert document["verdict"] == "VALID"
    states = {check["name"]: check["state"] for check in document["checks"]}
    assert states.pop("signature") == "not-checked"  # a v1 receipt predates issuer signatures
    assert list(states.values()) == ["passed"] * 8
    assert (
        document["credential"]["learner"]
        == world.receipts["valid"]["credentialSubject"]["identifier"][0]["identityHash"]
    )
    assert document["evidence"]["issuerUri"] == world.receipts["valid"]["issuer"]["id"]


def test_verify_a_revoked_receipt(world: World, client: TestClient) -> None:
    document = post(client, world.text("revoked")).json()
    assert (document["verdict"], document["status"]) == ("INVALID", "REVOKED")
    failed = [check for check in document["checks"] if check["state"] == "failed"]
    assert [check["name"] for check in failed] == ["revocation"]
    assert "fraud" in failed[0]["reason"]


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        (b"{", 400, "unreadable"),
        (b'{"a": 1, "a": 1}', 400, "unreadable"),
        (b"[1, 2]", 400, "unreadable"),
        (b'{"name": "no proof"}', 422, "not-a-receipt"),
    ],
)
def test_bad_receipts_are_4xx_with_the_failing_check(client: TestClient, body: bytes, status: int, code: str) -> None:
    response = post(client, body)
    assert response.status_code == status
    document = response.json()
    assert document["error"]["code"] == code
    assert document["checks"][0]["state"] == "failed"
    assert document["verdict"] == "ERROR"


def test_transport_refusals(client: TestClient) -> None:
    assert post(client, b"{}", "text/plain").json()["error"]["code"] == "unsupported-media-type"
    assert post(client, b"{}", "text/plain").status_code == 415
    assert post(client, b"").status_code == 400
    too_big = post(client, b" " * (MAX_BODY_BYTES + 1))
    assert too_big.status_code == 413
    assert too_big.json()["error"]["code"] == "payload-too-large"

    def chunks() -> Iterator[bytes]:  # no Content-Length: the limit holds while reading
        for _ in range(MAX_BODY_BYTES // 65536 + 2):
            yield b" " * 65536

    streamed = client.post("/verify", content=chunks(), headers={"Content-Type": "application/json"})
    assert streamed.status_code == 413
    assert client.get("/verify").status_code == 405
    missing = client.get("/no-such-page")
    assert (missing.status_code, missing.json()["error"]["code"]) == (404, "not-found")


def test_health_and_openapi(world: World, client: TestClient) -> None:
    health = client.get("/health")
    assert health.status_code == 200
    document = health.json()
    assert document["status"] == "ok"
    assert document["endpoints"] == [{"url": world.rpc_url, "chainId": 31337}]
    assert document["trustedRegistries"][0]["address"].lower() == world.registry.address.lower()
    schema = client.get("/openapi.json").json()
    assert {"/verify", "/health"} <= set(schema["paths"])
    assert set(schema["paths"]["/verify"]["post"]["responses"]) >= {"200", "400", "413", "415", "422", "502"}


def test_pages_load_nothing_from_elsewhere(client: TestClient) -> None:
    for path in ("/", "/docs"):
        html = client.get(path).text
        references = re.findall(r'(?:src|href)="([^"]*)"', html)
        assert references, path
        assert all(reference.startswith("/") for reference in references), references
        assert "cdn" not in html.lower()
    page = client.get("/")
    assert "default-src 'none'" in page.headers["Content-Security-Policy"]
    assert (
        client.get("/static/app.js").headers["content-type"].startswith(("text/javascript", "application/javascript"))
    )
    assert client.get("/docs-assets/swagger-ui-bundle.js").status_code == 200


def test_an_unreachable_endpoint_is_502(world: World) -> None:
    config = WebConfig(rpc_urls=["http://127.0.0.1:9"], trusted=[world.registry.address], timeout=2)
    with TestClient(create_app(config)) as client:
        assert client.get("/health").status_code == 503
        response = post(client, world.text("valid"))
        assert response.status_code == 502
        document = response.json()
        assert document["error"]["code"] == "rpc-unreachable"
        assert document["status"] == "RPC UNREACHABLE"
        assert document["checks"][2]["state"] == "passed"  # the offline checks still ran


def test_serve_command_is_registered() -> None:
    from click.testing import CliRunner

    result = CliRunner().invoke(main, ["serve", "--help"])
    assert result.exit_code == 0
    assert "POST /verify" in result.output


# ---------------------------------------------------------------------------------------------- the page


@pytest.fixture(scope="module")
def server(config: WebConfig) -> Iterator[str]:
    port = free_port()
    instance = uvicorn.Server(uvicorn.Config(create_app(config), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=instance.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not instance.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}/"
    instance.should_exit = True
    thread.join(10)


@pytest.fixture(scope="module")
def browser(server: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    if not Path(CHROMIUM).exists() or shutil.which("chromium") is None:
        missing("Debian's chromium is not installed (.ci/run installs it as root)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(tmp_path_factory.mktemp("chromium-profile")),
            executable_path=CHROMIUM,
            headless=True,
            args=CHROMIUM_ARGS,
            viewport={"width": 1200, "height": 900},
        )
        context.outside = []  # type: ignore[attr-defined]

        def only_the_app(route: Any) -> None:
            if route.request.url.startswith(server) or route.request.url.startswith(("data:", "blob:")):
                route.continue_()
            else:
                context.outside.append(route.request.url)  # type: ignore[attr-defined]
                route.abort()

        context.route("**/*", only_the_app)
        yield context
        assert context.outside == [], context.outside  # type: ignore[attr-defined]
        context.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    made = browser.new_page()
    yield made
    made.close()


def screenshot(page: Any, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def verdict_of(page: Any) -> tuple[str, str]:
    page.wait_for_selector('#verdict:not([data-verdict="pending"])', timeout=15_000)
    return page.get_attribute("#verdict", "data-verdict"), page.inner_text("#verdict-word")


def test_page_shows_a_valid_receipt(world: World, server: str, page: Any) -> None:
    page.goto(server)
    page.fill("#receipt", world.text("valid"))
    page.click("#verify")
    assert verdict_of(page) == ("VALID", "VALID")
    states = page.eval_on_selector_all("#checks li", "items => items.map(item => item.dataset.state)")
    assert states == ["passed"] * 3 + ["not-checked"] + ["passed"] * 5  # v1: "Signed by the issuer" does not apply
    signature = page.inner_text('#checks li[data-check="signature"]')
    assert "Signed by the issuer" in signature
    assert "predates issuer signatures" in signature
    assert not page.is_visible("#credential-note")
    receipt = world.receipts["valid"]
    card = page.inner_text("#credential-card")
    assert receipt["credentialSubject"]["identifier"][0]["identityHash"] in card
    assert receipt["credentialSubject"]["achievement"]["name"] in card
    assert "ECTS" in card
    assert "EQF level" in card
    assert receipt["credentialSubject"]["achievement"]["euMicroCredential"]["learningOutcomes"][0] in card
    evidence = page.inner_text("#evidence")
    assert f"batch {receipt['proof']['batchId']}" in evidence
    assert receipt["proof"]["transactionHash"] in evidence
    screenshot(page, "verify-valid")


def test_page_shows_which_check_a_tampered_receipt_fails(world: World, server: str, page: Any) -> None:
    receipt = world.receipt("valid")
    receipt["credentialSubject"]["creditsEarned"] = receipt["credentialSubject"]["creditsEarned"] + 1
    receipt["credentialSubject"]["achievement"]["creditsAvailable"] += 1
    page.goto(server)
    page.fill("#receipt", json.dumps(receipt, indent=2, ensure_ascii=False))
    page.click("#verify")
    assert verdict_of(page) == ("INVALID", "TAMPERED")
    failed = page.locator('#checks li[data-state="failed"]')
    assert failed.count() >= 1
    integrity = page.locator('#checks li[data-check="integrity"]')
    assert integrity.get_attribute("data-state") == "failed"
    assert "changed" in integrity.inner_text()
    assert page.locator('#checks li[data-check="revocation"]').get_attribute("data-state") == "not-checked"
    assert page.is_visible("#credential-note")  # the claims of a tampered receipt are marked unconfirmed
    screenshot(page, "verify-tampered")


def test_page_opens_a_shared_link_of_a_revoked_receipt(world: World, server: str, page: Any) -> None:
    page.goto(receipt_link(world.receipts["revoked"], server))
    assert verdict_of(page) == ("INVALID", "REVOKED")
    revocation = page.locator('#checks li[data-check="revocation"]')
    assert revocation.get_attribute("data-state") == "failed"
    assert "fraud" in revocation.inner_text()
    assert "fraud" in page.inner_text("#verdict-summary")
    assert "revoked" in page.inner_text("#evidence")
    screenshot(page, "verify-revoked")


def test_page_makes_links_the_python_side_reads(world: World, server: str, page: Any) -> None:
    page.goto(server)
    text = world.text("batch-revoked")
    page.fill("#receipt", text)
    page.click("#share")
    page.wait_for_selector("#share-link:not([hidden])")
    link = page.input_value("#share-link")
    assert link.startswith(server + "#r=")
    from anchor.verifier import receipt_from_link

    assert json.loads(receipt_from_link(link)) == world.receipts["batch-revoked"]
    page.goto(link)
    assert verdict_of(page) == ("INVALID", "REVOKED")
    assert "superseded" in page.inner_text("#verdict-summary")


def test_page_opens_a_file(world: World, server: str, page: Any, tmp_path: Path) -> None:
    path = tmp_path / "expired.json"
    path.write_text(world.text("expired"), encoding="utf-8")
    page.goto(server)
    page.set_input_files("#file", str(path))
    assert verdict_of(page) == ("INVALID", "EXPIRED")


def test_api_docs_render_offline(server: str, page: Any) -> None:
    page.goto(server + "docs")
    page.wait_for_selector(".swagger-ui .opblock", timeout=15_000)
    assert "/verify" in page.inner_text(".swagger-ui")
