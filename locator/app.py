"""The Flask application factory.

``create_app`` only wires: settings, state, blueprints, error handlers, CLI.
"""

from __future__ import annotations

import secrets
from pathlib import Path

from flask import Flask
from flask.cli import FlaskGroup, ScriptInfo

from locator import settings
from locator.errors import StartupRefused
from locator.imports import gdal_guard

ROOT = Path(__file__).resolve().parent.parent


def create_app(test_config: dict | None = None) -> Flask:
    """Build the Flask app; ``test_config`` overrides settings (by name, without prefix).

    Raises :class:`~locator.errors.StartupRefused` (one line) for a setting the app cannot
    work with or a safeguard that is not in force.
    """
    try:
        resolved = settings.load(overrides=test_config)
        settings.check(resolved)
    except settings.SettingError as e:
        raise StartupRefused(str(e)) from None
    app = _flask(resolved)
    _configure(app, resolved, test_config)

    from flask_compress import Compress
    from flask_wtf.csrf import CSRFProtect

    from locator.coverage import demand_web
    from locator.coverage import web as coverage_web
    from locator.editing import web as editing_web
    from locator.imports import web as imports_web
    from locator.ogc import web as ogc_web
    from locator.sites import api, pages
    from locator.web import assets, errors, headers, i18n, requestlog, staff, state

    if resolved["TRUSTED_PROXIES"]:
        from werkzeug.middleware.proxy_fix import ProxyFix

        hops = resolved["TRUSTED_PROXIES"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)
    app.session_interface = state.ApiAwareSessionInterface()
    _safeguards()
    requestlog.init_app(app)  # first: its clock starts before any other hook runs
    CSRFProtect(app)
    Compress(app)
    # The cross-cutting parts first (state, errors, languages, assets, sign-in), then each
    # feature's faces: its blueprints and its commands.
    from locator.sites.maps import ConfigError

    try:
        for part in (state, headers, errors, i18n, assets, staff,
                     pages, api, imports_web, editing_web, coverage_web, demand_web, ogc_web,
                     *_command_parts()):
            part.init_app(app)
    except ConfigError as e:  # the basemap's settings: a key or a URL missing or unusable
        raise StartupRefused(e.message) from None
    return app


def _flask(resolved: dict) -> Flask:
    """The bare Flask object: our templates, no static folder (locator.web.assets serves
    those, gzipped once, from memory), the instance folder made."""
    instance_path = resolved["INSTANCE_PATH"] or None
    app = Flask(
        "locator",
        instance_path=str(Path(instance_path).resolve()) if instance_path else None,
        instance_relative_config=True,
        template_folder=str(ROOT / "templates"),
        static_folder=None,
    )
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    return app


def _configure(app: Flask, resolved: dict, test_config: dict | None) -> None:
    """Flask's config from the resolved settings: the secret key (made once and kept when
    not set), the database URL, cookies, limits and compression."""
    from locator.web.state import SafeJSONProvider

    app.config.update(resolved)
    app.config["SECRET_KEY"] = resolved["SECRET_KEY"] or _instance_secret(app.instance_path)
    app.config["DATABASE_URL"] = resolved["DATABASE_URL"] or (
        "sqlite:///" + str(Path(app.instance_path) / "locator.sqlite3")
    )
    app.config["GEODATA_DIR"] = resolved["GEODATA_DIR"] or str(ROOT / "geodata")
    app.json = SafeJSONProvider(app)  # UTF-8, and no raw < > & in any JSON
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


def _safeguards() -> None:
    """Fail closed if GDAL offers drivers beyond the allowlist, or XLSX would be parsed
    without defusedxml."""
    from locator.imports.readers import assert_defusedxml

    try:
        gdal_guard.check()
        assert_defusedxml()
    except RuntimeError as e:  # GdalGuardError is one
        raise StartupRefused(f"安全检查未通过 safeguard not in force: {e}") from e


def _instance_secret(instance_path: str) -> str:
    """A random key made once and kept (mode 600) in the instance folder."""
    path = Path(instance_path) / "secret_key"
    if not path.exists():
        path.touch(mode=0o600)
        path.write_text(secrets.token_hex(32))
    return path.read_text().strip()


def _command_parts() -> tuple:
    """The parts whose ``init_app`` registers commands (and does nothing else)."""
    from locator import cli
    from locator.coverage import cli as coverage_cli
    from locator.exports import cli as exports_cli
    from locator.imports import cli as imports_cli

    return cli, imports_cli, exports_cli, coverage_cli


def _app_for_commands() -> Flask:
    """The factory the commands use: a refusal to start is one line (``Error: …``, exit
    status 1), not a traceback."""
    import click

    try:
        return create_app()
    except StartupRefused as e:
        raise click.ClickException(str(e)) from None


class _Commands:
    """What a part's ``init_app`` needs to register its commands: a ``cli`` group. The
    commands are registered on ``locator`` itself too, so that help works without an app
    (with settings it refuses, say)."""

    def __init__(self, group):
        self.cli = group


def main() -> None:
    """The ``locator`` command."""
    cli_group()()


def cli_group():
    """The ``locator`` command group: Flask's CLI with this factory, every part's commands
    (``locator.cli`` and the features' ``cli.py``), and Flask's ``run`` as the development
    server that checks the database first."""
    import copy

    import click
    from flask.cli import routes_command, run_command, shell_command

    from locator import cli

    class Locator(FlaskGroup):
        def list_commands(self, ctx):  # every command is registered below: no app needed
            return sorted(click.Group.list_commands(self, ctx))

    group = Locator(create_app=_app_for_commands, add_default_commands=False,
                    help="驿站地图 — the Hebei union station locator.")
    dev = copy.copy(run_command)  # Flask's, with a help that says what it is for
    dev.help = ("Development server only (Werkzeug; one process, reloader and debugger "
                "with --debug). Servers run `locator serve`.")
    dev.short_help = "Development server only; servers run `locator serve`."

    def checked_run(**options):
        cli.ready_to_serve(click.get_current_context().ensure_object(ScriptInfo).load_app())
        return click.get_current_context().invoke(run_command.callback, **options)

    dev.callback = checked_run
    for name, command in (("run", dev), ("shell", shell_command), ("routes", routes_command)):
        group.add_command(command, name)
    for part in _command_parts():
        part.init_app(_Commands(group))
    return group
