"""HTML the grader writes for people to open: a strict Content-Security-Policy and sanitized student HTML.

A student controls much of what a feedback page shows (their markdown, their outputs), and
instructors open those pages, so every page the grader writes carries :data:`CSP_META`: no
script of any kind, nothing loaded from anywhere (images and fonts only as ``data:`` URLs),
inline styles only (nbconvert's templates need them), no forms, no ``<base>``. On top of it,
student HTML is cleaned by :func:`safe_html` (bleach, with an allowlist that keeps what
rendered markdown and tables need), so even a browser that ignored the policy runs nothing.
"""
from __future__ import annotations

import re
import threading
from collections import OrderedDict
from contextlib import contextmanager
from contextvars import ContextVar
from html import escape
from typing import Iterator

import bleach

CSP = ("default-src 'none'; img-src data:; font-src data:; style-src 'unsafe-inline'; "
       "base-uri 'none'; form-action 'none'")
CSP_META = f'<meta http-equiv="Content-Security-Policy" content="{CSP}">'

TAGS = {"a", "abbr", "b", "blockquote", "br", "caption", "code", "col", "colgroup", "dd", "del", "details", "div",
        "dl", "dt", "em", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "i", "img", "kbd", "li", "ol", "p", "pre",
        "s", "samp", "small", "span", "strong", "sub", "summary", "sup", "table", "tbody", "td", "tfoot", "th",
        "thead", "tr", "tt", "u", "ul", "var"}
_DATA_IMAGE = re.compile(r"^data:image/(png|jpeg|gif|webp);base64,[A-Za-z0-9+/=\s]*$")
_LINK = re.compile(r"^(https?:|mailto:|#)", re.IGNORECASE)


def _attribute_allowed(tag: str, name: str, value: str) -> bool:
    if name in ("class", "title", "align", "colspan", "rowspan", "style"):
        return True
    if tag == "a" and name == "href":
        return bool(_LINK.match(value.strip()))
    if tag == "img":
        return name in ("alt", "width", "height") or (name == "src" and bool(_DATA_IMAGE.match(value)))
    return False


def _css_sanitizer():
    try:
        from bleach.css_sanitizer import ALLOWED_CSS_PROPERTIES, CSSSanitizer
    except ImportError:      # without tinycss2, style attributes are dropped (see _attribute_allowed)
        return None
    return CSSSanitizer(allowed_css_properties=ALLOWED_CSS_PROPERTIES)


_CLEANER = bleach.Cleaner(tags=TAGS, attributes=_attribute_allowed, protocols={"http", "https", "mailto", "data"},
                          strip=True, strip_comments=True, css_sanitizer=_css_sanitizer())


# bleach's parser (html5lib) takes time that grows faster than the markup (nested formatting
# elements: 4,000 tags in 28 KB take 6 s), in the grader's own process: markup beyond these many
# tags ("<" characters) in one piece, or in one page (see markup_budget), is shown as text.
MAX_TAGS = 1_000
MAX_PAGE_TAGS = 5_000     # a lesson's own prose renders to under 1,000
MAX_TEXT = 10_000         # characters of the text of markup shown as text
_TAG = re.compile(r"<[^>]*>?")
_page_tags: ContextVar[list[int] | None] = ContextVar("page_tags", default=None)


@contextmanager
def markup_budget(tags: int = MAX_PAGE_TAGS) -> Iterator[None]:
    """While it lasts, :func:`safe_html` (in this thread) sanitizes ``tags`` tags in all."""
    token = _page_tags.set([tags])
    try:
        yield
    finally:
        _page_tags.reset(token)


class Memo:
    """Results of a pure function of a string, by key (whose first item is the string): the most
    recent kept, ``max_chars`` characters of keys and results in all (a class's hostile pages
    cannot grow the grader's memory through it)."""

    def __init__(self, max_chars: int = 16_000_000):
        self.kept: OrderedDict = OrderedDict()
        self.max_chars, self.chars = max_chars, 0
        self.lock = threading.Lock()        # pages may be rendered in several threads

    def get(self, key: tuple, make):
        with self.lock:
            if key in self.kept:
                self.kept.move_to_end(key)
                return self.kept[key]
        value = make()
        size = len(key[0]) + len(value)
        if size <= self.max_chars // 16:
            with self.lock:
                if key not in self.kept:
                    self.kept[key] = value
                    self.chars += size
                while self.chars > self.max_chars:
                    old_key, old = self.kept.popitem(last=False)
                    self.chars -= len(old_key[0]) + len(old)
        return value


def safe_html(html, memo: Memo | None = None) -> str:
    """``html`` (a student's) with every script, event handler, remote load and form removed;
    more markup than :data:`MAX_TAGS` (or than the page's budget) becomes escaped text. With a
    ``memo``, markup cleaned before is not cleaned again (the page's budget is charged all the same)."""
    if isinstance(html, bytes):
        html = html.decode("utf-8", "replace")
    html = str(html)
    tags, left = html.count("<"), _page_tags.get()
    if tags > MAX_TAGS or (left is not None and tags > left[0]):
        text = _TAG.sub(" ", html)
        return (f"<pre>{escape(text[:MAX_TEXT])}</pre><p><em>[{tags:,} tags of HTML shown as text: more markup "
                "than a feedback page renders]</em></p>")
    if left is not None:
        left[0] -= tags
    return memo.get((html,), lambda: _CLEANER.clean(html)) if memo is not None else _CLEANER.clean(html)


def with_csp(page: str) -> str:
    """``page`` with :data:`CSP_META` as the first element of its ``<head>``."""
    match = re.search(r"<head[^>]*>", page, re.IGNORECASE)
    if not match:
        raise ValueError("the page has no <head> to carry its Content-Security-Policy")
    return page[:match.end()] + CSP_META + page[match.end():]
