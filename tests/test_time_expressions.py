"""Time expressions resolved against a fixed `now`: Wednesday 2023-05-10 15:00."""

from __future__ import annotations

from datetime import datetime

import pytest

from slm.time_expressions import parse

NOW = datetime(2023, 5, 10, 15, 0)


def day(y: int, m: int, d: int, end: bool = False) -> datetime:
    return datetime(y, m, d, 23, 59, 59) if end else datetime(y, m, d)


@pytest.mark.parametrize(
    ("question", "start", "end"),
    [
        ("what did I eat yesterday?", day(2023, 5, 9), day(2023, 5, 9, True)),
        ("what did we decide today", day(2023, 5, 10), day(2023, 5, 10, True)),
        ("which bug did I fix 3 days ago?", day(2023, 5, 6), day(2023, 5, 8, True)),  # a day either side
        ("the talk I gave two weeks ago", day(2023, 4, 23), day(2023, 4, 29, True)),  # half a week either side
        ("what happened last week", day(2023, 5, 1), day(2023, 5, 7, True)),
        ("plans for this week", day(2023, 5, 8), day(2023, 5, 14, True)),
        ("what did I do last weekend", day(2023, 5, 6), day(2023, 5, 7, True)),
        ("what did I buy last month", day(2023, 4, 1), day(2023, 4, 30, True)),
        ("trips last year", day(2022, 1, 1), day(2022, 12, 31, True)),
        ("what did I start listening to last Friday?", day(2023, 5, 5), day(2023, 5, 5, True)),
        ("the meeting on monday", day(2023, 5, 8), day(2023, 5, 8, True)),
        ("films I watched in the last 3 months", day(2023, 2, 9), NOW),
        ("anything over the past two weeks?", day(2023, 4, 26), NOW),
        ("in the past month", day(2023, 4, 10), NOW),
        ("what did I do in May 2022", day(2022, 5, 1), day(2022, 5, 31, True)),
        ("the deploy on March 3rd, 2023", day(2023, 3, 3), day(2023, 3, 3, True)),
        ("what did I cook in June", day(2022, 6, 1), day(2022, 6, 30, True)),  # the last June before now
        ("the release in april", day(2023, 4, 1), day(2023, 4, 30, True)),
        ("the outage on 2023-02-14", day(2023, 2, 14), day(2023, 2, 14, True)),
        ("what did we ship in 2021", day(2021, 1, 1), day(2021, 12, 31, True)),
    ],
)
def test_windows(question, start, end):
    intent = parse(question, NOW)
    assert (intent.start, intent.end) == (start, end), intent.phrase


@pytest.mark.parametrize(
    ("question", "order"),
    [
        ("where do I currently keep my sneakers?", "latest"),
        ("which service did I start using most recently?", "latest"),
        ("what is the latest version we pinned", "latest"),
        ("which did I buy first, the bed or the pads?", "earliest"),
        ("what database do we use", None),
    ],
)
def test_order_words(question, order):
    assert parse(question, NOW).order == order


def test_no_time_is_no_window():
    intent = parse("how do I run the integration tests?", NOW)
    assert not intent.has_window and intent.order is None
    assert not parse("the may 35 release", NOW).has_window or parse("the may 35 release", NOW).start.month == 5
    assert not parse("the date 2023-13-45", NOW).has_window


@pytest.mark.parametrize(
    "question",
    [
        "expires_at defaults to 9999-12-31 why",
        "the date 2023-02-30",
        "what happened 999999 days ago",
        "99999999999 days ago",
        "in the past 3000 years",
        "what about may 0000",
        "dec 9999",
        "december 31, 9999",
        "x" * 8000 + " last week " + "ago " * 500,
    ],
)
def test_odd_dates_never_raise(question):
    parse(question, NOW)  # any window or none, but never an exception: recall parses every query


@pytest.mark.parametrize(
    "question",
    [
        "why does the build still fail now?",
        "what is the current directory for the cache",
        "is it a first-class citizen",
        "what is the value of sep in the csv reader",
        "fix it in oct mode",
        "what may 1024 threads do to the pool",
    ],
)
def test_ordinary_developer_questions_have_no_time(question):
    intent = parse(question, NOW)
    assert not intent.has_window and intent.order is None, intent


def test_past_means_the_previous_unit():
    assert parse("what did I do this past week", NOW).start == day(2023, 5, 1)
    assert parse("what did I buy past month", NOW).start == day(2023, 4, 1)


@pytest.mark.parametrize(
    ("question", "anchor", "offsets"),
    [
        ("what did I buy two days before the trip?", "trip", (-3, -1)),  # a day either side of the day
        ("where did we eat the day before the conference", "conference", (-1, -1)),
        ("what happened the week after my birthday party?", "birthday party", (1, 7)),
        ("which talk did I give 3 weeks after the wedding", "wedding", (18, 24)),  # half a week either side
        ("what did I read right before the exam", "exam", (-1, 0)),
        ("a month prior to the launch, what broke?", "launch", (-45, -15)),
    ],
)
def test_times_relative_to_an_event_name_the_event(question, anchor, offsets):
    intent = parse(question, NOW)
    assert (intent.anchor, intent.offsets) == (anchor, offsets)
    assert not intent.has_window  # until recall finds when the event happened


def test_an_event_relative_window_is_placed_around_the_event():
    intent = parse("what did I buy two days before the trip?", NOW).around(datetime(2023, 4, 20, 9, 30))
    assert (intent.start, intent.end) == (day(2023, 4, 17), day(2023, 4, 19, True))
    assert intent.phrase == "two days before the trip"


@pytest.mark.parametrize("question", ["what did I do before lunch", "fix it before the release and then", "after all"])
def test_vague_before_and_after_are_not_times(question):
    assert parse(question, NOW).anchor is None
