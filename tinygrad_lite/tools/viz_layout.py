"""A layered graph layout in pure Python (the Sugiyama method, small): what `tl.viz` draws with.

    layout = layered_layout([(w, h), ...], [(source, target), ...], direction="TB")
    layout.boxes[i]      # (x, y, width, height) of node i: no two boxes overlap
    layout.routes[k]     # the points edge k passes through, from its source to its target

1. Ranks: a node sits one rank after its latest input; a node with no inputs (a parameter, the
   data) sits just before the first node that uses it, so each weight is drawn by its layer.
2. Long edges get invisible waypoints, one per rank they cross, so no edge runs through a box.
3. Order within a rank: a few sweeps that sort each rank by the mean position of its
   neighbours in the rank before (or after), keeping the order with the fewest crossings.
4. Positions: each node is pulled towards the mean of its neighbours (inputs pull less, so
   the chain of ops runs straight), keeping the order and a gap between boxes (an isotonic
   regression per rank, so the result never overlaps).

`direction` "TB" puts ranks in rows, top to bottom; "LR" in columns, left to right.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, List, Sequence, Tuple

__all__ = ["Layout", "layered_layout"]

Point = Tuple[float, float]


@dataclass
class Layout:
    boxes: List[Tuple[float, float, float, float]]  # (x, y, width, height), top-left corner
    routes: List[List[Point]]  # one per edge: source border, waypoints, target border
    width: float
    height: float


def layered_layout(
    sizes: Sequence[Tuple[float, float]],
    edges: Sequence[Tuple[int, int]],
    direction: str = "TB",
    node_gap: float = 24.0,
    rank_gap: float = 48.0,
    margin: float = 12.0,
    sweeps: int = 8,
) -> Layout:
    """Place nodes of the given (width, height) and route the edges (source, target).

    Edges must run from earlier to later nodes (a topological order, as `tl.viz` lists them).
    """
    if direction not in ("TB", "LR"):
        raise ValueError(f"direction must be 'TB' or 'LR', got {direction!r}")
    n = len(sizes)
    flip = direction == "LR"
    # (breadth along a rank, depth across ranks) of each node
    extent = [(h, w) if flip else (w, h) for w, h in sizes]
    rank = _ranks(n, edges)

    # waypoints: a chain of zero-size nodes for every edge that skips ranks
    chains: List[List[int]] = []
    neighbours_up: Dict[int, List[int]] = {i: [] for i in range(n)}
    neighbours_down: Dict[int, List[int]] = {i: [] for i in range(n)}
    for s, t in edges:
        chain = [s]
        for r in range(rank[s] + 1, rank[t]):
            rank.append(r)
            extent.append((2.0, 0.0))
            neighbours_up[len(rank) - 1], neighbours_down[len(rank) - 1] = [], []
            chain.append(len(rank) - 1)
        chain.append(t)
        for a, b in zip(chain, chain[1:]):
            neighbours_down[a].append(b)
            neighbours_up[b].append(a)
        chains.append(chain)

    n_ranks = max(rank, default=-1) + 1
    layers: List[List[int]] = [[] for _ in range(n_ranks)]
    for v in range(len(rank)):  # first appearance order: inputs of an op side by side
        layers[rank[v]].append(v)
    layers = _order(layers, neighbours_up, neighbours_down, sweeps)
    along = _positions(layers, extent, neighbours_up, neighbours_down, node_gap)

    # across ranks: each rank as deep as its deepest node
    depth = [max((extent[v][1] for v in layer), default=0.0) for layer in layers]
    across, start = [], margin
    for d in depth:
        across.append(start + d / 2)  # the rank's centre line
        start += d + rank_gap
    low = min((along[v] - extent[v][0] / 2 for v in range(len(rank))), default=0.0)
    shift = margin - low
    centre = [(along[v] + shift, across[rank[v]]) for v in range(len(rank))]
    breadth = max((c[0] + extent[v][0] / 2 for v, c in enumerate(centre)), default=0.0) + margin
    total_depth = start - rank_gap + margin if layers else 2 * margin

    def point(u: float, w: float) -> Point:
        return (w, u) if flip else (u, w)

    boxes = []
    for v in range(n):
        (u, w), (b, d) = centre[v], extent[v]
        x, y = point(u - b / 2, w - d / 2)
        boxes.append((x, y, sizes[v][0], sizes[v][1]))
    routes = []
    for (s, t), chain in zip(edges, chains):
        u_s, w_s = centre[s]
        u_t, w_t = centre[t]
        ports = _port(chain[-2], neighbours_up[t], centre, extent[t][0])
        route = [point(u_s, w_s + extent[s][1] / 2)]
        route += [point(*centre[v]) for v in chain[1:-1]]
        route.append(point(u_t + ports, w_t - extent[t][1] / 2))
        routes.append(route)
    width, height = point(breadth, total_depth)
    return Layout(boxes, routes, width, height)


def _ranks(n: int, edges: Sequence[Tuple[int, int]]) -> List[int]:
    """Longest path from the sources; then each source moves next to its first user."""
    parents: List[List[int]] = [[] for _ in range(n)]
    children: List[List[int]] = [[] for _ in range(n)]
    for s, t in edges:
        if not 0 <= s < t < n:
            raise ValueError(f"edge ({s}, {t}): edges must run from earlier to later nodes")
        parents[t].append(s)
        children[s].append(t)
    rank = [0] * n
    for v in range(n):
        if parents[v]:
            rank[v] = 1 + max(rank[p] for p in parents[v])
    for v in range(n):
        if not parents[v] and children[v]:
            rank[v] = min(rank[c] for c in children[v]) - 1
    return rank


def _order(layers: List[List[int]], up: Dict, down: Dict, sweeps: int) -> List[List[int]]:
    """Barycentre sweeps, alternately downwards and upwards; the order with fewest crossings."""
    best, best_crossings = [list(layer) for layer in layers], _crossings(layers, down)
    for sweep in range(sweeps):
        downwards = sweep % 2 == 0
        indices = range(1, len(layers)) if downwards else range(len(layers) - 2, -1, -1)
        for r in indices:
            fixed = layers[r - 1] if downwards else layers[r + 1]
            slot = {v: k for k, v in enumerate(fixed)}
            neighbours = up if downwards else down
            keyed = []
            for k, v in enumerate(layers[r]):
                ranks = [slot[u] for u in neighbours[v] if u in slot]
                keyed.append((sum(ranks) / len(ranks) if ranks else k, k, v))
            layers[r] = [v for _, _, v in sorted(keyed)]
        crossings = _crossings(layers, down)
        if crossings < best_crossings:
            best, best_crossings = [list(layer) for layer in layers], crossings
    return best


def _crossings(layers: List[List[int]], down: Dict) -> int:
    total = 0
    for upper, lower in zip(layers, layers[1:]):
        slot = {v: k for k, v in enumerate(lower)}
        pairs = [(k, slot[w]) for k, v in enumerate(upper) for w in down[v] if w in slot]
        total += sum(1 for i, (a, b) in enumerate(pairs) for c, d in pairs[i + 1:]
                     if (a - c) * (b - d) < 0)
    return total


def _positions(layers: List[List[int]], extent: List[Tuple[float, float]], up: Dict,
               down: Dict, gap: float) -> Dict[int, float]:
    """Centre of each node along its rank: near its neighbours' mean, never overlapping."""
    along: Dict[int, float] = {}
    for layer in layers:  # start packed, each rank centred on 0
        offsets = _offsets(layer, extent, gap)
        mid = (offsets[0] + offsets[-1]) / 2 if offsets else 0.0
        along.update({v: o - mid for v, o in zip(layer, offsets)})
    for sweep in range(8):
        order = layers if sweep % 2 == 0 else layers[::-1]
        for layer in order:
            wanted = []
            for v in layer:
                # inputs (nodes nothing leads to) pull a quarter as hard: the chain of ops
                # stays straight, the weights sit beside it
                near = [(along[u], 0.25 if not up[u] else 1.0) for u in up[v] + down[v]]
                total = sum(w for _, w in near)
                wanted.append(sum(a * w for a, w in near) / total if near else along[v])
            offsets = _offsets(layer, extent, gap)
            fitted = _isotonic([w - o for w, o in zip(wanted, offsets)])
            along.update({v: f + o for v, f, o in zip(layer, fitted, offsets)})
    return along


