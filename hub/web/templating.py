"""Jinja2 environments, one per locale (each with its catalogue installed), built once
per app and kept on the app's state, never in a module global."""

from __future__ import annotations

from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from hub.web import i18n


def _environment(locale: str, translations: i18n.NullTranslations) -> Environment:
    env = Environment(
        loader=PackageLoader("hub.web", "templates"),
        autoescape=select_autoescape(["html"]),
        extensions=["jinja2.ext.i18n"],
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.install_gettext_translations(translations, newstyle=True)  # type: ignore[attr-defined]
    formats = i18n.Formats(locale)
    env.filters.update(
        date=formats.date, datetime=formats.datetime, money=formats.money, number=formats.number
    )
    env.globals["locale"] = locale
    return env


class Templates:
    def __init__(self) -> None:
        self.translations = {locale: i18n.load(locale) for locale in i18n.LOCALES}
        self.environments = {
            locale: _environment(locale, self.translations[locale]) for locale in i18n.LOCALES
        }

    def render(self, locale: str, name: str, context: dict[str, Any]) -> str:
        return self.environments[locale].get_template(name).render(context)

    def gettext(self, locale: str, message: str) -> str:
        return self.translations[locale].gettext(message)
