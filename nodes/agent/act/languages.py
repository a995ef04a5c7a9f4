"""The names a language goes by on language switchers.

Switchers label languages by their own name ("Deutsch"), an English name
("German") or a code ("DE", hreflang="de"); a user may write any of them.
"""

from __future__ import annotations

from dataclasses import dataclass

# code -> names, English first, then the language's own names.
_LANGUAGES: dict[str, tuple[str, ...]] = {
    "en": ("English", "Eng"),
    "ru": ("Russian", "Русский", "Рус"),
    "uk": ("Ukrainian", "Українська", "Укр"),
    "be": ("Belarusian", "Беларуская"),
    "kk": ("Kazakh", "Қазақша", "Қазақ тілі"),
    "de": ("German", "Deutsch"),
    "fr": ("French", "Français", "Francais"),
    "es": ("Spanish", "Español", "Espanol"),
    "it": ("Italian", "Italiano"),
    "pt": ("Portuguese", "Português", "Portugues"),
    "nl": ("Dutch", "Nederlands"),
    "pl": ("Polish", "Polski"),
    "cs": ("Czech", "Čeština", "Cestina"),
    "tr": ("Turkish", "Türkçe", "Turkce"),
    "sv": ("Swedish", "Svenska"),
    "fi": ("Finnish", "Suomi"),
    "da": ("Danish", "Dansk"),
    "no": ("Norwegian", "Norsk"),
    "el": ("Greek", "Ελληνικά"),
    "he": ("Hebrew", "עברית"),
    "ar": ("Arabic", "العربية"),
    "hi": ("Hindi", "हिन्दी"),
    "zh": ("Chinese", "中文", "简体中文", "繁體中文"),
    "ja": ("Japanese", "日本語"),
    "ko": ("Korean", "한국어"),
    "vi": ("Vietnamese", "Tiếng Việt"),
    "id": ("Indonesian", "Bahasa Indonesia"),
}


@dataclass(frozen=True)
class Language:
    code: str | None  # None when the user named a language we do not know
    names: tuple[str, ...]  # every name to look for, the user's own spelling first


def lookup_language(name: str) -> Language:
    wanted = name.strip()
    key = wanted.casefold()
    for code, names in _LANGUAGES.items():
        if key == code or any(key == n.casefold() for n in names):
            ordered = (wanted, *(n for n in names if n.casefold() != key))
            return Language(code=code, names=ordered)
    return Language(code=None, names=(wanted,))


def is_known_language(name: str) -> bool:
    return lookup_language(name).code is not None
