"""The egress policy's decisions, without connecting anywhere: every denied range, every
spelling of an address, the operator's allow and deny lists, and their order."""

from __future__ import annotations

import pytest

from shared.config import Settings, load_settings
from shared.egress import EgressPolicy, Rules, check_scheme, parse_ip
from shared.errors import ConfigError, EgressRefused

DEFAULT = EgressPolicy()


@pytest.mark.parametrize(
    ("host", "reason"),
    [
        ("127.0.0.1", "loopback"),
        ("127.255.255.254", "loopback"),
        ("::1", "loopback"),
        ("10.0.0.1", "private"),
        ("172.16.0.1", "private"),
        ("172.31.255.255", "private"),
        ("192.168.1.1", "private"),
        ("fc00::1", "private"),
        ("fd12:3456::1", "private"),
        ("169.254.169.254", "link_local"),
        ("fe80::1", "link_local"),
        ("100.64.0.1", "shared"),
        ("100.127.255.255", "shared"),
        ("0.0.0.0", "unspecified"),
        ("::", "unspecified"),
        ("224.0.0.1", "multicast"),
        ("ff02::1", "multicast"),
        ("255.255.255.255", "broadcast"),
        # IPv6 forms of IPv4 addresses
        ("::ffff:127.0.0.1", "loopback"),
        ("::ffff:169.254.169.254", "link_local"),
        ("::127.0.0.1", "loopback"),
        ("::10.0.0.1", "private"),
        ("64:ff9b::a9fe:a9fe", "link_local"),
        ("2002:c0a8:0101::1", "private"),
    ],
)
def test_default_deny_list_classifies_without_connecting(host: str, reason: str) -> None:
    refusal = DEFAULT.refusal(host, 80)
    assert refusal is not None and refusal.reason == reason
    assert "BROWSING_EGRESS_ALLOW can allow it" in refusal.message
    with pytest.raises(EgressRefused):
        DEFAULT.resolve(host, 80, resolver=_no_dns)


@pytest.mark.parametrize(
    "host", ["8.8.8.8", "1.1.1.1", "172.32.0.1", "100.128.0.1", "2606:4700::1111", "192.169.0.1"]
)
def test_public_addresses_pass(host: str) -> None:
    assert DEFAULT.refusal(host, 443) is None
    assert DEFAULT.resolve(host, 443, resolver=_no_dns) == [str(parse_ip(host))]


@pytest.mark.parametrize(
    "spelling",
    ["2130706433", "0x7f.1", "0x7f000001", "0177.0.0.1", "0177.1", "127.1", "127.0.1",
     "[::1]", "[::ffff:7f00:1]", "127.0.0.1.", "[0:0:0:0:0:0:0:1]"],
)  # fmt: skip
def test_every_spelling_of_loopback_is_loopback(spelling: str) -> None:
    refusal = DEFAULT.refusal(spelling, 6379)
    assert refusal is not None and refusal.reason == "loopback", spelling


def test_names_are_not_addresses() -> None:
    for name in ("example.com", "0x.example", "127.0.0.1.example.com", "localhost"):
        assert parse_ip(name) is None, name


def test_a_name_is_checked_by_every_address_it_resolves_to() -> None:
    def resolver(host: str, port: int) -> list[str]:
        return {"public.test": ["93.184.216.34"], "mixed.test": ["93.184.216.34", "10.0.0.5"]}[host]

    assert DEFAULT.resolve("public.test", 443, resolver) == ["93.184.216.34"]
    with pytest.raises(EgressRefused) as refused:
        DEFAULT.resolve("mixed.test", 443, resolver)
    assert refused.value.message == (
        "egress refused: mixed.test:443 resolves to 10.0.0.5, which is a private address "
        "(BROWSING_EGRESS_ALLOW can allow it)"
    )
    assert refused.value.target == "mixed.test:443"


def test_the_error_a_user_sees_names_the_address_and_the_setting() -> None:
    with pytest.raises(EgressRefused) as refused:
        DEFAULT.resolve("127.0.0.1", 6379)
    assert str(refused.value) == (
        "egress refused: 127.0.0.1:6379 is a loopback address (BROWSING_EGRESS_ALLOW can allow it)"
    )
    assert refused.value.reason == "loopback" and refused.value.target == "127.0.0.1:6379"


