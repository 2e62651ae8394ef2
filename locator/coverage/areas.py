"""The area of a union of geodesic circles, per county, without building the union.

The covered area of a county is the area of the union of the stations' service circles
inside it. :func:`disc_union_area` computes it exactly for circles: each circle is cut by
its station's Voronoi cell, each piece's area is exact (a disc cut by a polygon, Green's
theorem, :func:`disc_triangle_area`), and pieces that may cross a county border are cut
by pre-cut county tiles (:mod:`locator.coverage.counties`); each piece's planar area
(UTM 50N, EPSG:32650) is divided by ``k**2`` at its station (the area scale of a
conformal map). Results are geodesic km².
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import shapely

from locator.coverage.counties import CountyGeometry

__all__ = ["clip_rings", "disc_triangle_area", "disc_union_area"]


def disc_triangle_area(cx, cy, r, ax, ay, bx, by) -> np.ndarray:
    """Signed area of the intersection of the disc (``c``, ``r``) with the triangle
    (``c``, ``a``, ``b``): positive when ``a -> b`` turns counter-clockwise around ``c``.

    Summed over the edges of a polygon (exterior counter-clockwise, holes clockwise) it is
    the area of the disc's intersection with the polygon, exactly (Green's theorem): the
    parts of an edge inside the disc contribute their triangle, the parts outside the
    circular sector they subtend.

    Parameters
    ----------
    cx, cy, r : numpy.ndarray
        Disc centres and radii, planar metres.
    ax, ay, bx, by : numpy.ndarray
        Edge ends, planar metres.

    Returns
    -------
    numpy.ndarray
        Signed areas, square metres (planar).

    Examples
    --------
    >>> z, one = np.zeros(1), np.ones(1)
    >>> float(disc_triangle_area(z, z, one, 2 * one, z, z, 2 * one)[0] * 4)  # quarter disc
    3.141592653589793
    """
    ax, ay, bx, by = ax - cx, ay - cy, bx - cx, by - cy
    dx, dy = bx - ax, by - ay
    dd = dx * dx + dy * dy
    ad = ax * dx + ay * dy
    disc = ad * ad - dd * (ax * ax + ay * ay - r * r)
    hit = (disc > 0) & (dd > 0)
    root = np.sqrt(np.where(hit, disc, 0.0))
    dd_safe = np.where(dd > 0, dd, 1.0)
    t1 = np.where(hit, np.clip((-ad - root) / dd_safe, 0.0, 1.0), 1.0)
    t2 = np.where(hit, np.clip((-ad + root) / dd_safe, 0.0, 1.0), 1.0)
    p1x, p1y = ax + t1 * dx, ay + t1 * dy
    p2x, p2y = ax + t2 * dx, ay + t2 * dy
    sector1 = np.arctan2(ax * p1y - ay * p1x, ax * p1x + ay * p1y)
    sector2 = np.arctan2(p2x * by - p2y * bx, p2x * bx + p2y * by)
    return 0.5 * (r * r * (sector1 + sector2) + (p1x * p2y - p1y * p2x))


def _segment_distance(px, py, ax, ay, bx, by) -> np.ndarray:
    """Planar distance from points to segments (arrays, metres)."""
    dx, dy = bx - ax, by - ay
    dd = dx * dx + dy * dy
    t = np.clip(((px - ax) * dx + (py - ay) * dy) / np.where(dd > 0, dd, 1.0), 0.0, 1.0)
    return np.hypot(ax + t * dx - px, ay + t * dy - py)



def _cells_edges(cells: np.ndarray):
    """Edges of convex polygons (Voronoi cells): ``(owner, sign, ax, ay, bx, by)``."""
    coords, index = shapely.get_coordinates(cells, return_index=True)
    same = np.flatnonzero(index[1:] == index[:-1])
    owner = index[same]
    ax, ay = coords[same, 0], coords[same, 1]
    bx, by = coords[same + 1, 0], coords[same + 1, 1]
    # GEOS gives the cells in either orientation: the shoelace sum says which.
    sign = np.sign(np.bincount(owner, weights=ax * by - ay * bx, minlength=len(cells)))
    return owner, sign[owner], ax, ay, bx, by


def _ragged(first: np.ndarray, count: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Concatenated ranges ``first[g] .. first[g] + count[g]``: (positions, group)."""
    group = np.repeat(np.arange(len(first)), count)
    starts = np.cumsum(count) - count
    return np.repeat(first - starts, count) + np.arange(int(count.sum())), group



