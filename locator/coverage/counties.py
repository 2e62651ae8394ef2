"""Counties prepared for the covered-area sums: in UTM 50N, with their geodesic areas,
points along their borders and the plane near Hebei cut into tiles.

:func:`county_geometry` builds a :class:`CountyGeometry` once per
:class:`~locator.geo.regions.Regions` object (about 2 s for Hebei) and
:func:`locator.coverage.areas.disc_union_area` reads it. Planar coordinates are UTM zone
50N metres (EPSG:32650); areas are geodesic km² on WGS-84.
"""

from __future__ import annotations

import math
import threading
import weakref
from dataclasses import dataclass

import numpy as np
import shapely

from locator.coverage.geodesy import scale_factor
from locator.geo.index import GEOD, METRIC_CRS

__all__ = ["SAMPLE_SPACING_M", "TILE_M", "CountyGeometry", "county_geometry"]

#: Side of the squares the counties are cut into for ``disc_union_area``, metres.
TILE_M = 5000.0
#: Spacing of the boundary points of :class:`CountyGeometry`, metres.
SAMPLE_SPACING_M = 200.0


@dataclass(frozen=True, eq=False)
class CountyGeometry:
    """Counties in UTM 50N with their geodesic areas and area scale factors, and what
    :func:`~locator.coverage.areas.disc_union_area` needs: points every
    ``sample_spacing_m`` along their boundaries, and the counties cut into pieces of at
    most ``TILE_M`` square (``tiles``, with ``tile_county``).

    Attributes
    ----------
    metric : numpy.ndarray of shapely geometries
        The counties in UTM 50N metres (EPSG:32650), rows of ``Regions.counties``.
    area_km2 : numpy.ndarray
        Geodesic area of each county, km² (WGS-84).
    scale2 : numpy.ndarray
        ``k**2`` at each county's representative point (planar / geodesic area).
    samples : scipy.spatial.cKDTree
        Points every ``sample_spacing_m`` metres along every county boundary.
    tiles, tile_county : numpy.ndarray
        Pieces of at most ``TILE_M`` square covering the plane near Hebei, and the row of
        the county each belongs to (``len(metric)`` for the outside).
    """

    metric: np.ndarray  # shapely geometries, EPSG:32650
    area_km2: np.ndarray  # geodesic
    scale2: np.ndarray  # k**2 at each county's representative point
    samples: object  # scipy cKDTree over points along every county boundary
    sample_spacing_m: float
    tiles: np.ndarray
    tile_county: np.ndarray
    tiles_tree: shapely.STRtree
    tree: shapely.STRtree  # over ``metric``
    # the tiles' rings, flat: per tile its rings, per ring its (open) vertices, and the
    # sign that makes the ring's edge integral its signed share of the tile's area
    tile_ring_first: np.ndarray
    tile_ring_count: np.ndarray
    ring_first: np.ndarray
    ring_count: np.ndarray
    ring_sign: np.ndarray
    ring_x: np.ndarray
    ring_y: np.ndarray

    def locate(self, x, y) -> np.ndarray:
        """Row of the county holding each planar point.

        Parameters
        ----------
        x, y : array_like
            Points in UTM 50N metres (EPSG:32650).

        Returns
        -------
        numpy.ndarray of int
            Row of ``Regions.counties``; -1 when none; the lowest row on a shared border.
        """
        out = np.full(len(x), -1, dtype=np.int64)
        pi, ci = self.tree.query(shapely.points(x, y), predicate="intersects")
        order = np.lexsort((ci, pi))[::-1]
        out[pi[order]] = ci[order]
        return out


def _clip(geometry, boxes: np.ndarray) -> np.ndarray:
    """``geometry`` cut by each box (GEOS's fast rectangle clipping), empty parts dropped."""
    out = [shapely.clip_by_rect(geometry, *b) for b in shapely.bounds(boxes)]
    out = np.asarray(out, dtype=object) if out else np.empty(0, dtype=object)
    return out[~shapely.is_empty(out) & (shapely.area(out) > 0)]


def _grid_boxes(bounds, margin: float = 0.0) -> np.ndarray:
    w, s, e, n = bounds
    xs = np.arange(math.floor((w - margin) / TILE_M) * TILE_M, e + margin, TILE_M)
    ys = np.arange(math.floor((s - margin) / TILE_M) * TILE_M, n + margin, TILE_M)
    gx, gy = (a.ravel() for a in np.meshgrid(xs, ys))
    return shapely.box(gx, gy, gx + TILE_M, gy + TILE_M)


