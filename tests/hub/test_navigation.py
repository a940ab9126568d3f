"""No link leads to a refusal: every page each persona can reach by following links, from the
home page on, opens for them. The navigation asks the gate each page asks, so a role is never
offered a page it is refused (the co-ordinator and the DLO "Ask for personal data", a lapsed
signatory's analyst the workspace)."""

from __future__ import annotations

from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit

import pytest

from tests.hub.test_url_matrix import PERSONAS, signed_in_client, world  # noqa: F401 - fixture

pytestmark = pytest.mark.django_db

# Enough for every page a persona reaches in the matrix's world, which holds one object of
# each kind; a walk that needs more has found links that multiply (a bug of its own).
MOST_PAGES = 300


class Links(HTMLParser):
    def __init__(self):
        super().__init__()
        self.found: list[str] = []

    def handle_starttag(self, tag, attrs):
        href = dict(attrs).get("href")
        if tag == "a" and href:
            self.found.append(href)


def links_on(url: str, html: str) -> list[str]:
    """The hub's own pages a page links to, as paths with their query."""
    parser = Links()
    parser.feed(html)
    paths = []
    for href in parser.found:
        target = urlsplit(urljoin(url, href))
        if target.netloc not in ("", "testserver") or target.scheme not in ("", "http"):
            continue
        if target.path.startswith("/static/"):
            continue
        paths.append(target.path + (f"?{target.query}" if target.query else ""))
    return paths


def walk(client) -> tuple[dict[str, int], dict[str, str]]:
    """Every page reachable by links from the home page: its status after redirects, and the
    page that first linked to it."""
    statuses: dict[str, int] = {}
    linked_from = {"/": "(start)"}
    queue = ["/"]
    while queue:
        url = queue.pop(0)
        response = client.get(url, follow=True)
        statuses[url] = response.status_code
        assert len(statuses) <= MOST_PAGES, "the walk found more pages than one world holds"
        if response.streaming:
            b"".join(response.streaming_content)
            continue
        if response.status_code != 200 or "text/html" not in response.get("Content-Type", ""):
            continue
        # Relative links resolve against where the redirects ended.
        here = response.redirect_chain[-1][0] if response.redirect_chain else url
        for target in links_on(urljoin("http://testserver", here), response.content.decode()):
            if target not in linked_from:
                linked_from[target] = url
                queue.append(target)
    return statuses, linked_from


@pytest.mark.parametrize("persona", PERSONAS)
def test_every_link_a_persona_is_offered_opens(world, persona):  # noqa: F811 - the fixture
    client = signed_in_client(persona, world)

    statuses, linked_from = walk(client)

    refused = {
        url: (status, f"linked from {linked_from[url]}")
        for url, status in statuses.items()
        if status >= 400
    }
    assert refused == {}
    assert len(statuses) >= (3 if persona == "anonymous" else 8)  # the walk went somewhere


def test_the_lapsed_analyst_is_offered_no_workspace_and_the_dlo_no_request(world):  # noqa: F811
    lapsed = signed_in_client("lapsed_analyst", world)
    home = lapsed.get("/").content.decode()
    assert 'href="/workspace/"' not in home
    assert "withdrew from ISP" in home  # the home page says where their agency stands

    analyst = signed_in_client("analyst", world)
    assert 'href="/workspace/"' in analyst.get("/").content.decode()

    for persona in ("dlo_police", "coordinator"):
        requests = signed_in_client(persona, world).get("/requests/").content.decode()
        assert "/requests/new/" not in requests, persona
        assert "Analysts ask for personal data" in requests
    assert "/requests/new/" in analyst.get("/requests/").content.decode()
