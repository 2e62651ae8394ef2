"""Languages: Simplified Chinese by default, English by choice (a cookie set by /lang/en)."""

from __future__ import annotations

from flask import Flask, request, url_for
from flask_babel import Babel, gettext

from locator.vocabulary import SERVICE_TERMS, by_code
from locator.web.redirects import redirect_to_next

LANGUAGES = ("zh", "en")
SERVICES_BY_CODE = by_code(SERVICE_TERMS)
COOKIE = "lang"


def dynamic_messages() -> tuple[str, ...]:
    """Strings that reach ``gettext`` through a variable, so extraction cannot see them:
    service labels, export format labels, navigation-app names and the error pages'
    messages. A test keeps each
    of them in the English catalogue."""
    from locator.exports.registry import LABEL_MESSAGES
    from locator.vocabulary import SERVICE_TERMS
    from locator.web.errors import DOWN_MESSAGE, HTTP_MESSAGES

    return (tuple(t.zh for t in SERVICE_TERMS) + tuple(LABEL_MESSAGES)
            + ("高德地图", "百度地图", "腾讯地图", "Apple 地图")
            + tuple(message for _code, message in HTTP_MESSAGES.values()) + (DOWN_MESSAGE,))


def select_locale() -> str:
    lang = request.args.get("lang") or request.cookies.get(COOKIE)
    return lang if lang in LANGUAGES else "zh"


def service_label(code: str) -> str:
    """The service's label in the current language."""
    return gettext(SERVICES_BY_CODE[code].zh)


def service_icon(code: str) -> str:
    return SERVICES_BY_CODE[code].icon


def init_app(app: Flask) -> None:
    app.config.setdefault("BABEL_DEFAULT_LOCALE", "zh")
    app.config.setdefault("BABEL_TRANSLATION_DIRECTORIES", str(app.root_path + "/translations"))
    Babel(app, locale_selector=select_locale)
    # ``_()`` in a template is Jinja's new-style gettext: it marks the result safe and
    # %-formats it, so it is for literal messages only. Text held in a variable is
    # translated with this filter instead, which returns plain (escaped) text.
    app.jinja_env.filters["translated"] = lambda text: str(gettext(str(text)))

    @app.get("/lang/<any(zh, en):lang>")
    def set_language(lang: str):
        """Remember the language for a year and go back to the page the user was on."""
        response = redirect_to_next(request.args.get("next"), url_for("pages.index"))
        response.set_cookie(COOKIE, lang, max_age=365 * 24 * 3600, samesite="Lax")
        return response

    @app.context_processor
    def language():
        from locator.geo.hours import TZ

        return {"lang": select_locale(), "service_label": service_label,
                "service_icon": service_icon, "tz": TZ}
