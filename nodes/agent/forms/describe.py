"""What a description of an order or a message asks for, and where each part goes.

Both halves are pure, so they are tested without a browser:

- ``parse_description`` reads "a medium pizza with bacon for Ada Lovelace, phone
  555-0100, delivered at 7:30 pm, note 'ring twice'" into values with their meaning
  (name, phone, email, time, date, comments, or a key the user named: "size: large")
  and the remaining words ("medium", "pizza", "bacon"), which choose options and tick
  boxes;
- ``assign`` maps those onto the fields a page's form has (``FormField``, read by
  ``fill``): each value to the field of the same meaning, judged by input type,
  autocomplete, name and label; each word to a radio button, drop-down option or
  checkbox whose label it is.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from nodes.agent.rules.split import PLACEHOLDER, mask_quotes

_I = re.IGNORECASE

# Meanings a value can have, each with the input types, autocomplete tokens and words
# in a field's name or label that say a field takes it. Order matters for fields: a
# field is given the first meaning it shows ("custtel" is a phone before a name).
MEANINGS: tuple[tuple[str, tuple[str, ...], tuple[str, ...], str], ...] = (
    ("password", ("password",), ("current-password", "new-password"), r"pass(?:word|code)?"),
    ("email", ("email",), ("email",), r"e-?mail"),
    ("phone", ("tel",), ("tel", "tel-national", "mobile"), r"phone|tel|mobile|cell"),
    ("time", ("time",), (), r"time|hour"),
    ("date", ("date",), ("bday",), r"date|\bday\b"),
    ("comments", ("textarea",), (), r"comment|note|message|instruction|remark|request"),
    ("address", (), ("street-address", "address-line1"), r"address|street"),
    (
        "quantity",
        ("number",),
        (),
        r"quantity|qty|amount|count|number of|how many|guest|people|person|ticket|seat",
    ),
    ("name", (), ("name", "given-name", "family-name"), r"name|customer|\bcust"),
)
_MEANING_NAMES = frozenset(m[0] for m in MEANINGS)
# Read from a bare number ("2 pizzas", "for 4 people"): a form without such a field is
# no reason to fail.
OPTIONAL_KEYS = frozenset({"quantity"})
_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
_MONTH = r"(?P<mon>jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.?"
_DAY = r"(?P<d>\d{1,2})(?:st|nd|rd|th)?"

# A time of day needs its minutes or am/pm: "at 7" may be anything.
_TIME = (
    r"(?P<h>\d{1,2})(?=[:.h]\d{2}|\s*[ap]\.?m\b)(?:[:.h](?P<m>\d{2}))?"
    r"\s*(?P<ampm>[ap]\.?m\b\.?)?"
)
_DATE = r"\d{4}-\d{2}-\d{2}"
_EMAIL = r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+"
_PHONE = r"\+?\d[\d\s().-]{4,}\d"
_TEXT = r"(?:\x00\d+\x00|[^,;]+?)"
_END = r"(?=\s*(?:[,;]|$|\band\b))"
# Names are capitalised (matched case-sensitively): "for delivery" names nobody.
_NAME = r"(?:\x00\d+\x00|(?-i:[A-Z][\w'’-]*(?:\s+[A-Z][\w'’-]*)*))"

_STOP = frozenset(
    {"a", "an", "the", "with", "and", "for", "of", "to", "me", "my", "please", "order",
     "some", "one", "at", "by", "on", "in", "extra", "plus", "also", "it", "i", "want",
     "would", "like", "get", "us", "our", "send", "submit", "form", "using", "use"}
)  # fmt: skip


@dataclass(frozen=True)
class Value:
    key: str  # one of the meanings, or the user's own word for the field ("size")
    value: str


@dataclass(frozen=True)
class Description:
    values: tuple[Value, ...]
    words: tuple[str, ...]  # the other words, lower case, in order


def normalize_time(hours: str, minutes: str | None, ampm: str | None) -> str | None:
    """ "7", "30", "pm" -> "19:30"; None for no time of day."""
    h, mins = int(hours), int(minutes or 0)
    if ampm:
        if not 1 <= h <= 12:
            return None
        h = h % 12 + (12 if ampm.lower().startswith("p") else 0)
    if h > 23 or mins > 59:
        return None
    return f"{h:02d}:{mins:02d}"


def parse_description(description: str) -> Description:
    masked = mask_quotes(description)
    text = masked.text
    values: list[Value] = []

    def take(pattern: str, key: str | None, convert: object = None) -> None:
        nonlocal text
        while (found := re.search(pattern, text, _I)) is not None:
            raw = found["v"] if "v" in found.groupdict() else found.group()
            value = convert(found) if callable(convert) else masked.value(raw).strip()
            name = key or masked.value(found["k"]).strip().lower()
            if value:
                values.append(Value(name, value))
            text = text[: found.start()] + " , " + text[found.end() :]

    def time_of(found: re.Match[str]) -> str:
        return normalize_time(found["h"], found["m"], found["ampm"]) or ""

    def date_of(found: re.Match[str]) -> str:
        month = _MONTHS.index(found["mon"][:3].lower()) + 1
        day = int(found["d"])
        return f"{found['y']}-{month:02d}-{day:02d}" if 1 <= day <= 31 else ""

    # First: a password may hold anything ("@", digits, ":").
    take(
        r"\b(?:password|passwort|passcode|pass|pwd)\b\s*(?:[:=]|\bis\b)?\s*"
        r"(?P<v>\x00\d+\x00|[^\s,;]+)",
        "password",
    )
    take(rf"\b(?:e-?mail(?:\s+address)?\s*(?:[:=]|\bis\b)?\s*)?(?P<v>{_EMAIL})", "email")
    take(rf"\b(?:(?:on|date)\s*:?\s*)?(?P<v>{_DATE})\b", "date")
    for written in (rf"{_DAY}\s+(?:of\s+)?{_MONTH},?\s+(?P<y>\d{{4}})",
                    rf"{_MONTH}\s+{_DAY},?\s+(?P<y>\d{{4}})"):  # fmt: skip
        take(rf"\b(?:(?:on|date)\s*:?\s*)?{written}\b", "date", date_of)
    take(
        r"\b(?:(?:deliver(?:ed|y)?|pick(?:ed)?\s*-?\s*up|ready|time|arriv(?:e|ing|al))"
        r"(?:\s+time)?\s*(?:at|by|for|:|is)?\s*|\b(?:at|by)\s+)"
        rf"(?P<v>{_TIME})(?!\d)",
        "time",
        time_of,
    )
    take(rf"\b(?P<v>{_TIME})(?!\d)", "time", time_of)
    take(rf"\b(?:(?:phone|tel(?:ephone)?|mobile|cell)(?:\s+(?:number|no\.?))?\s*"
         rf"(?:[:=]|\bis\b)?\s*)(?P<v>{_PHONE})", "phone")  # fmt: skip
    take(
        r"\b(?:notes?|comments?|message|instructions?|remarks?)\s*(?:[:=]|\bsaying\b|\bis\b)?"
        rf"\s*(?P<v>{_TEXT}){_END}",
        "comments",
    )
    take(rf"\b(?:(?:my\s+)?name\s*(?:[:=]|\bis\b)?\s*|\bfor\s+)(?P<v>{_NAME}){_END}", "name")
    take(rf"\b(?:address|deliver(?:ed)?\s+to)\s*(?:[:=]|\bis\b)?\s*(?P<v>{_TEXT}){_END}", "address")
    # Anything else written as "Key: value" (or "Key = value").
    take(rf"(?P<k>[^\W\d][\w ]{{0,30}}?)\s*[:=]\s*(?P<v>{_TEXT}){_END}", None)
    take(rf"(?P<v>{_PHONE})", "phone")  # a bare number long enough to be one
    take(r"\b(?P<v>\d{1,3})\s*(?:x\s+)?(?=[^\W\d_]{2,})", "quantity")  # "2 pizzas"
    rest = PLACEHOLDER.sub(lambda m: " " + masked.quotes[int(m.group(1))][0] + " ", text)
    words = tuple(
        w for w in re.findall(r"[^\W_]+(?:['’-][^\W_]+)*", rest.lower()) if w not in _STOP
    )
    return Description(tuple(values), words)


@dataclass(frozen=True)
class FormField:
    """One control of the page's form, as ``fill`` reads it."""

    ref: int  # the control's number on the page (data-agent-ff)
    kind: str  # the input type ("text", "tel", "radio"...), "textarea" or "select"
    name: str = ""  # its name attribute
    label: str = ""  # its label, aria-label, placeholder or title
    group: str = ""  # radios and checkboxes: the fieldset's legend or the group's label
    value: str = ""  # radios and checkboxes: the value attribute
    options: tuple[str, ...] = ()  # a drop-down's option labels
    autocomplete: str = ""