def test_host_port_allows_that_port_only() -> None:
    policy = EgressPolicy(allow=Rules.parse("127.0.0.1:8000,[::1]:8001", "BROWSING_EGRESS_ALLOW"))
    assert policy.refusal("127.0.0.1", 8000) is None
    assert policy.refusal("0x7f.1", 8000) is None  # the address, whatever its spelling
    assert policy.refusal("127.0.0.1", 6379).reason == "loopback"
    assert policy.refusal("::1", 8001) is None
    assert policy.refusal("::1", 8000).reason == "loopback"
    assert policy.refusal("127.0.0.2", 8000).reason == "loopback"


def test_allow_cidrs_and_names() -> None:
    policy = EgressPolicy(
        allow=Rules.parse("10.1.0.0/16, intranet.example, *.corp.example:443", "ALLOW")
    )
    assert policy.refusal("10.1.2.3", 80) is None
    assert policy.refusal("10.2.0.1", 80).reason == "private"
    resolver = {"intranet.example": ["10.9.9.9"], "a.corp.example": ["192.168.1.1"]}
    lookup = lambda host, port: resolver.get(host, ["10.0.0.1"])  # noqa: E731
    assert policy.resolve("intranet.example", 80, lookup) == ["10.9.9.9"]
    assert policy.resolve("a.corp.example", 443, lookup) == ["192.168.1.1"]
    with pytest.raises(EgressRefused):
        policy.resolve("a.corp.example", 80, lookup)
    with pytest.raises(EgressRefused):
        policy.resolve("corp.example", 443, lookup)  # *. means subdomains only


def test_deny_wins_over_allow_and_applies_to_public_addresses() -> None:
    policy = EgressPolicy(
        allow=Rules.parse("10.0.0.0/8", "ALLOW"),
        deny=Rules.parse("10.5.0.0/16,93.184.216.0/24,tracker.example", "DENY"),
    )
    assert policy.refusal("10.4.0.1", 80) is None
    assert policy.refusal("10.5.0.1", 80).reason == "denied"
    refusal = policy.refusal("93.184.216.34", 443)
    assert refusal.reason == "denied" and "BROWSING_EGRESS_DENY" in refusal.message
    with pytest.raises(EgressRefused, match="tracker.example:443 is denied"):
        policy.resolve("tracker.example", 443, _no_dns)  # refused before resolving


def test_an_allowed_ipv4_range_covers_its_ipv6_forms() -> None:
    policy = EgressPolicy(allow=Rules.parse("127.0.0.1:8000", "ALLOW"))
    assert policy.refusal("::ffff:127.0.0.1", 8000) is None


@pytest.mark.parametrize("scheme", ["file", "chrome", "chrome-extension", "view-source", "ftp",
                                    "javascript", "gopher"])  # fmt: skip
def test_only_network_and_local_schemes(scheme: str) -> None:
    with pytest.raises(EgressRefused) as refused:
        check_scheme(scheme, f"{scheme}://x/")
    assert refused.value.reason == "scheme"
    for ok in ("http", "https", "ws", "wss", "about", "data", "blob"):
        check_scheme(ok)


@pytest.mark.parametrize("entry", ["not a host", "10.0.0.0/33", "host:99999", "[::1", "a:b:c"])
def test_malformed_entries_are_config_errors(entry: str) -> None:
    with pytest.raises(ConfigError, match="BROWSING_EGRESS_ALLOW"):
        EgressPolicy.from_settings(Settings(egress_allow=entry))


def test_settings_read_the_variables_and_setting_allow_replaces_the_default() -> None:
    settings = load_settings(
        {"BROWSING_EGRESS_ALLOW": "127.0.0.1:8000", "BROWSING_EGRESS_DENY": ""}
    )
    policy = EgressPolicy.from_settings(settings)
    assert policy.refusal("127.0.0.1", 8000) is None
    assert EgressPolicy.from_settings(load_settings({})).refusal("127.0.0.1", 8000) is not None
    with pytest.raises(ConfigError, match="BROWSING_EGRESS_POLICY"):
        load_settings({"BROWSING_EGRESS_POLICY": "allow-all"})


def test_secrets_never_appear_in_the_settings_repr() -> None:
    settings = Settings(
        redis_url="redis://:redis-pass-123@redis:6379/0",
        s3_secret_access_key="s3-secret-456",
        api_keys="alice:key-789",
        node_proxy="http://user:proxy-pass-000@proxy:3128",
    )
    shown = repr(settings)
    for secret in ("redis-pass-123", "s3-secret-456", "key-789", "proxy-pass-000"):
        assert secret not in shown
    assert "s3_bucket" in shown


def _no_dns(host: str, port: int) -> list[str]:
    raise AssertionError(f"{host} must not be resolved")
