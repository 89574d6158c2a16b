"""The verification HTTP API and page: ``POST /verify``, ``GET /health``, ``/docs``, and the page at ``/``.

It also serves anchor's own JSON-LD contexts at the paths of their URLs (``/anchor/contexts/credential-v2.jsonld``,
``/anchor/credential/v1``), so that a deployment behind those URLs answers them.

Everything the browser loads comes from this app (the page's HTML, CSS and JavaScript as package data, the
API docs' Swagger UI from the ``fastapi-offline`` package); the page's Content-Security-Policy forbids any
other origin, so a verification leaks nothing to a CDN.

Responses of ``POST /verify``: 200 with the result for VALID and INVALID receipts; 422 with the result when
the body is JSON but not a usable receipt and 400 when it is not (strict I-JSON: duplicate keys, NaN... refused);
502 with the result when an RPC endpoint could not be asked (or not in time); 422 with the result, code
``verifier-error``, when verifying failed unexpectedly (the exception named, never a 500); each with an ``error``
member ``{"code", "message"}``. Other refusals (413 over the size limit, 415 not JSON content, 404, 405, 503
busy, 504 too slow) are ``{"error": {"code", "message"}}``.

The issuer's signature is checked with its DID's document: did:key offline, did:web fetched over HTTPS (only for
the DID the trusted registry records for the batch's issuer, so a posted receipt cannot make the server request
a host of its choosing), or a document from the server's configuration (:attr:`WebConfig.dids`, ``anchor serve
--did-document``). A request can never bring its own DID document: whoever forges a credential would send the
document listing the forger's key under the real issuer's DID, and its signature would verify.

Verifications never run on the event loop: a pool of :attr:`WebConfig.workers` threads runs them, at most
:attr:`WebConfig.queue` more wait, and a request beyond that is refused at once (503, ``Retry-After``), so
``/health`` and the page answer however many verifications are in flight. Each has :attr:`WebConfig.deadline`
seconds: its RPC requests end then, and its request is answered 504 if it is still not done shortly after.
"""

from __future__ import annotations

import asyncio
import hashlib
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from importlib import resources
from typing import Any
from urllib.parse import urlsplit

from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from fastapi_offline import FastAPIOffline
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from anchor import __version__
from anchor.credentials import MAX_CREDENTIAL_BYTES
from anchor.credentials.jsonld import EXTENSION_CONTEXTS
from anchor.errors import InvalidInputError
from anchor.sharing.baking import MAX_BADGE_BYTES, BadgeKind, badge_kind
from anchor.verifier import CheckState, TrustedRegistry, Verdict, Verification, Verifier
from anchor.verifier.dids import ResolverSetup
from anchor.verifier.session import VERIFIER_ERROR
from anchor.verifier.signature import DID_UNRESOLVED
from anchor.verifier.stacks import StackVerification, verify_if_stack

#: Largest request body accepted, in bytes (the same 1 MiB as a receipt file).
#: A request body holds one receipt: at most as large as a credential may be.
MAX_BODY_BYTES = MAX_CREDENTIAL_BYTES
#: What the page may load: only this origin; no inline scripts; styles from files only.
PAGE_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "form-action 'none'; base-uri 'none'; frame-ancestors 'none'"
)
#: Seconds a request waits beyond its verification's deadline for the result (its RPC requests end at the
#: deadline; what is left is the work after them) before it is answered 504.
_DEADLINE_GRACE = 1.0

#: How long a client may keep one of anchor's JSON-LD contexts (a context URL names one version, never edited).
CONTEXT_CACHE_CONTROL = "public, max-age=86400"

_STATIC = resources.files("anchor.web").joinpath("static")
_EXAMPLE = {
    "@context": ["https://www.w3.org/ns/credentials/v2", "..."],
    "type": ["VerifiableCredential", "OpenBadgeCredential"],
    "issuer": {"id": "did:web:credentials.example", "name": "..."},
    "credentialSubject": {"...": "..."},
    "anchorSalt": "0x...",
    "anchorFormat": "anchor-credential-v1",
    "proof": {"type": "AnchorMerkleProof", "format": "anchor-receipt-v1", "chainId": 137, "...": "..."},
}