def _tiles(metric: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The counties cut into ``TILE_M`` squares, then the outside of Hebei up to 20 km out
    (owner ``len(metric)``): pieces that together cover the plane near Hebei."""
    pieces, owners = [], []
    for i, county in enumerate(metric):
        boxes = _grid_boxes(county.bounds)
        boxes = boxes[shapely.intersects(county, boxes)]
        inside = shapely.contains_properly(county, boxes)
        for part in (boxes[inside], _clip(county, boxes[~inside])):
            pieces.append(part)
            owners.append(np.full(len(part), i, dtype=np.int64))
    province = shapely.coverage_union_all(metric)
    w, s, e, n = province.bounds
    outside = shapely.difference(shapely.box(w - 2e4, s - 2e4, e + 2e4, n + 2e4), province)
    shapely.prepare(outside)
    boxes = _grid_boxes(outside.bounds)
    part = _clip(outside, boxes[shapely.intersects(outside, boxes)])
    pieces.append(part)
    owners.append(np.full(len(part), len(metric), dtype=np.int64))
    return np.concatenate(pieces), np.concatenate(owners)


def _tile_rings(tiles: np.ndarray):
    """The tiles' rings, flat (see the fields of :class:`CountyGeometry`)."""
    parts, part_of = shapely.get_parts(tiles, return_index=True)
    keep = shapely.get_type_id(parts) == 3
    parts, part_of = parts[keep], part_of[keep]
    rings, ring_of = shapely.get_rings(parts, return_index=True)
    exterior = np.r_[True, ring_of[1:] != ring_of[:-1]]
    tile_of = part_of[ring_of]
    coords, index = shapely.get_coordinates(rings, return_index=True)
    closing = np.r_[index[1:] != index[:-1], True]  # the repeated first vertex
    same = np.flatnonzero(~closing)
    shoelace = np.bincount(index[same], weights=coords[same, 0] * coords[same + 1, 1]
                           - coords[same, 1] * coords[same + 1, 0], minlength=len(rings))
    sign = np.sign(shoelace) * np.where(exterior, 1.0, -1.0)
    open_coords, open_index = coords[~closing], index[~closing]
    ring_count = np.bincount(open_index, minlength=len(rings))
    ring_first = np.cumsum(ring_count) - ring_count
    tile_ring_count = np.bincount(tile_of, minlength=len(tiles))
    tile_ring_first = np.cumsum(tile_ring_count) - tile_ring_count  # rings are in tile order
    return (tile_ring_first, tile_ring_count, ring_first, ring_count, sign,
            open_coords[:, 0].copy(), open_coords[:, 1].copy())


def _boundary_samples(metric: np.ndarray):
    from scipy.spatial import cKDTree

    lines = shapely.segmentize(shapely.boundary(metric), SAMPLE_SPACING_M)
    return cKDTree(shapely.get_coordinates(lines))  # shared borders twice: harmless


_COUNTY_GEOMETRY: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_LOCK = threading.Lock()


def county_geometry(regions) -> CountyGeometry:
    """The counties of ``regions`` prepared for the area sums; built once per object.

    Parameters
    ----------
    regions : locator.geo.regions.Regions
        Districts and counties, WGS-84 (EPSG:4326).

    Returns
    -------
    CountyGeometry
        The same object for later calls with the same ``regions``.
    """
    with _LOCK:
        hit = _COUNTY_GEOMETRY.get(regions)
        if hit is None:
            hit = _build(regions.counties)
            _COUNTY_GEOMETRY[regions] = hit
        return hit


def _build(counties) -> CountyGeometry:
    metric = counties.to_crs(METRIC_CRS).geometry.to_numpy()
    shapely.prepare(metric)
    oriented = shapely.orient_polygons(counties.geometry.to_numpy())
    area = np.array([abs(GEOD.geometry_area_perimeter(g)[0]) for g in oriented]) / 1e6
    rep = counties.geometry.representative_point()
    k = scale_factor(rep.x.to_numpy(), rep.y.to_numpy())
    tiles, tile_county = _tiles(metric)
    return CountyGeometry(metric, area, k * k, _boundary_samples(metric), SAMPLE_SPACING_M,
                          tiles, tile_county, shapely.STRtree(tiles), shapely.STRtree(metric),
                          *_tile_rings(tiles))
