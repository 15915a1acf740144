"""Who may talk to the UI: loopback by default, a token otherwise, and no cross-site writes.

Why these rules: the UI starts jobs and moves files, so a page on another site must not be able
to drive it (CSRF), and a UI bound to a public address must not be open to anyone who finds the
port. Like Jupyter, a random token is printed at start; the first visit with ``?token=...`` sets
an HttpOnly cookie so later requests need not carry it in the URL.
"""
from __future__ import annotations

import hmac
import ipaddress
import secrets
from urllib.parse import urlsplit

from starlette.middleware.base import BaseHTTPMiddleware
from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response

from ..errors import TwofaceError

COOKIE = "twoface_token"
HEADER = "x-twoface-token"
SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}


def is_loopback(host: str) -> bool:
    if host in ("localhost", ""):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def new_token() -> str:
    return secrets.token_urlsafe(24)


def check_binding(host: str, token: str | None) -> None:
    """Refuse to serve a non-loopback address without a token."""
    if not is_loopback(host) and not token:
        raise TwofaceError(f"--host {host} is not a loopback address: the UI needs a token there "
                           "(one is generated unless --no-token is given); refusing to start")


def _same(a: str | None, b: str | None) -> bool:
    return bool(a) and bool(b) and hmac.compare_digest(str(a), str(b))


class Guard(BaseHTTPMiddleware):
    """Token check (when a token is set) on every request; token-or-same-origin on writes."""

    def __init__(self, app, token: str | None, csrf: str):
        super().__init__(app)
        self.token = token
        self.csrf = csrf

    async def dispatch(self, request: Request, call_next) -> Response:
        if self.token:
            given = request.query_params.get("token")
            if _same(given, self.token) and request.method in SAFE_METHODS:
                # drop the token from the address bar; the cookie carries it from now on
                url = request.url.remove_query_params("token")
                resp = RedirectResponse(str(url), status_code=303)
                resp.set_cookie(COOKIE, self.token, httponly=True, samesite="strict")
                return resp
            presented = request.cookies.get(COOKIE) or request.headers.get(HEADER) or given
            auth = request.headers.get("authorization", "")
            if auth.lower().startswith("bearer "):
                presented = auth[7:].strip()
            if not _same(presented, self.token):
                return PlainTextResponse("twoface ui: a token is required (open the URL printed at start)",
                                         status_code=401)
        if request.method not in SAFE_METHODS and not self._write_allowed(request):
            return PlainTextResponse("twoface ui: cross-origin write refused", status_code=403)
        return await call_next(request)

    def _write_allowed(self, request: Request) -> bool:
        if _same(request.headers.get(HEADER), self.csrf) or (self.token and _same(request.headers.get(HEADER), self.token)):
            return True
        origin = request.headers.get("origin") or request.headers.get("referer")
        host = request.headers.get("host")
        if not origin or not host:
            return False
        return urlsplit(origin).netloc == host
