"""The verification HTTP API and page (``anchor serve``); see :mod:`anchor.web.app`."""

from anchor.web.app import MAX_BODY_BYTES, WebConfig, create_app

__all__ = ["MAX_BODY_BYTES", "WebConfig", "create_app"]