def clip_rings(vx, vy, vring, ring_pair, hx0, hy0, hx1, hy1, n_half):
    """Clip rings by convex polygons given as half-planes (Sutherland-Hodgman, all rings
    at once).

    Parameters
    ----------
    vx, vy, vring : numpy.ndarray
        Ring vertices (open rings, consecutive per ring, rings numbered 0..), planar.
    ring_pair : numpy.ndarray
        Pair (clip polygon) of each ring; pairs must be numbered so that ``n_half`` is
        non-increasing, and vertices ordered by pair.
    hx0, hy0, hx1, hy1 : numpy.ndarray, shape (pairs, max half-planes)
        Edges of each clip polygon, counter-clockwise: the inside is on their left.
    n_half : numpy.ndarray
        Half-planes per pair.

    Returns
    -------
    vx, vy, vring : numpy.ndarray
        The clipped rings (a ring may come out empty). For a ring that is not convex the
        output may run back and forth along a clip edge; such stretches cancel in any
        integral over the edges (a closed chain on a line is null), so areas computed
        edge by edge are exact.
    """
    for j in range(int(n_half.max()) if len(n_half) else 0):
        active = int(np.searchsorted(-n_half, -j, side="left"))  # pairs with n_half > j
        cut = int(np.searchsorted(ring_pair[vring], active)) if len(vring) else 0
        if cut == 0:
            break
        x, y, ring = vx[:cut], vy[:cut], vring[:cut]
        pair = ring_pair[ring]
        ax, ay, bx, by = hx0[pair, j], hy0[pair, j], hx1[pair, j], hy1[pair, j]
        side = (bx - ax) * (y - ay) - (by - ay) * (x - ax)
        inside = side >= 0
        first = np.r_[True, ring[1:] != ring[:-1]]
        start = np.maximum.accumulate(np.where(first, np.arange(cut), 0))
        last = np.r_[ring[1:] != ring[:-1], True]
        nxt = np.where(last, start, np.arange(cut) + 1)
        s_in, e_in = inside, inside[nxt]
        crossing = s_in != e_in
        count = crossing.astype(np.int64) + e_in
        edge = np.repeat(np.arange(cut), count)
        second = np.r_[False, edge[1:] == edge[:-1]]
        is_x = crossing[edge] & ~second
        t = side[edge] / np.where(is_x, side[edge] - side[nxt[edge]], 1.0)
        x0, y0, x1, y1 = x[edge], y[edge], x[nxt[edge]], y[nxt[edge]]
        vx = np.r_[np.where(is_x, x0 + t * (x1 - x0), x1), vx[cut:]]
        vy = np.r_[np.where(is_x, y0 + t * (y1 - y0), y1), vy[cut:]]
        vring = np.r_[ring[edge], vring[cut:]]
    return vx, vy, vring



def disc_union_area(x, y, r, scale, county, geometry: CountyGeometry) -> np.ndarray:
    """Geodesic area covered by a union of discs, per county, without building the union.

    Parameters
    ----------
    x, y : numpy.ndarray
        Disc centres (stations) in UTM 50N metres (EPSG:32650).
    r : numpy.ndarray
        Planar radius of each disc, metres (the geodesic radius times the point scale
        factor: a small geodesic circle is a planar circle in a conformal projection).
    scale : numpy.ndarray
        Point scale factor at each centre; a planar area near it is ``scale**2`` times
        the geodesic area.
    county : numpy.ndarray of int
        Row of the county holding each centre (as the store derived it from the point),
        or -1 when unknown: then it is located here.
    geometry : locator.coverage.counties.CountyGeometry
        The counties in UTM 50N with their boundary samples and tiles.

    Returns
    -------
    numpy.ndarray
        km² per county (geodesic).

    Notes
    -----
    Every point of a union of equal discs lies in the disc of the centre nearest to it, so
    the union is the disjoint union of the pieces ``disc_i ∩ V_i`` (``V_i`` the Voronoi
    cell of centre ``i``), and its area the sum of theirs, each exact from the cell's
    edges (:func:`disc_triangle_area`). (Radii differ by the scale factor, under 1 cm
    between centres a few km apart: the Voronoi cells stand in for the power diagram.)
    A piece that meets no county boundary lies in its centre's county; one that may is
    cut by the pieces of the other counties and of the outside (``geometry.tiles``) it
    touches, and keeps the rest. Exact for circles, so slightly more exact than a union
    of polygons; the tests compare the two.
    """
    n_counties = len(geometry.metric)
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    if len(x) == 0:
        return np.zeros(n_counties)
    r = np.asarray(r, dtype=np.float64)
    scale2 = np.asarray(scale, dtype=np.float64) ** 2
    county = np.asarray(county, dtype=np.int64).copy()
    pieces = _voronoi_pieces(x, y, r)
    border = _near_a_border(pieces, geometry)
    unknown = pieces.keep & (county < 0)
    if unknown.any():
        county[unknown] = geometry.locate(x[unknown], y[unknown])
    county[county < 0] = n_counties  # outside Hebei
    inner = pieces.keep & ~border
    out = np.bincount(county[inner], weights=pieces.area[inner] / scale2[inner],
                      minlength=n_counties + 1).astype(np.float64)
    b = np.flatnonzero(border)
    if len(b):
        _add_border_areas(out, b, x, y, r, scale2, county, pieces, geometry)
    out = out[:n_counties]
    return out / 1e6