def _offsets(layer: List[int], extent: List[Tuple[float, float]], gap: float) -> List[float]:
    """Centres of the rank's boxes packed side by side from 0 with `gap` between them."""
    offsets, at = [], 0.0
    for k, v in enumerate(layer):
        if k:
            at += (extent[layer[k - 1]][0] + extent[v][0]) / 2 + gap
        offsets.append(at)
    return offsets


def _isotonic(values: List[float]) -> List[float]:
    """The non-decreasing sequence nearest `values` in least squares (pool adjacent violators)."""
    blocks: List[List[float]] = []  # [mean, count]
    for value in values:
        blocks.append([value, 1.0])
        while len(blocks) > 1 and blocks[-2][0] > blocks[-1][0]:
            (m2, c2), (m1, c1) = blocks.pop(), blocks.pop()
            blocks.append([(m1 * c1 + m2 * c2) / (c1 + c2), c1 + c2])
    out: List[float] = []
    for mean, count in blocks:
        out.extend([mean] * int(count))
    return out


def _port(hop: int, parents: List[int], centre: List[Point], breadth: float) -> float:
    """Where along the target's border the edge arriving from `hop` (its source or its last
    waypoint) ends: the target's inputs side by side, in the order they stand."""
    inputs = sorted(set(parents), key=lambda v: centre[v][0])
    if len(inputs) < 2:
        return 0.0
    step = min(breadth * 0.8 / (len(inputs) - 1), 18.0)
    return (inputs.index(hop) - (len(inputs) - 1) / 2) * step
