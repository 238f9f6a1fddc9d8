import pytest

pytestmark = pytest.mark.browser


def test_the_home_page_loads_in_chromium(page, live_server):
    page.goto(live_server.url + "/")
    assert page.get_by_role("heading", level=1).inner_text().startswith("Independent journalism")
    page.get_by_role("link", name="Give now").is_visible()
