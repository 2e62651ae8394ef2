"""The Flask application factory.

``create_app`` only wires: settings, state, blueprints, error handlers, CLI.
"""

from __future__ import annotations

import secrets
from pathlib import Path

from flask import Flask
from flask.cli import FlaskGroup

from locator import settings
from locator.imports import gdal_guard

ROOT = Path(__file__).resolve().parent.parent


def create_app(test_config: dict | None = None) -> Flask:
    """Build the Flask app; ``test_config`` overrides settings (by name, without prefix)."""
    from locator.web import state as state_module

    resolved = settings.load(overrides=test_config)
    instance_path = resolved["INSTANCE_PATH"] or None
    app = Flask(
        "locator",
        instance_path=str(Path(instance_path).resolve()) if instance_path else None,
        instance_relative_config=True,
        template_folder=str(ROOT / "templates"),
        static_folder=None,  # served by locator.web.assets (gzipped once, from memory)
    )
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    app.config.update(resolved)
    app.config["SECRET_KEY"] = resolved["SECRET_KEY"] or _instance_secret(app.instance_path)
    app.config["DATABASE_URL"] = resolved["DATABASE_URL"] or (
        "sqlite:///" + str(Path(app.instance_path) / "locator.sqlite3")
    )
    app.config["GEODATA_DIR"] = resolved["GEODATA_DIR"] or str(ROOT / "geodata")
    app.json = state_module.SafeJSONProvider(app)  # UTF-8, and no raw < > & in any JSON

    app.config.update(
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=resolved["SECURE_COOKIES"],
        REMEMBER_COOKIE_SECURE=resolved["SECURE_COOKIES"],
        PERMANENT_SESSION_LIFETIME=8 * 3600,
        MAX_CONTENT_LENGTH=20 * 1024 * 1024,
        COMPRESS_STREAMS=False,  # static files are gzipped once by locator.web.assets
        COMPRESS_ALGORITHM=["gzip"],  # fast and understood by every phone browser
        COMPRESS_LEVEL=5,
        COMPRESS_MIMETYPES=["text/html", "text/css", "application/javascript",
                            "application/json", "application/geo+json"],
    )
    app.config.update({k: v for k, v in (test_config or {}).items() if k not in resolved})

    from flask_compress import Compress
    from flask_wtf.csrf import CSRFProtect

    from locator import cli
    from locator.coverage import cli as coverage_cli
    from locator.coverage import demand_web
    from locator.coverage import web as coverage_web
    from locator.editing import web as editing_web
    from locator.exports import cli as exports_cli
    from locator.imports import cli as imports_cli
    from locator.imports import web as imports_web
    from locator.sites import api, pages
    from locator.web import assets, errors, headers, i18n, requestlog, staff, state

    if resolved["TRUSTED_PROXIES"]:
        from werkzeug.middleware.proxy_fix import ProxyFix

        hops = resolved["TRUSTED_PROXIES"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)
    app.session_interface = state.ApiAwareSessionInterface()
    # Startup self-checks: fail closed if GDAL offers other drivers, or XLSX would be
    # parsed without defusedxml.
    gdal_guard.check()
    from locator.imports.readers import assert_defusedxml

    assert_defusedxml()
    requestlog.init_app(app)  # first: its clock starts before any other hook runs
    CSRFProtect(app)
    Compress(app)
    # The cross-cutting parts first (state, errors, languages, assets, sign-in), then each
    # feature's faces: its blueprints and its commands.
    for part in (state, headers, errors, i18n, assets, staff,
                 pages, api, imports_web, editing_web, coverage_web, demand_web,
                 cli, imports_cli, exports_cli, coverage_cli):
        part.init_app(app)
    return app


def _instance_secret(instance_path: str) -> str:
    """A random key made once and kept (mode 600) in the instance folder."""
    path = Path(instance_path) / "secret_key"
    if not path.exists():
        path.touch(mode=0o600)
        path.write_text(secrets.token_hex(32))
    return path.read_text().strip()


def main() -> None:
    """The ``locator`` command: the Flask CLI group with this factory (commands: locator.cli)."""
    import copy

    from flask.cli import routes_command, run_command, shell_command

    group = FlaskGroup(create_app=create_app, add_default_commands=False,
                       help="驿站地图 — the Hebei union station locator.")
    dev = copy.copy(run_command)  # Flask's, with a help that says what it is for
    dev.help = ("Development server only (Werkzeug; one process, reloader and debugger "
                "with --debug). Servers run `locator serve`.")
    dev.short_help = "Development server only; servers run `locator serve`."
    for name, command in (("run", dev), ("shell", shell_command), ("routes", routes_command)):
        group.add_command(command, name)
    group()
