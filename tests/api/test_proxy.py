"""Doctor's idea of the proxy is httpx's: the same road the API client takes."""

from __future__ import annotations

import os
from unittest import mock

import httpx
import pytest

from carctl.api.proxy import proxy_for

URLS = [
    "https://owner-api.teslamotors.com",
    "https://fleet-api.prd.eu.vn.cloud.tesla.com/api/1",
    "http://127.0.0.1:8080",
    "http://localhost:9000",
    "https://sub.example.com:8443",
    "https://example.com",
]
ENVIRONMENTS = [
    {},
    {"HTTPS_PROXY": "http://proxy.corp:3128"},
    {"https_proxy": "proxy.corp:3128", "HTTPS_PROXY": "http://other:1"},
    {"HTTP_PROXY": "http://proxy.corp:3128", "NO_PROXY": "127.0.0.1,localhost"},
    {"ALL_PROXY": "socks5://tunnel:1080", "NO_PROXY": "example.com"},
    {"ALL_PROXY": "http://p:1", "HTTPS_PROXY": "http://q:2", "NO_PROXY": ".example.com"},
    {"HTTPS_PROXY": "http://p:1", "NO_PROXY": "*"},
    {"HTTPS_PROXY": "http://p:1", "NO_PROXY": "tesla.com, example.com:8443"},
    {"HTTP_PROXY": "http://p:1", "HTTPS_PROXY": "", "NO_PROXY": ""},
]


def httpx_choice(url: str, env: dict[str, str]) -> str | None:
    """What httpx itself picks for `url` with `env` (its own rules, read from os.environ)."""
    from httpx._utils import URLPattern, get_environment_proxies

    with mock.patch.dict(os.environ, env, clear=True):
        mounts = get_environment_proxies()
    patterns = sorted((URLPattern(key), value) for key, value in mounts.items())
    target = httpx.URL(url)
    return next((value for pattern, value in patterns if pattern.matches(target)), None)


@pytest.mark.parametrize("env", ENVIRONMENTS)
@pytest.mark.parametrize("url", URLS)
def test_the_same_proxy_as_httpx(url: str, env: dict[str, str]) -> None:
    ours = proxy_for(url, env)
    theirs = httpx_choice(url, env)
    assert (ours.url if ours else None) == theirs, (url, env)


def test_the_proxy_is_named_by_host_and_port() -> None:
    proxy = proxy_for("https://api.example", {"HTTPS_PROXY": "proxy.corp"})
    assert proxy is not None and proxy.label == "proxy.corp:80"
