"""Where the demo sites are: random points inside each district, by a fixed recipe.

Within a district every point comes from a mixture, sampled in UTM zone 50N (EPSG:32650,
metres): an isotropic Gaussian around the city centre, Gaussians around each county's
"seat", and (stations only) a uniform rural share over the district's bounding box. A
county's seat is stood in for by its ``representative_point()`` -- the geography file has
no seat locations -- and urban districts (names ending in 区) weigh more than counties.
Points are converted back to WGS-84 (EPSG:4326), rounded to 6 decimals (about 0.1 m),
and kept only if ``Regions.locate`` puts the *rounded* point in a county of the intended
district (rejection sampling).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np
from pyproj import Transformer

from locator.geo.census import DISTRICTS

if TYPE_CHECKING:
    from locator.geo.regions import Regions

__all__ = ["METRIC_CRS", "DistrictFrame", "district_frames", "sample_district"]

#: The planar CRS points are sampled in (UTM zone 50N, metres).
METRIC_CRS = "EPSG:32650"

# Mixture weights (centre, county seats, rural uniform) and Gaussian sigmas in metres.
_MIXTURE = {"station": (0.35, 0.55, 0.10), "mother_room": (0.60, 0.40, 0.0)}
_CENTRE_SIGMA_M = {"station": 5_000.0, "mother_room": 3_500.0}
_SEAT_SIGMA_M = {"station": 2_500.0, "mother_room": 1_500.0}
_CORE_RADIUS_M = 25_000.0  # an urban district (区) this close to the centre is "core"


def _seat_weight(name: str, seat_to_centre_m: float) -> float:
    # Urban districts hold more people per km² than counties; mining districts are small.
    if name.endswith("矿区"):
        return 0.6
    if name.endswith("区"):
        return 1.6 if seat_to_centre_m <= _CORE_RADIUS_M else 1.2
    if name.endswith("市"):  # county-level city
        return 1.3
    return 1.0


class DistrictFrame(NamedTuple):
    """Where one district's points are drawn, in UTM zone 50N metres (EPSG:32650).

    Attributes
    ----------
    centre_xy : (float, float)
        The city centre.
    seats_xy : numpy.ndarray
        ``(n, 2)``: its counties' stand-in seats.
    seat_p : numpy.ndarray
        ``(n,)``: each seat's weight; they sum to 1.
    bounds : (float, float, float, float)
        The district's bounding box ``(minx, miny, maxx, maxy)``.
    """

    centre_xy: tuple[float, float]
    seats_xy: np.ndarray  # (n, 2) metres, EPSG:32650
    seat_p: np.ndarray
    bounds: tuple[float, float, float, float]  # metres, EPSG:32650


def district_frames(regions: Regions) -> dict[str, DistrictFrame]:
    """The sampling frame of every district of :data:`~locator.geo.census.DISTRICTS`.

    Parameters
    ----------
    regions : Regions
        District and county polygons (EPSG:4326).

    Returns
    -------
    dict of str to DistrictFrame
        By district code. A county's seat is its polygon's ``representative_point()``;
        urban districts (区) weigh more, the more so near the city centre.
    """
    counties = regions.counties.sort_values("code").to_crs(METRIC_CRS)
    districts = regions.districts.to_crs(METRIC_CRS).set_index("code")
    to_metric = Transformer.from_crs("EPSG:4326", METRIC_CRS, always_xy=True)
    frames = {}
    for d in DISTRICTS:
        cx, cy = to_metric.transform(d.centre_lon, d.centre_lat)
        own = counties[counties["district_code"] == d.code]
        seats = own.geometry.representative_point()
        xy = np.column_stack([seats.x.to_numpy(), seats.y.to_numpy()])
        dist = np.hypot(xy[:, 0] - cx, xy[:, 1] - cy)
        w = np.array([_seat_weight(n, r) for n, r in zip(own["name"], dist, strict=True)])
        bounds = tuple(float(v) for v in districts.loc[d.code].geometry.bounds)
        frames[d.code] = DistrictFrame((cx, cy), xy, w / w.sum(), bounds)
    return frames


def sample_district(
    regions: Regions,
    frame: DistrictFrame,
    district_code: str,
    kind: str,
    n: int,
    rng: np.random.Generator,
    to_wgs84: Transformer,
) -> list[dict[str, Any]]:
    """Rejection-sample ``n`` points of one kind inside one district.

    Parameters
    ----------
    regions : Regions
        Decides (``locate``) whether a point is in the district.
    frame : DistrictFrame
        From :func:`district_frames`.
    district_code : str
    kind : str
        ``station`` or ``mother_room`` (their mixtures differ).
    n : int
        Points wanted.
    rng : numpy.random.Generator
        The district and kind's own stream.
    to_wgs84 : pyproj.Transformer
        EPSG:32650 → EPSG:4326 (``always_xy``).

    Returns
    -------
    list of dict
        ``n`` points in sampling order: ``lon``, ``lat`` (WGS-84 degrees rounded to 6
        decimals, inside the district), ``county_code``, ``county_name`` (the county
        ``regions.locate`` put the rounded point in) and ``rural`` (drawn from the
        uniform share).
    """
    mix = np.array(_MIXTURE[kind])
    sigma_c, sigma_s = _CENTRE_SIGMA_M[kind], _SEAT_SIGMA_M[kind]
    cx, cy = frame.centre_xy
    minx, miny, maxx, maxy = frame.bounds
    out: list[dict[str, Any]] = []
    while len(out) < n:
        m = max(64, 2 * (n - len(out)))
        component = rng.choice(3, size=m, p=mix)
        seat = rng.choice(len(frame.seat_p), size=m, p=frame.seat_p)
        gx, gy = rng.standard_normal((2, m))
        ux, uy = rng.uniform(minx, maxx, m), rng.uniform(miny, maxy, m)
        x = np.where(component == 0, cx + sigma_c * gx,
                     np.where(component == 1, frame.seats_xy[seat, 0] + sigma_s * gx, ux))
        y = np.where(component == 0, cy + sigma_c * gy,
                     np.where(component == 1, frame.seats_xy[seat, 1] + sigma_s * gy, uy))
        lon, lat = to_wgs84.transform(x, y)
        lon, lat = np.round(lon, 6), np.round(lat, 6)
        found = regions.locate(lon, lat)
        ok = (found["district_code"] == district_code).to_numpy()
        codes = found["county_code"].to_numpy()
        names = found["county_name"].to_numpy()
        for i in np.flatnonzero(ok)[: n - len(out)]:
            out.append({
                "lon": float(lon[i]), "lat": float(lat[i]), "county_code": str(codes[i]),
                "county_name": str(names[i]), "rural": bool(component[i] == 2),
            })
    return out
