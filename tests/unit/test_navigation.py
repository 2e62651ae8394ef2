"""Navigation links: each app gets the coordinates in the datum it expects."""

from urllib.parse import parse_qs, urlsplit

import pytest
from hypothesis import given
from hypothesis import strategies as st

from locator.geo.datum import wgs84_to_gcj02
from locator.geo.navigation import navigation_links


@given(st.floats(113.4, 119.9), st.floats(36.0, 42.7),
       st.text(min_size=1, max_size=30).filter(lambda s: s.strip()))
def test_links_round_trip_coordinates_and_names(lon, lat, name):
    links = {link["app"]: link for link in navigation_links(lon, lat, name, "地址&x=1")}
    amap = parse_qs(urlsplit(links["amap"]["url"]).query)
    assert amap["position"] == [f"{lon:.6f},{lat:.6f}"] and amap["coordinate"] == ["wgs84"]
    assert amap["name"] == [name]
    baidu = parse_qs(urlsplit(links["baidu"]["url"]).query)
    assert baidu["location"] == [f"{lat:.6f},{lon:.6f}"] and baidu["coord_type"] == ["wgs84"]
    assert baidu["content"] == ["地址&x=1"]
    glon, glat = wgs84_to_gcj02(lon, lat)
    marker = parse_qs(urlsplit(links["tencent"]["url"]).query)["marker"][0]
    assert marker.startswith(f"coord:{glat:.6f},{glon:.6f};")
    apple = parse_qs(urlsplit(links["apple"]["url"]).query)
    assert apple["ll"] == [f"{glat:.6f},{glon:.6f}"]
    assert {link["datum"] for link in links.values()} == {"wgs84", "gcj02"}
    assert all(link["url"].startswith("https://") for link in links.values())


@pytest.mark.parametrize("text", ["中国银行", "a;b:c", "<b>"])
def test_names_with_separators_stay_inside_their_parameter(text):
    links = {link["app"]: link for link in navigation_links(114.5, 38.0, text)}
    assert parse_qs(urlsplit(links["amap"]["url"]).query)["name"] == [text]