@dataclass
class _Pieces:
    """Each disc cut by its Voronoi cell (planar square metres, UTM 50N)."""

    keep: np.ndarray  # False for exact duplicates of an earlier centre
    area: np.ndarray  # planar area of each piece (0 for duplicates)
    cells: np.ndarray  # the Voronoi cell when it cuts the disc, else None
    edges: tuple  # (owner, ax, ay, bx, by): the cells' edges, counter-clockwise
    lo_x: np.ndarray  # the piece's box: the disc's, within its cell's
    lo_y: np.ndarray
    hi_x: np.ndarray
    hi_y: np.ndarray


def _voronoi_pieces(x, y, r) -> _Pieces:
    xy = np.column_stack([x, y])
    # Exact duplicates add nothing (and would confuse the Voronoi diagram).
    _, first = np.unique(x + 1j * y, return_index=True)
    keep = np.zeros(len(x), dtype=bool)
    keep[first] = True
    piece = np.where(keep, np.pi * r * r, 0.0)  # a lone centre: the whole disc
    # The extent of each piece: the disc's box, within its cell's box.
    lo_x, lo_y, hi_x, hi_y = x - r, y - r, x + r, y + r
    cells = np.full(len(x), None, dtype=object)
    edges = (np.empty(0, np.int64), *(np.empty(0) for _ in range(4)))
    idx = np.flatnonzero(keep)
    if len(idx) >= 2:
        reach = 2 * float(r.max()) + 1e-3
        w, s, e, n = xy[idx].min(axis=0).tolist() + xy[idx].max(axis=0).tolist()
        envelope = shapely.box(w - 4 * reach, s - 4 * reach, e + 4 * reach, n + 4 * reach)
        # A LineString through the centres gives GEOS the sites without 100,000 Points.
        cells[idx] = shapely.get_parts(shapely.voronoi_polygons(
            shapely.linestrings(xy[idx]), extend_to=envelope, ordered=True))
        owner, sign, ax, ay, bx, by = _cells_edges(cells[idx])
        o = idx[owner]
        area = sign * disc_triangle_area(x[o], y[o], r[o], ax, ay, bx, by)
        piece[idx] = np.bincount(owner, weights=area, minlength=len(idx))
        ccw = sign > 0  # the cells' edges, counter-clockwise, for clipping at borders
        edges = (o, np.where(ccw, ax, bx), np.where(ccw, ay, by), np.where(ccw, bx, ax),
                 np.where(ccw, by, ay))
        bounds = shapely.bounds(cells[idx])
        lo_x[idx] = np.maximum(lo_x[idx], bounds[:, 0])
        lo_y[idx] = np.maximum(lo_y[idx], bounds[:, 1])
        hi_x[idx] = np.minimum(hi_x[idx], bounds[:, 2])
        hi_y[idx] = np.minimum(hi_y[idx], bounds[:, 3])
        # A cell whose edges all stay out of the disc does not cut it: forget it.
        starts = np.flatnonzero(np.r_[True, owner[1:] != owner[:-1]])  # owner is sorted
        gap = np.minimum.reduceat(_segment_distance(x[o], y[o], ax, ay, bx, by) - r[o],
                                  starts)
        cells[idx[owner[starts][gap >= 0]]] = None
    return _Pieces(keep, piece, cells, edges, lo_x, lo_y, hi_x, hi_y)


def _near_a_border(p: _Pieces, geometry: CountyGeometry) -> np.ndarray:
    """Which pieces may meet a county boundary (or the province's edge): those with a
    boundary sample within half their box's diagonal plus half the sample spacing."""
    centre = np.column_stack([(p.lo_x + p.hi_x) / 2, (p.lo_y + p.hi_y) / 2])
    half = (np.hypot(p.hi_x - p.lo_x, p.hi_y - p.lo_y) / 2 + geometry.sample_spacing_m / 2
            + 1e-3)
    d, _ = geometry.samples.query(centre[p.keep], k=1, distance_upper_bound=float(half.max()))
    border = np.zeros(len(p.keep), dtype=bool)
    border[p.keep] = d <= half[p.keep]
    return border


