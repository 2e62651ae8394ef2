"""Security headers on every response, set in this one place (an ``after_request``).

The Content-Security-Policy allows scripts only from our origin or with this request's
nonce (``nonce="{{ csp_nonce() }}"`` in templates; the folium shell's inline elements get
it in :func:`locator.web.shell.map_shell`); styles likewise; images from our origin,
``data:``/``blob:`` and the configured basemap's tile servers; nothing may frame a page.
"""

from __future__ import annotations

import secrets

from flask import Flask, Response, g

__all__ = ["PERMISSIONS_POLICY", "content_security_policy", "csp_nonce", "init_app"]

#: Geolocation for our own pages (the courier's ◎ 定位); nothing else.
PERMISSIONS_POLICY = ", ".join(
    f"{feature}=()" if feature != "geolocation" else "geolocation=(self)"
    for feature in ("geolocation", "camera", "microphone", "payment", "usb", "serial", "hid",
                    "midi", "magnetometer", "gyroscope", "accelerometer", "display-capture",
                    "screen-wake-lock"))
HSTS = "max-age=31536000"  # one year; no includeSubDomains: the union's other hosts are not ours


def csp_nonce() -> str:
    """This request's script/style nonce (made on first use)."""
    nonce = g.get("csp_nonce")
    if nonce is None:
        nonce = g.csp_nonce = secrets.token_urlsafe(18)
    return nonce


def content_security_policy(tile_origins: tuple[str, ...], nonce: str | None) -> str:
    """The policy for one response: ``nonce`` (when the page made one) joins ``'self'`` for
    scripts and styles; ``tile_origins`` join ``'self' data: blob:`` for images."""
    own = f"'self' 'nonce-{nonce}'" if nonce else "'self'"
    return "; ".join((
        "default-src 'self'",
        f"script-src {own}",
        f"style-src {own}",
        " ".join(("img-src 'self' data: blob:", *tile_origins)),
        "connect-src 'self'",
        "font-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ))


def init_app(app: Flask) -> None:
    tiles = app.extensions["locator"].basemap.origins
    fixed = {
        "X-Frame-Options": "DENY",
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "strict-origin-when-cross-origin",  # OSM tiles want a referrer
        "Permissions-Policy": PERMISSIONS_POLICY,
        "Cross-Origin-Opener-Policy": "same-origin",
    }
    if app.config["SECURE_COOKIES"]:  # served over https: browsers may insist on it
        fixed["Strict-Transport-Security"] = HSTS
    without_nonce = content_security_policy(tiles, None)
    app.jinja_env.globals["csp_nonce"] = csp_nonce

    @app.after_request
    def security_headers(response: Response) -> Response:
        headers = response.headers
        nonce = g.get("csp_nonce")
        headers["Content-Security-Policy"] = (
            content_security_policy(tiles, nonce) if nonce else without_nonce)
        for name, value in fixed.items():
            headers[name] = value
        return response