@dataclass
class WebConfig:
    """What the app verifies against."""

    rpc_urls: Sequence[str]
    trusted: Sequence[TrustedRegistry | str]
    timeout: float = 10.0
    """Seconds one RPC request may take."""
    max_body_bytes: int = MAX_BODY_BYTES
    max_image_bytes: int = MAX_BADGE_BYTES
    """Largest baked badge image (PNG or SVG) a request may carry."""
    extra_headers: dict[str, str] = field(default_factory=dict)
    deadline: float = 30.0
    """Seconds one verification may take, from the end of its request's body: its RPC requests end then."""
    workers: int = 4
    """Verifications run at once, each in a thread of the app's own pool."""
    queue: int = 64
    """Verifications that may wait for a worker; a request beyond ``workers + queue`` is answered 503 at once."""
    dids: ResolverSetup = field(default_factory=ResolverSetup)
    """How issuers' DIDs are resolved: the DID documents of the server's configuration, cache, CA bundle (never
    documents from a request)."""


class ApiError(InvalidInputError):
    """A request the API refuses or cannot answer: an error status with a code, a message and maybe headers."""

    def __init__(self, status: int, code: str, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers or {}


def _error(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status, headers=headers)


#: Most ``require`` query parameters of one request, and the longest: paths of a credential, not a payload.
_MAX_REQUIRE, _MAX_REQUIRE_PATH = 64, 300


def _verify_by(
    verifier: Verifier, body: bytes, deadline: float, require: list[str] | None = None
) -> Verification | StackVerification | None:
    """Verify ``body`` unless ``deadline`` passed while it waited for a worker (None: its request was answered)."""
    if time.monotonic() >= deadline:
        return None
    stack = verify_if_stack(verifier, body, deadline=deadline)  # a stack bundle (anchor stack) is verified whole
    if stack is not None:
        return stack
    return verifier.verify(body, deadline=deadline, require=require)


def create_app(config: WebConfig) -> FastAPI:
    """The ASGI app; one :class:`~anchor.verifier.Verifier` serves every request (thread-safe)."""
    if config.workers < 1 or config.queue < 0 or config.deadline <= 0:
        raise InvalidInputError(
            f"the web API needs at least one worker, a queue of 0 or more and a positive deadline, "
            f"not workers={config.workers}, queue={config.queue}, deadline={config.deadline}"
        )
    state: dict[str, Verifier] = {}
    # the verification pool, and a slot for each verification running or waiting for a worker
    pool: list[ThreadPoolExecutor] = []
    slots = threading.BoundedSemaphore(config.workers + config.queue)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        state["verifier"] = Verifier(config.rpc_urls, config.trusted, timeout=config.timeout, dids=config.dids)
        pool.append(ThreadPoolExecutor(config.workers, "verify"))
        try:
            yield
        finally:
            pool.pop().shutdown(wait=False, cancel_futures=True)
            state.pop("verifier").close()

    app = FastAPIOffline(
        title="anchor verifier",
        version=__version__,
        description=(
            "Verifies EU micro-credential receipts anchored on an EVM chain: integrity, anchoring by the "
            "credential's issuer in a trusted registry at the finalized block, revocation and validity."
        ),
        redoc_url=None,
        static_url="/docs-assets",
        favicon_url="/static/favicon.svg",
        swagger_ui_parameters={"validatorUrl": None, "defaultModelsExpandDepth": 0},
        lifespan=lifespan,
    )

    @app.exception_handler(ApiError)
    async def api_error(_: Request, error: ApiError) -> JSONResponse:
        return _error(error.status, error.code, error.message, error.headers)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_: Request, error: StarletteHTTPException) -> JSONResponse:
        code = {404: "not-found", 405: "method-not-allowed"}.get(error.status_code, "http-error")
        return _error(error.status_code, code, str(error.detail))

    @app.exception_handler(RequestValidationError)
    async def validation_error(_: Request, error: RequestValidationError) -> JSONResponse:
        return _error(422, "invalid-request", str(error.errors()[:3]))

    @app.middleware("http")
    async def headers(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        response = await call_next(request)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "no-referrer")
        if not request.url.path.startswith(("/docs", "/openapi")):
            response.headers.setdefault("Content-Security-Policy", PAGE_POLICY)
        for name, value in config.extra_headers.items():
            response.headers[name] = value
        return response

    @app.post(
        "/verify",
        summary="Verify a receipt",
        response_description="The checks in order, the verdict and the on-chain evidence",
        responses={
            200: {"description": "Verified: the verdict is VALID or INVALID"},
            400: {"description": "The body is not strict JSON (the result's receipt check says why)"},
            413: {"description": f"The body is larger than {MAX_BODY_BYTES} bytes (a badge image: {MAX_BADGE_BYTES})"},
            415: {
                "description": "The body is not sent as application/json, image/png or image/svg+xml (a baked "
                "badge), or is not the image it is sent as"
            },
            422: {
                "description": "JSON, but not a usable receipt (the result names the failing check), or the "
                "verifier failed on it (code verifier-error)"
            },
            502: {
                "description": "An RPC endpoint, or the issuer's did:web document, could not be had, or not in time "
                "(the result says which; code rpc-unreachable or did-unresolved)"
            },
            503: {"description": "As many verifications as the server takes are running or waiting: retry later"},
            504: {"description": "The verification did not finish within the server's deadline"},
        },
        openapi_extra={
            "parameters": [
                {
                    "name": "require",
                    "in": "query",
                    "required": False,
                    "description": "For a presentation (anchor present): a field that must be disclosed, dotted or a "
                    "JSON Pointer (repeatable). Default: the Annex I mandatory elements other than the learner's "
                    "identifiers; the format, the issuer's id, name and country and the validity dates always.",
                    "schema": {"type": "array", "items": {"type": "string", "maxLength": 300}, "maxItems": 64},
                    "style": "form",
                    "explode": True,
                }
            ],
            "requestBody": {
                "required": True,
                "description": "A receipt: the credential with its AnchorMerkleProof, as issued (anchor-receipt-v1), "
                "or a presentation of one with some claims withheld (anchor-presentation-v1)",
                "content": {
                    "application/json": {"schema": {"type": "object"}, "example": _EXAMPLE},
                    "image/png": {"schema": {"type": "string", "format": "binary"}},
                    "image/svg+xml": {"schema": {"type": "string", "format": "binary"}},
                },
            },
        },
    )
    async def verify_receipt(request: Request) -> JSONResponse:
        """Run every check on the receipt in the body and return the result (verdict, checks, evidence)."""
        body = await _read_body(request, config.max_body_bytes, config.max_image_bytes)
        require = request.query_params.getlist("require")  # for a presentation: the fields it must disclose
        if len(require) > _MAX_REQUIRE or any(len(path) > _MAX_REQUIRE_PATH for path in require):
            raise ApiError(
                400, "bad-require", f"at most {_MAX_REQUIRE} require paths of {_MAX_REQUIRE_PATH} characters"
            )
        deadline = time.monotonic() + config.deadline
        result = await _bounded(body, deadline, require or None)
        document = result.to_json()
        receipt = result.checks[0]  # the input is usable: a receipt's "receipt" check, a stack's "bundle" check
        if receipt.state is CheckState.FAILED:
            status = 400 if receipt.code == "unreadable" else 422
            document["error"] = {"code": receipt.code, "message": receipt.reason}
            return JSONResponse(document, status_code=status)
        if result.status == VERIFIER_ERROR:
            document["error"] = {"code": "verifier-error", "message": result.summary}
            return JSONResponse(document, status_code=422)
        if result.verdict is Verdict.ERROR:
            unresolved = any(check.code == DID_UNRESOLVED for check in result.checks)
            code = "did-unresolved" if unresolved and result.status != "RPC UNREACHABLE" else "rpc-unreachable"
            document["error"] = {"code": code, "message": result.summary}
            return JSONResponse(document, status_code=502)
        return JSONResponse(document)

    async def _bounded(
        body: bytes, deadline: float, require: list[str] | None = None
    ) -> Verification | StackVerification:
        """``body`` verified in the pool if a slot is free (else 503), awaited until shortly after ``deadline``."""
        if not slots.acquire(blocking=False):
            raise ApiError(
                503,
                "busy",
                f"{config.workers + config.queue} verifications are running or waiting; try again in a moment",
                {"Retry-After": "1"},
            )
        try:
            future: Future[Verification | StackVerification | None] = pool[0].submit(
                _verify_by, state["verifier"], body, deadline, require
            )
        except BaseException:
            slots.release()
            raise
        future.add_done_callback(lambda _: slots.release())  # when the work ends, not when the request does
        try:
            result = await asyncio.wait_for(asyncio.wrap_future(future), deadline - time.monotonic() + _DEADLINE_GRACE)
        except TimeoutError:
            result = None
        if result is None:
            raise ApiError(
                504, "verification-timeout", f"the verification did not finish within {config.deadline:g} seconds"
            )
        return result

    @app.get("/health", summary="Liveness and the endpoints' chains")
    async def health() -> JSONResponse:
        """``ok`` when every RPC endpoint answers ``eth_chainId``; the trusted registries."""
        verifier = state["verifier"]
        endpoints: list[dict[str, Any]] = []
        for endpoint in verifier.endpoints:
            try:
                # once known, the chain id is answered without a thread: /health stays quick under load
                chain_id = endpoint.known_chain_id or await run_in_threadpool(endpoint.chain_id)
                endpoints.append({"url": endpoint.shown_url, "chainId": chain_id})
            except Exception as error:  # an endpoint's failure, whatever it is, is reported, never a 500
                endpoints.append({"url": endpoint.shown_url, "error": str(error) or type(error).__name__})
        healthy = all("chainId" in item for item in endpoints)
        document = {
            "status": "ok" if healthy else "degraded",
            "version": __version__,
            "endpoints": endpoints,
            "trustedRegistries": [
                {"address": item.address, "chainId": item.chain_id, "source": item.source} for item in verifier.trusted
            ],
            "didDocuments": [document.did for document in config.dids.documents],
        }
        return JSONResponse(document, status_code=200 if healthy else 503)

    @app.get("/", include_in_schema=False)
    async def page() -> FileResponse:
        with resources.as_file(_STATIC.joinpath("index.html")) as path:
            return FileResponse(path, media_type="text/html; charset=utf-8")

    for path, content in _extension_contexts().items():
        app.add_api_route(path, _context_endpoint(content), methods=["GET"], include_in_schema=False)

    with resources.as_file(_STATIC) as folder:
        app.mount("/static", StaticFiles(directory=folder), name="static")
    return app


