"""Recognising the URLs a user writes: full http(s) URLs or bare host names."""

from __future__ import annotations

import re
from functools import cache
from importlib import resources
from urllib.parse import quote_plus

_FULL = re.compile(r"https?://[^\s/?#]+\S*", re.IGNORECASE)
# A bare host needs a dotted name with an alphabetic TLD (so "1.5" or "e.g" are
# not hosts), an IPv4 address or localhost; a port and path may follow.
_BARE = re.compile(
    r"(?P<host>localhost|\d{1,3}(?:\.\d{1,3}){3}"
    r"|(?:[^\W_](?:[\w-]*[^\W_])?\.)+(?:[^\W\d_]{2,}|xn--[\w-]+))"
    r"(?::\d{1,5})?(?:[/?#]\S*)?",
    re.IGNORECASE,
)
_LOCAL_HOST = re.compile(r"localhost|\d{1,3}(?:\.\d{1,3}){3}", re.IGNORECASE)
_TRAILING = ".,;:!?'\"»”’"
_PAIRS = {")": "(", "]": "[", "}": "{", ">": "<"}


def _strip_trailing(url: str) -> str:
    # Sentence punctuation and closing brackets often stick to a URL; a closing
    # bracket is kept when the URL itself opened it (e.g. wiki links).
    while url:
        last = url[-1]
        if last in _TRAILING:
            url = url[:-1]
        elif last in _PAIRS and url.count(_PAIRS[last]) < url.count(last):
            url = url[:-1]
        else:
            break
    return url


# Names reserved for tests, documentation and private networks (RFC 2606, 6761, 6762,
# 8375 and common intranet use): not in the root zone, but an operator's allowed sites
# and test pages use them ("shop.test", "wiki.corp", "printer.local").
_SPECIAL_TLDS = frozenset(
    "test example invalid localhost local internal lan home corp intranet private onion".split()
)


@cache
def known_tlds() -> frozenset[str]:
    """The root zone's top-level domains (tlds.txt) and the special-use names."""
    text = (resources.files("nodes.agent.rules") / "tlds.txt").read_text(encoding="ascii")
    listed = (line.strip() for line in text.splitlines())
    return frozenset(t for t in listed if t and not t.startswith("#")) | _SPECIAL_TLDS


def _known_host(host: str) -> bool:
    """A bare host that names a site: an address, localhost, or a name whose last label
    is a top-level domain ("example.org", not "json.loads" or "numpy.sum")."""
    if _LOCAL_HOST.fullmatch(host):
        return True
    tld = host.rsplit(".", 1)[-1].lower()
    if not tld.isascii():  # "例え.テスト": the list has the xn-- form
        try:
            tld = tld.encode("idna").decode("ascii")
        except UnicodeError:
            return False
    return tld in known_tlds()


def parse_url(token: str) -> str | None:
    """The URL to open for a token the user wrote, or None if it is not one."""
    token = token.strip().lstrip("<(")
    token = _strip_trailing(token)
    if not token or any(ch.isspace() for ch in token):
        return None
    if _FULL.fullmatch(token):
        return token
    bare = _BARE.fullmatch(token)
    if not bare or not _known_host(bare.group("host")):
        return None
    # Local development hosts rarely speak TLS; public ones almost always do.
    scheme = "http" if _LOCAL_HOST.fullmatch(bare.group("host")) else "https"
    return f"{scheme}://{token}"


_FILE_SUFFIXES = frozenset(
    "js py md txt json html htm css ts sh rs go csv pdf xml yaml yml toml php rb java".split()
)


def plain_url(value: str) -> str | None:
    """``parse_url``, unless ``value`` is as likely a file or code name ("node.js")."""
    url = parse_url(value)
    if url is None:
        return None
    written = written_as_url(value) or ":" in value  # a port: "localhost:8000"
    if not written and value.rsplit(".", 1)[-1].lower() in _FILE_SUFFIXES:
        return None
    return url


# "README.md", "json.loads", "index.html": a dotted name written alone, which may be a
# file or a name in code rather than a host.
_DOTTED_NAME = re.compile(r"[^\W\d][\w-]*(?:\.[\w-]+)+", re.UNICODE)


def file_or_code_name(value: str) -> bool:
    """Whether ``value``, written without a scheme, a path or ``www.``, reads as a file
    name ("README.md", "setup.py") or a name in code ("json.loads") more than a host: its
    last part is not a top-level domain, or is a usual file suffix."""
    value = _strip_trailing(value.strip())
    if written_as_url(value) or ":" in value or not _DOTTED_NAME.fullmatch(value):
        return False
    suffix = value.rsplit(".", 1)[-1].lower()
    return suffix in _FILE_SUFFIXES or parse_url(value) is None


def written_as_url(value: str) -> bool:
    return "://" in value or "/" in value or value.lower().startswith("www.")


# Top-level domains common enough that a bare "name.tld" in a question is a site.
_COMMON_TLDS = frozenset(
    "com org net io dev edu gov co uk de fr es it nl eu ch at be se no dk fi pl cz ru jp cn in"
    " br au ca us info app ai me tv test example local".split()
)


def plainly_a_site(value: str) -> bool:
    """Whether ``value`` is written as a URL or a host with a usual TLD ("example.org"),
    not as a name in code ("os.path", "numpy.sum")."""
    host = re.split(r"[/:?#]", value.rstrip(".,;:!?"), maxsplit=1)[0]
    return written_as_url(value) or host.rsplit(".", 1)[-1].lower() in _COMMON_TLDS


# Sites a user names instead of writing a URL ("search Wikipedia for X"): their own
# search pages, which take the words in the URL. (Google often answers a headless
# browser with a consent page or a captcha; the task then says what it found there.)
SEARCH_SITES = {
    "google": "https://www.google.com/search?q={q}",
    "wikipedia": "https://en.wikipedia.org/w/index.php?search={q}",
    "duckduckgo": "https://html.duckduckgo.com/html/?q={q}",
    "bing": "https://www.bing.com/search?q={q}",
    "github": "https://github.com/search?q={q}",
    "youtube": "https://www.youtube.com/results?search_query={q}",
    "stack overflow": "https://stackoverflow.com/search?q={q}",
    "stackoverflow": "https://stackoverflow.com/search?q={q}",
    "pypi": "https://pypi.org/search/?q={q}",
    "npm": "https://www.npmjs.com/search?q={q}",
    "amazon": "https://www.amazon.com/s?k={q}",
}
SEARCH_SITE_NAMES = "|".join(n.replace(" ", r"\s+") for n in SEARCH_SITES)


def search_url(site: str, words: str) -> str:
    """The URL of a named site's search for ``words`` (``site`` as matched, any case)."""
    template = SEARCH_SITES[" ".join(site.lower().split())]
    return template.format(q=quote_plus(words))
