"""Time in a question, resolved against the asker's `now`: "yesterday", "last week", "in May 2023", "3 days ago",
"last Friday", "the past two months", and the order words "latest" / "first". A time relative to an event ("two
days before the trip", "the week after my birthday") names the event (`anchor`): recall finds when it happened
and `TimeIntent.around` turns that into a window.

General English only, no vocabulary of any benchmark. The result is what the temporal recall channel uses:
a window of event times to prefer, and whether the question wants the newest or the oldest of its matches.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

_MONTH_NAMES = [
    ("january", "jan"), ("february", "feb"), ("march", "mar"), ("april", "apr"), ("may",), ("june", "jun"),
    ("july", "jul"), ("august", "aug"), ("september", "sep", "sept"), ("october", "oct"), ("november", "nov"),
    ("december", "dec"),
]  # fmt: skip
MONTHS = {name: number for number, names in enumerate(_MONTH_NAMES, start=1) for name in names}
WEEKDAYS = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
NUMBERS = {
    "a": 1, "an": 1, "one": 1, "two": 2, "couple of": 2, "a couple of": 2, "three": 3, "few": 3, "a few": 3,
    "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12,
}  # fmt: skip
UNIT_DAYS = {"day": 1, "week": 7, "weekend": 7, "month": 30, "year": 365}
_NUMBER = r"(\d+|" + "|".join(sorted(map(re.escape, NUMBERS), key=len, reverse=True)) + r")"
_UNIT = r"(day|week|month|year)s?"
_MONTH = r"(" + "|".join(sorted(MONTHS, key=len, reverse=True)) + r")\.?"
_FULL_MONTH = r"(" + "|".join(names[0] for names in _MONTH_NAMES) + r")"

# Order words: only those that ask about time. "now", "still" and "current" are left out ("why does the build
# still fail", "the current directory"), and a hyphenated "first-class" is not an order.
LATEST = re.compile(r"\b(latest|most recent(ly)?|recently|currently|these days|nowadays|last time|newest)\b")
EARLIEST = re.compile(r"\b(first|earliest|initially|originally|oldest)\b(?!-)")
MAX_DAYS_BACK = 100 * 365  # "999999 days ago" is no date anyone means


@dataclass(frozen=True)
class TimeIntent:
    """What a question says about time: a window (inclusive, naive UTC) and/or an order."""

    start: datetime | None = None
    end: datetime | None = None
    order: str | None = None  # "latest" or "earliest"
    phrase: str | None = None  # the words that set the window, for --explain
    anchor: str | None = None  # an event the window is relative to ("the trip"), still to be found
    offsets: tuple[int, int] | None = None  # the window in days from the anchor's day, inclusive

    @property
    def has_window(self) -> bool:
        return self.start is not None

    def around(self, anchor_time: datetime) -> TimeIntent:
        """The window this intent names once its anchor event is known to have happened at `anchor_time`."""
        low, high = self.offsets or (0, 0)
        day = _day(anchor_time)
        try:
            end = day + timedelta(days=high + 1) - timedelta(seconds=1)
            return TimeIntent(day + timedelta(days=low), end, self.order, self.phrase)
        except OverflowError:  # an event at the edge of the calendar: no window beyond it
            return TimeIntent(order=self.order)


def parse(question: str, now: datetime) -> TimeIntent:
    """The first time window the question names (most specific patterns first), and its order words."""
    text = " ".join(question.lower().split())
    order = "latest" if LATEST.search(text) else "earliest" if EARLIEST.search(text) else None
    anchored = _relative_to_event(text)
    if anchored is not None:
        anchor, offsets, phrase = anchored
        return TimeIntent(order=order, phrase=phrase, anchor=anchor, offsets=offsets)
    for finder in _FINDERS:
        try:
            found = finder(text, now)
        except (ValueError, OverflowError):  # a date that does not exist or is out of range: not a time window
            continue
        if found is not None:
            start, end, phrase = found
            return TimeIntent(start, end, order, phrase)
    return TimeIntent(order=order)


_EVENT_STOP = r"(?=[?.!,;:]|$| and | or | but | when | while | that | which | did | was | were | is )"
_RELATIVE_TO_EVENT = re.compile(
    rf"\b(?:{_NUMBER} {_UNIT}|the (day|week|month|year)|(?:right|just|shortly) ) ?(before|after|prior to|following) "
    rf"(?:the |my |our |his |her |their |that |this )?([a-z0-9][a-z0-9' -]{{1,60}}?){_EVENT_STOP}"
)


def _relative_to_event(text: str) -> tuple[str, tuple[int, int], str] | None:
    """("the trip", (-3, -1), "two days before the trip") for an event-relative time: the event, and the window in
    days from its day ("N units before" is N units back, give or take half a unit; "the week before" is the 7 days
    before; "just before" is the day before and the day itself)."""
    match = _RELATIVE_TO_EVENT.search(text)
    if not match:
        return None
    amount, unit, whole, direction, event = match.groups()
    sign = -1 if direction in ("before", "prior to") else 1
    if amount:
        days = _amount(amount) * UNIT_DAYS[unit]
        if days > MAX_DAYS_BACK:
            return None
        slack = max(1, UNIT_DAYS[unit] // 2)
        low, high = sign * days - slack, sign * days + slack
    elif whole:
        span = UNIT_DAYS[whole]
        low, high = (-span, -1) if sign < 0 else (1, span)
    else:
        low, high = (-1, 0) if sign < 0 else (0, 1)
    return event.strip(), (low, high), match.group(0).strip()


def _day(moment: datetime) -> datetime:
    return moment.replace(hour=0, minute=0, second=0, microsecond=0)


def _days(start: datetime, count: int) -> tuple[datetime, datetime]:
    """`count` whole days from the start of `start`'s day."""
    first = _day(start)
    return first, first + timedelta(days=count) - timedelta(seconds=1)