@dataclass(frozen=True)
class Assignment:
    field: FormField
    value: str  # text to type, the option to choose, or "on" for a box to tick
    reason: str  # what the user wrote that chose it

    @property
    def caption(self) -> str:
        """The field as a person reads the form: "Pizza Size", "Telephone"."""
        if self.field.kind in ("radio", "checkbox"):
            return self.field.group or self.field.name or self.field.label
        return self.field.label or self.field.name


_TEXT_KINDS = frozenset(
    {"text", "tel", "email", "time", "date", "number", "url", "search", "textarea", "password", ""}
)


def _words(text: str) -> list[str]:
    return re.findall(r"[^\W_]+", text.lower())


def _singular(word: str) -> str:
    return word[:-1] if len(word) > 3 and word.endswith("s") and not word.endswith("ss") else word


def meaning_of(field: FormField) -> str | None:
    """What a text field takes, judged by its type, autocomplete, then name and label."""
    for meaning, kinds, tokens, _words_re in MEANINGS:
        if field.kind in kinds or field.autocomplete.lower() in tokens:
            return meaning
    for meaning, _kinds, _tokens, words_re in MEANINGS:
        if re.search(words_re, f"{field.name} {field.label}", _I):
            return meaning
    return None


def _fits(value: Value, field: FormField) -> bool:
    """Whether the value can be typed into the field's type at all."""
    if (field.kind == "password") != (value.key == "password"):
        return False  # a password goes nowhere else, and nothing else goes there
    if field.kind == "time":
        return value.key == "time"
    if field.kind == "date":
        return value.key == "date"
    if field.kind == "email":
        return "@" in value.value
    if value.key == "quantity" and field.kind not in ("number", "text", ""):
        return False
    if field.kind == "number":
        return re.fullmatch(r"-?\d+(?:[.,]\d+)?", value.value) is not None
    return True