def _add_border_areas(out, b, x, y, r, scale2, county, p: _Pieces, geometry) -> None:
    """Add to ``out`` (planar m² / k², per county and the outside, last) the border pieces
    ``b``.

    A border piece is cut by the tiles of every *other* county and of the outside; what
    they do not take belongs to its centre's county (whichever that is, the pieces of all
    the others sum to the rest: the tiles cover the plane near Hebei).
    """
    boxes = shapely.box(p.lo_x[b], p.lo_y[b], p.hi_x[b], p.hi_y[b])
    di, ti = geometry.tiles_tree.query(boxes, predicate="intersects")
    other = geometry.tile_county[ti] != county[b[di]]
    di, ti = di[other], ti[other]
    # ... and only the pieces the disc itself reaches (cheaper than an overlay)
    reach = shapely.dwithin(geometry.tiles[ti], shapely.points(x[b[di]], y[b[di]]),
                            r[b[di]])
    di, ti = di[reach], ti[reach]
    disc = b[di]
    # Cut each tile's rings by the disc's cell (when it has one that cuts it), then
    # integrate the disc over what is left.
    n_half, e_first = _cell_edge_ranges(disc, p)
    order = np.argsort(-n_half, kind="stable")
    disc, ti, di, n_half, e_first = (a[order] for a in (disc, ti, di, n_half, e_first))
    area = _cut_tile_areas(disc, ti, n_half, e_first, x, y, r, p, geometry)
    per_pair = area / scale2[disc]
    taken = np.bincount(di, weights=per_pair, minlength=len(b))
    out += np.bincount(geometry.tile_county[ti], weights=per_pair, minlength=len(out))
    out += np.bincount(county[b], weights=p.area[b] / scale2[b] - taken, minlength=len(out))


def _cell_edge_ranges(disc, p: _Pieces) -> tuple[np.ndarray, np.ndarray]:
    """Per disc: how many edges its cell has (0 when no cell cuts it), and the first."""
    n_half = np.zeros(len(disc), dtype=np.int64)
    e_first = np.zeros(len(disc), dtype=np.int64)
    has_cell = np.not_equal(p.cells[disc], None)
    if has_cell.any():
        e_owner = p.edges[0]
        lo = np.searchsorted(e_owner, disc)  # e_owner is sorted (cell order)
        hi = np.searchsorted(e_owner, disc, side="right")
        n_half = np.where(has_cell, hi - lo, 0)
        e_first = lo
    return n_half, e_first


def _cut_tile_areas(disc, ti, n_half, e_first, x, y, r, p: _Pieces, geometry) -> np.ndarray:
    """Planar m² of each (disc, tile) pair: the tile's rings clipped by the disc's cell
    (``n_half`` edges from ``e_first``; pairs ordered by ``n_half``, most first), then
    the disc integrated over what is left."""
    width = max(int(n_half.max(initial=0)), 1)
    pos, grp = _ragged(e_first, n_half)
    col = pos - np.repeat(e_first, n_half)
    h = [np.zeros((len(disc), width)) for _ in range(4)]
    for k in range(4):
        h[k][grp, col] = p.edges[k + 1][pos]
    rings, ring_pair = _ragged(geometry.tile_ring_first[ti], geometry.tile_ring_count[ti])
    verts, vring = _ragged(geometry.ring_first[rings], geometry.ring_count[rings])
    vx, vy, vring = clip_rings(geometry.ring_x[verts], geometry.ring_y[verts], vring,
                               ring_pair, *h, n_half)
    first = np.r_[True, vring[1:] != vring[:-1]] if len(vring) else np.empty(0, bool)
    start = np.maximum.accumulate(np.where(first, np.arange(len(vring)), 0)) \
        if len(vring) else np.empty(0, np.int64)
    last = np.r_[vring[1:] != vring[:-1], True] if len(vring) else first
    nxt = np.where(last, start, np.arange(len(vring)) + 1)
    owner = ring_pair[vring]
    o = disc[owner]
    area = geometry.ring_sign[rings][vring] * disc_triangle_area(
        x[o], y[o], r[o], vx, vy, vx[nxt], vy[nxt])
    return np.bincount(owner, weights=area, minlength=len(disc))
