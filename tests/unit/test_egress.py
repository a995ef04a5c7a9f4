import pytest

from nodes.egress import describe_egress, proxy_settings
from shared.errors import ConfigError


def test_no_proxy_is_direct():
    assert proxy_settings("") is None and describe_egress("") == "direct"


def test_credentials_go_to_playwright_but_never_into_the_description():
    url = "http://us%40er:p%3Ass@proxy.example:3128"
    assert proxy_settings(url, "<-loopback>") == {
        "server": "http://proxy.example:3128",
        "username": "us@er",
        "password": "p:ss",
        "bypass": "<-loopback>",
    }
    assert describe_egress(url) == "http://proxy.example:3128"
    assert "p:ss" not in describe_egress(url) and "p%3Ass" not in describe_egress(url)


def test_socks5_is_accepted():
    assert proxy_settings("socks5://10.0.0.1:1080") == {"server": "socks5://10.0.0.1:1080"}


@pytest.mark.parametrize("url", ["ftp://x:21", "http://nohost", "proxy:3128", "http://:3128"])
def test_malformed_proxy_is_a_config_error(url):
    with pytest.raises(ConfigError, match="BROWSING_NODE_PROXY"):
        proxy_settings(url)
