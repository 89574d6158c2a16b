"""Baked badges on the verification page and the HTTP API, on a real chain (anvil).

Debian's chromium drops a baked PNG on the page (a real ``drop`` event carrying the file) and sees VALID; a
badge re-baked with a changed credential is refused (TAMPERED), and so is a badge with two credential chunks.
The API takes the image's bytes as ``image/png`` or ``image/svg+xml``, with a limit of its own.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from anchor.chain.connection import connect, wait_for_block
from anchor.chain.registry import Registry
from anchor.config import Settings
from anchor.credentials.examples import generate_credentials, issuer_for_country
from anchor.sharing.badge import badge_png, badge_svg
from anchor.sharing.baking import MAX_BADGE_BYTES, PNG_KEYWORD, bake_png, bake_svg
from anchor.web import MAX_BODY_BYTES, WebConfig, create_app

from support.browser import chromium, screenshot, served, verdict_of
from support.verifier_world import DEV, anchor_batch


@pytest.fixture(scope="module")
def receipts(anvil: Settings) -> tuple[str, list[dict[str, Any]]]:
    """Two receipts of one final batch, and the registry that anchored them."""
    chain = connect(anvil)
    registry, _ = Registry.deploy(chain, DEV[0], DEV[0].address, 0)
    de = issuer_for_country("DE")
    registry.register_issuer(DEV[0], de.name, "DE", de.id, [DEV[1].address])
    anchored = anchor_batch(chain, registry, DEV[1], list(generate_credentials(2, seed=41, issuer=de)))
    wait_for_block(chain, int(chain.w3.eth.block_number), "finalized", timeout=30)
    return registry.address, anchored


@pytest.fixture(scope="module")
def config(anvil: Settings, receipts: tuple[str, list[dict[str, Any]]]) -> WebConfig:
    return WebConfig(rpc_urls=[connect(anvil).rpc_url], trusted=[receipts[0]])


@pytest.fixture
def app(config: WebConfig) -> Any:
    """An app of its own for each test (an app's lifespan runs once: under TestClient, or under uvicorn)."""
    return create_app(config)


@pytest.fixture(scope="module")
def client(config: WebConfig) -> Iterator[TestClient]:
    with TestClient(create_app(config)) as made:
        yield made


def png_of(receipt: dict[str, Any]) -> bytes:
    return bake_png(badge_png(receipt["name"], receipt["issuer"]["name"]), receipt)


def pillow_baked(receipt: dict[str, Any]) -> bytes:
    import io

    from PIL import Image
    from PIL.PngImagePlugin import PngInfo

    info = PngInfo()
    info.add_itxt(PNG_KEYWORD, json.dumps(receipt), zip=False)
    out = io.BytesIO()
    Image.new("RGB", (40, 40), (200, 160, 40)).save(out, format="PNG", pnginfo=info)
    return out.getvalue()


def changed(receipt: dict[str, Any]) -> dict[str, Any]:
    forged = json.loads(json.dumps(receipt))
    forged["credentialSubject"]["identifier"][0]["identityHash"] = "Mallory"
    return forged


def twice(receipt: dict[str, Any]) -> bytes:
    import struct
    import zlib

    body = PNG_KEYWORD.encode() + b"\x00\x00\x00\x00\x00" + json.dumps(receipt).encode()
    chunk = struct.pack(">I", len(body)) + b"iTXt" + body + struct.pack(">I", zlib.crc32(b"iTXt" + body))
    image = badge_png("t", "i")
    return image[:33] + chunk + chunk + image[33:]


def post(client: TestClient, body: bytes, content_type: str) -> Any:
    return client.post("/verify", content=body, headers={"Content-Type": content_type})


# ---------------------------------------------------------------------------------------------- API


def test_the_api_verifies_baked_png_and_svg(client: TestClient, receipts: tuple[str, list[dict[str, Any]]]) -> None:
    receipt = receipts[1][0]
    for body, kind in (
        (png_of(receipt), "image/png"),
        (pillow_baked(receipt), "image/png"),  # baked by another implementation: Pillow's iTXt writer
        (bake_svg(badge_svg("t", "i"), receipt), "image/svg+xml"),
        (bake_svg(badge_svg("t", "i"), receipt), "image/svg+xml; charset=utf-8"),
    ):
        response = post(client, body, kind)
        assert response.status_code == 200, response.text
        document = response.json()
        assert document["verdict"] == "VALID", document
        assert document["credential"]["title"] == receipt["credentialSubject"]["achievement"]["name"]
    forged = post(client, png_of(changed(receipt)), "image/png").json()
    assert (forged["verdict"], forged["status"]) == ("INVALID", "TAMPERED")


def test_the_api_refuses_bad_images_clearly(client: TestClient, receipts: tuple[str, list[dict[str, Any]]]) -> None:
    receipt = receipts[1][0]
    two = post(client, twice(receipt), "image/png")
    assert two.status_code == 422
    assert two.json()["error"]["code"] == "bad-badge"
    assert "2 openbadgecredential chunks" in two.json()["error"]["message"]
    assert two.json()["verdict"] == "ERROR"
    entity = (
        b'<!DOCTYPE svg [<!ENTITY x SYSTEM "file:///etc/passwd">]><svg xmlns="http://www.w3.org/2000/svg">&x;</svg>'
    )
    refused = post(client, entity, "image/svg+xml")
    assert (refused.status_code, refused.json()["error"]["code"]) == (422, "bad-badge")
    # the body must be the image it is sent as; a receipt keeps the JSON limit, a badge has its own
    mismatch = post(client, json.dumps(receipt).encode(), "image/png")
    assert (mismatch.status_code, mismatch.json()["error"]["code"]) == (415, "unsupported-media-type")
    big = png_of(receipt)[:-12] + b"\x00" * (2 * MAX_BODY_BYTES) + png_of(receipt)[-12:]
    assert post(client, big, "image/png").status_code == 422  # read (under 10 MiB), then refused as damaged
    huge = post(client, b"\x89PNG\r\n\x1a\n" + b"\x00" * MAX_BADGE_BYTES, "image/png")
    assert (huge.status_code, huge.json()["error"]["code"]) == (413, "payload-too-large")
    assert post(client, b"\x89PNG\r\n\x1a\n" + b"\x00" * MAX_BODY_BYTES, "application/json").status_code == 413


# ---------------------------------------------------------------------------------------------- the page


def drop(page: Any, content: bytes, name: str, kind: str) -> None:
    """Drop a file holding ``content`` on the page's drop zone, as a user dragging it from their desktop does."""
    transfer = page.evaluate_handle(
        """([bytes, name, kind]) => {
            const transfer = new DataTransfer();
            transfer.items.add(new File([new Uint8Array(bytes)], name, { type: kind }));
            return transfer;
        }""",
        [list(content), name, kind],
    )
    page.dispatch_event("#drop", "drop", {"dataTransfer": transfer})


def test_dropping_badges_on_the_page(
    app: Any, receipts: tuple[str, list[dict[str, Any]]], tmp_path_factory: pytest.TempPathFactory
) -> None:
    receipt = receipts[1][1]
    with served(app) as server, chromium(tmp_path_factory.mktemp("profile"), server) as browser:
        page = browser.new_page()
        page.goto(server)
        drop(page, png_of(receipt), "badge.png", "image/png")
        assert verdict_of(page) == ("VALID", "VALID")
        assert receipt["credentialSubject"]["identifier"][0]["identityHash"] in page.inner_text("#credential-card")
        screenshot(page, "verify-baked-png")

        page.goto(server + "?again")
        drop(page, png_of(changed(receipt)), "badge.png", "image/png")
        assert verdict_of(page) == ("INVALID", "TAMPERED")
        assert page.locator('#checks li[data-check="integrity"]').get_attribute("data-state") == "failed"
        screenshot(page, "verify-baked-png-rebaked")

        page.goto(server + "?svg")
        drop(page, bake_svg(badge_svg("t", "i"), receipt), "badge.svg", "")  # the type from the name
        assert verdict_of(page) == ("VALID", "VALID")

        page.goto(server + "?two")
        drop(page, twice(receipt), "badge.png", "image/png")
        verdict, _ = verdict_of(page)
        assert verdict == "ERROR"
        assert "2 openbadgecredential chunks" in page.inner_text("#checks")

        path = tmp_path_factory.mktemp("badge") / "badge.png"  # "Open file…" takes a badge too
        path.write_bytes(png_of(receipts[1][0]))
        page.goto(server + "?file")
        page.set_input_files("#file", str(path))
        assert verdict_of(page) == ("VALID", "VALID")
        page.close()
