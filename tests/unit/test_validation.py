import pytest

from gateway.validation import parse_task_request
from shared.config import Settings
from shared.errors import ValidationError
from shared.request import NodeFilter, ScreenshotPolicy, TaskRequest

S = Settings()


def parse(body):
    return parse_task_request(body, S)


def test_minimal_request_gets_documented_defaults():
    req = parse({"task": "  Open https://example.com  "})
    assert req == TaskRequest(
        task="Open https://example.com",
        screenshots=ScreenshotPolicy(mode=None),
        filter=NodeFilter(),
        session_key=None,
        timeout_ms=300_000,
        fanout=1,
        template="default",
    )


def test_full_request_from_the_spec_is_normalized():
    req = parse(
        {
            "task": "Open https://example.com and summarize the page",
            "filter": {"country_iso": "de"},
            "screenshots": {"mode": "final_only"},
            "timeout": 10_800_000,
            "fanout": 10,
            "session_key": "s1",
        }
    )
    assert req.filter == NodeFilter(country_iso="DE")
    assert req.screenshots == ScreenshotPolicy(mode="final_only", full_page=True)
    assert req.timeout_ms == 10_800_000 and req.fanout == 10 and req.session_key == "s1"


@pytest.mark.parametrize(
    "body, message",
    [
        ([], "JSON object"),
        ("task", "JSON object"),
        ({}, "missing task"),
        ({"task": "   "}, "non-empty string"),
        ({"task": 5}, "non-empty string"),
        ({"task": "x", "screenshots": {}}, "screenshots.mode is required"),
        ({"task": "x", "screenshots": {"mode": "sometimes"}}, "one of final_only"),
        ({"task": "x", "screenshots": {"mode": "final_only", "full_page": "yes"}}, "true or false"),
        ({"task": "x", "screenshots": "final_only"}, "must be an object"),
        ({"task": "x", "filter": {"country_iso": "DE", "node_uid": "n"}}, "mutually exclusive"),
        ({"task": "x", "filter": {"country_iso": "DEU"}}, "2-letter"),
        ({"task": "x", "filter": {"node_uid": ""}}, "node_uid"),
        ({"task": "x", "filter": {"country": "FR"}}, "filter has an unknown field 'country'"),
        ({"task": "x", "filter": {"node_uid": "n", "countryIso": "FR"}}, "unknown field"),
        ({"task": "x", "timeout": 0}, "timeout must be an integer from 1 to 10800000"),
        ({"task": "x", "timeout": 10_800_001}, "timeout"),
        ({"task": "x", "timeout": 1.5}, "timeout"),
        ({"task": "x", "timeout": True}, "timeout must be an integer .*, got true$"),
        ({"task": "x", "timeout": "1000"}, 'got "1000"$'),
        ({"task": "x", "screenshots": {"mode": 3}}, "one of final_only.*, got 3$"),
        ({"task": "x", "fanout": 0}, "fanout must be an integer from 1 to 10"),
        ({"task": "x", "fanout": 11}, "fanout"),
        ({"task": "x", "template": "nope"}, "unknown template 'nope'"),
        ({"task": "x", "template": "../etc/passwd"}, "unknown template"),
        ({"task": "x", "session_key": 7}, "session_key"),
        ({"task": "x", "session_persist": "false"}, "session_persist must be true or false"),
        ({"task": "x", "session_persist": 0}, "session_persist must be true or false"),
        ({"task": "x", "session_persist": {}}, "session_persist must be true or false"),
    ],
)
def test_bad_requests_say_what_is_wrong(body, message):
    with pytest.raises(ValidationError, match=message):
        parse(body)


def test_session_persist_opts_out_and_is_kept_in_the_record():
    req = parse({"task": "x", "session_key": "shop", "session_persist": False})
    assert req.session_persist is False
    assert TaskRequest.from_json(req.to_json()).session_persist is False
    kept = parse({"task": "x", "session_key": "shop", "session_persist": None})
    assert kept.session_persist is True and "session_persist" not in kept.to_dict()
    assert parse({"task": "x", "session_persist": True}).session_persist is True


def test_null_optional_fields_count_as_absent():
    req = parse({"task": "x", "filter": None, "screenshots": None, "timeout": None, "fanout": None})
    assert req.filter == NodeFilter() and req.screenshots.mode is None and req.fanout == 1


@pytest.mark.parametrize(
    "body",
    [
        {"task": "\ud800"},
        {"task": "x", "session_key": "\udfff"},
        {"task": "x", "filter": {"node_uid": "\ud800"}},
    ],
)
def test_lone_surrogates_are_rejected(body):
    with pytest.raises(ValidationError, match="not valid Unicode"):
        parse(body)