def _extension_contexts() -> dict[str, bytes]:
    """anchor's own JSON-LD contexts, as shipped, by the path of their URL (``/anchor/contexts/...``)."""
    root = resources.files("anchor.contexts")
    return {urlsplit(url).path: root.joinpath(name).read_bytes() for url, name in EXTENSION_CONTEXTS.items()}


def _context_endpoint(content: bytes) -> Callable[[Request], Awaitable[Response]]:
    """A handler answering ``content`` as ``application/ld+json``: cacheable, readable from any origin (JSON-LD
    processors in browsers fetch contexts across origins), 304 to a request that already holds it."""
    etag = f'"{hashlib.sha256(content).hexdigest()[:32]}"'
    headers = {"Cache-Control": CONTEXT_CACHE_CONTROL, "ETag": etag, "Access-Control-Allow-Origin": "*"}

    async def context(request: Request) -> Response:
        held = [tag.strip() for tag in request.headers.get("if-none-match", "").split(",")]
        if etag in held or f"W/{etag}" in held:
            return Response(status_code=304, headers=headers)
        return Response(content, media_type="application/ld+json", headers=headers)

    return context


async def _read_body(request: Request, limit: int, image_limit: int = MAX_BADGE_BYTES) -> bytes:
    """The request body, refused early when it is not JSON content or is larger than ``limit``; a baked badge
    (``image/png``, ``image/svg+xml``) may be up to ``image_limit`` and must be the image it says it is."""
    kind = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    image = _BADGE_TYPES.get(kind)
    if image is not None:
        body = await _read_body_bytes(request, image_limit)
        if badge_kind(body) != image:
            raise ApiError(415, "unsupported-media-type", f"the body is not the {kind} image it is sent as")
        return body
    if kind != "application/json" and not kind.endswith("+json"):
        raise ApiError(
            415,
            "unsupported-media-type",
            "send the receipt as application/json, or a baked badge as image/png or image/svg+xml",
        )
    return await _read_body_bytes(request, limit)


#: The media types of baked badges the API accepts, and the kind of image each must be.
_BADGE_TYPES: dict[str, BadgeKind] = {"image/png": "png", "image/svg+xml": "svg"}


async def _read_body_bytes(request: Request, limit: int) -> bytes:
    """The request body, refused early when it is larger than ``limit``."""
    length = request.headers.get("content-length")
    if length is not None:
        if not length.isdigit():
            raise ApiError(400, "bad-content-length", "the Content-Length header is not a number")
        if int(length) > limit:
            raise ApiError(413, "payload-too-large", f"the body is {length} bytes; the limit is {limit}")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise ApiError(413, "payload-too-large", f"the body is larger than the limit of {limit} bytes")
        chunks.append(chunk)
    if size == 0:
        raise ApiError(400, "empty-body", "the body is empty: send a receipt")
    return b"".join(chunks)