def _key_score(key: str, field: FormField) -> int:
    if key in _MEANING_NAMES:
        return 10 if meaning_of(field) == key else 0
    # The user's own word for the field: "size: large", "Crust = thin".
    wanted = {_singular(w) for w in _words(key)}
    have = {_singular(w) for w in _words(f"{field.name} {field.label} {field.group}")}
    return 5 * len(wanted & have)


def _option_fits(value: str, label: str, option_value: str = "") -> bool:
    norm = " ".join(_words(value))
    return norm in (" ".join(_words(label)), " ".join(_words(option_value))) and bool(norm)


def _label_in_words(label: str, words: tuple[str, ...]) -> bool:
    """A radio's or box's label is named by the description's words ("Extra cheese":
    both words there, in any order; plurals count)."""
    wanted = [_singular(w) for w in _words(label) if w not in _STOP]
    have = {_singular(w) for w in words}
    return bool(wanted) and all(w in have for w in wanted)


def assign(
    description: Description, fields: tuple[FormField, ...]
) -> tuple[list[Assignment], list[Value]]:
    """Each value and word of ``description`` to a field; returns the assignments and the
    values no field takes. Words that name nothing are left alone ("pizza")."""
    done: list[Assignment] = []
    taken: set[int] = set()
    groups_set: set[str] = set()
    missed: list[Value] = []
    for value in description.values:
        best: tuple[int, FormField, str] | None = None
        for field in fields:
            if field.ref in taken or (field.kind == "radio" and field.name in groups_set):
                continue
            score = _key_score(value.key, field)
            if score <= 0:
                continue
            if field.kind in _TEXT_KINDS and _fits(value, field):
                chosen = value.value
            elif field.kind == "select":
                chosen = next((o for o in field.options if _option_fits(value.value, o)), "")
            elif field.kind in ("radio", "checkbox"):
                chosen = "on" if _option_fits(value.value, field.label, field.value) else ""
            else:
                chosen = ""
            if chosen and (best is None or score > best[0]):
                best = (score, field, chosen)
        if best is None:
            if value.key not in OPTIONAL_KEYS:
                missed.append(value)
            continue
        _, field, chosen = best
        taken.add(field.ref)
        if field.kind == "radio":
            groups_set.add(field.name)
        done.append(Assignment(field, chosen, f"{value.key} {value.value}"))
        if field.kind == "password":  # and into "Confirm password"
            for other in fields:
                if other.kind == "password" and other.ref not in taken:
                    taken.add(other.ref)
                    done.append(Assignment(other, chosen, f"{value.key} {value.value}"))
    for field in fields:
        if field.ref in taken:
            continue
        if field.kind == "radio" and field.name not in groups_set:
            if _label_in_words(field.label, description.words) or (
                field.value and _label_in_words(field.value, description.words)
            ):
                groups_set.add(field.name)
                done.append(Assignment(field, "on", field.label or field.value))
        elif field.kind == "checkbox":
            if _label_in_words(field.label or field.value, description.words):
                done.append(Assignment(field, "on", field.label or field.value))
        elif field.kind == "select":
            chosen = next((o for o in field.options if _label_in_words(o, description.words)), None)
            if chosen is not None:
                done.append(Assignment(field, chosen, chosen))
    done.sort(key=lambda x: x.field.ref)
    return done, missed