def _relative_day(text: str, now: datetime):
    match = re.search(r"\b(today|tonight|this morning|this evening|yesterday|the day before yesterday)\b", text)
    if not match:
        return None
    back = {"yesterday": 1, "the day before yesterday": 2}.get(match.group(1), 0)
    return (*_days(now - timedelta(days=back), 1), match.group(0))


def _ago(text: str, now: datetime):
    match = re.search(rf"\b{_NUMBER} {_UNIT} ago\b", text)
    if not match:
        return None
    amount = _amount(match.group(1))
    unit = UNIT_DAYS[match.group(2)]
    if amount * unit > MAX_DAYS_BACK:
        return None
    centre = now - timedelta(days=amount * unit)
    slack = max(1, unit // 2) if unit > 1 else 1  # "3 weeks ago" is not to the day
    end = _day(centre + timedelta(days=slack + 1)) - timedelta(seconds=1)
    return _day(centre - timedelta(days=slack)), end, match.group(0)


def _past_span(text: str, now: datetime):
    match = re.search(rf"\b(?:in |over |during |within )?the (?:past|last) (?:{_NUMBER} )?{_UNIT}\b", text)
    match = match or re.search(rf"\b(?:in |over |during )?(?:the )?past {_NUMBER} {_UNIT}\b", text)
    if not match:
        return None
    amount = _amount(match.group(1)) if match.group(1) else 1
    if amount * UNIT_DAYS[match.group(2)] > MAX_DAYS_BACK:
        return None
    return _day(now - timedelta(days=amount * UNIT_DAYS[match.group(2)])), now, match.group(0)


def _last_unit(text: str, now: datetime):
    match = re.search(r"\b(last|this past|this|past) (week|weekend|month|year)\b", text)
    if not match:
        return None
    which, unit = match.groups()
    which = "this" if which == "this" else "last"  # "past week" and "this past week" mean the one before this
    today = _day(now)
    if unit == "week":
        monday = today - timedelta(days=today.weekday())
        start = monday - timedelta(days=7) if which == "last" else monday
        return start, start + timedelta(days=7) - timedelta(seconds=1), match.group(0)
    if unit == "weekend":
        saturday = today - timedelta(days=(today.weekday() - 5) % 7)
        if which == "last" and today.weekday() >= 5:
            saturday -= timedelta(days=7)
        return saturday, saturday + timedelta(days=2) - timedelta(seconds=1), match.group(0)
    if unit == "month":
        first = today.replace(day=1)
        if which == "last":
            first = (first - timedelta(days=1)).replace(day=1)
        return first, _month_end(first), match.group(0)
    year = today.year - (which == "last")
    return datetime(year, 1, 1), datetime(year, 12, 31, 23, 59, 59), match.group(0)


def _weekday(text: str, now: datetime):
    match = re.search(r"\b(last|this past|past|on|this) (" + "|".join(WEEKDAYS) + r")\b", text)
    if not match:
        return None
    target = WEEKDAYS.index(match.group(2))
    back = (now.weekday() - target) % 7 or 7  # the most recent such day before today
    return (*_days(now - timedelta(days=back), 1), match.group(0))


def _month_year(text: str, now: datetime):
    match = re.search(rf"\b{_MONTH}(?: (\d{{1,2}})(?:st|nd|rd|th)?)?,? ((?:19|20|21)\d{{2}})\b", text)
    if match:
        month, day, year = MONTHS[match.group(1)], match.group(2), int(match.group(3))
        return _month_or_day(year, month, day, match.group(0))
    match = re.search(rf"\b(?:in|during|since|from|of|early|late|mid) (?:the month of )?{_FULL_MONTH}\b", text)
    match = match or re.search(rf"\b{_MONTH} (\d{{1,2}})(?:st|nd|rd|th)?\b", text)
    if not match:
        return None
    month = MONTHS[match.group(1)]
    day = match.group(2) if match.lastindex and match.lastindex >= 2 else None
    year = now.year if (month, int(day or 1)) <= (now.month, now.day) else now.year - 1  # the last one before now
    return _month_or_day(year, month, day, match.group(0))


def _iso_date(text: str, now: datetime):
    match = re.search(r"\b(\d{4})[-/](\d{1,2})[-/](\d{1,2})\b", text)
    if not match:
        return None
    try:
        return (*_days(datetime(*map(int, match.groups())), 1), match.group(0))
    except ValueError:
        return None


def _year(text: str, now: datetime):
    match = re.search(r"\b(?:in|during|since|of) (19\d{2}|20\d{2})\b", text)
    if not match:
        return None
    year = int(match.group(1))
    return datetime(year, 1, 1), datetime(year, 12, 31, 23, 59, 59), match.group(0)


def _month_or_day(year: int, month: int, day: str | None, phrase: str):
    first = datetime(year, month, 1)
    if day is None:
        return first, _month_end(first), phrase
    try:
        return (*_days(datetime(year, month, int(day)), 1), phrase)
    except ValueError:
        return first, _month_end(first), phrase


def _month_end(first: datetime) -> datetime:
    following = (first + timedelta(days=32)).replace(day=1)
    return following - timedelta(seconds=1)


def _amount(word: str) -> int:
    return int(word) if word.isdigit() else NUMBERS[word]


_FINDERS = (_iso_date, _relative_day, _ago, _past_span, _last_unit, _weekday, _month_year, _year)
