"""The supply network among micro-enterprises: who buys from whom, and in what shares.

The network is built once, at the start of a run, with :mod:`networkx` (a directed graph,
an edge ``buyer -> supplier`` weighted by the buyer's share of its network purchases),
and frozen into a :class:`scipy.sparse.csr_array` of trade shares ``W`` (rows: buyers,
columns: suppliers; each row of a buyer with suppliers sums to 1). The monthly flows use
only arrays: the stored entries of ``W`` are the *edges* (in CSR order), so a per-edge
amount (a purchase, a payable, a payment) is an array aligned with ``W.data``, and the
total per supplier is a sparse product / a bincount over the edges' columns.

When a supplier closes, its buyers move their new purchases to their remaining open
suppliers (:meth:`SupplyNetwork.active_shares`); what they already owe the closed firm is
still paid to it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import networkx as nx
import numpy as np
from scipy import sparse


@dataclass
class SupplyNetwork:
    """Trade shares among firms, with the edge arrays the monthly flows use.

    Attributes:
        shares: ``(n_firms, n_firms)`` CSR array of trade shares, float64: entry
            ``[i, j]`` is the share of buyer ``i``'s network purchases bought from
            supplier ``j``; rows of buyers with suppliers sum to 1, others are empty.
        buyer: ``(n_edges,)`` int64, the buyer (row) of each stored entry, in CSR order.
        supplier: ``(n_edges,)`` int64, the supplier (column) of each stored entry.
        graph: the network as a :class:`networkx.DiGraph` (edges buyer -> supplier,
            attribute ``weight`` = share), for analysis; never used monthly, so it is
            built on first access (a 100 k-firm graph takes seconds to build).
    """

    shares: sparse.csr_array
    buyer: np.ndarray
    supplier: np.ndarray
    _graph: nx.DiGraph | None = field(default=None, repr=False, compare=False)

    @property
    def graph(self) -> nx.DiGraph:
        """The :class:`networkx.DiGraph` of the edges (nodes ``0..n_firms-1``), cached."""
        if self._graph is None:
            graph = nx.DiGraph()
            graph.add_nodes_from(range(self.n_firms))
            graph.add_weighted_edges_from(
                zip(self.buyer.tolist(), self.supplier.tolist(), self.share.tolist(), strict=True)
            )
            self._graph = graph
        return self._graph

    @property
    def n_firms(self) -> int:
        """Number of firms (rows)."""
        return int(self.shares.shape[0])

    @property
    def n_edges(self) -> int:
        """Number of buyer-supplier links."""
        return int(self.buyer.shape[0])

    @property
    def share(self) -> np.ndarray:
        """``(n_edges,)`` float64 trade share of each edge (``shares.data``)."""
        return self.shares.data

    @classmethod
    def from_edges(
        cls, n_firms: int, buyers: np.ndarray, suppliers: np.ndarray, weights: np.ndarray
    ) -> SupplyNetwork:
        """Build the network from edge lists (weights are normalised per buyer).

        Args:
            n_firms: number of firms.
            buyers: ``(k,)`` int buyer index of each edge.
            suppliers: ``(k,)`` int supplier index of each edge (never the buyer itself).
            weights: ``(k,)`` positive weights; a buyer's shares are its weights / their sum.

        Returns:
            The network; duplicate (buyer, supplier) pairs are merged.

        Raises:
            ValueError: a self-loop, a non-positive weight or an index out of range.
        """
        buyers = np.asarray(buyers, dtype=np.int64)
        suppliers = np.asarray(suppliers, dtype=np.int64)
        weights = np.asarray(weights, dtype=np.float64)
        if np.any(buyers == suppliers):
            raise ValueError("a firm cannot be its own supplier")
        if np.any(weights <= 0):
            raise ValueError("edge weights must be positive")
        if buyers.size and (
            min(buyers.min(), suppliers.min()) < 0 or max(buyers.max(), suppliers.max()) >= n_firms
        ):
            raise ValueError(f"edge index out of range for {n_firms} firms")
        # Merge duplicate pairs and normalise each buyer's weights to shares.
        pair = buyers * n_firms + suppliers
        uniq, inverse = np.unique(pair, return_inverse=True)
        merged = np.bincount(inverse, weights=weights, minlength=uniq.size)
        b_u, s_u = uniq // n_firms, uniq % n_firms
        total = np.bincount(b_u, weights=merged, minlength=n_firms)
        share = merged / total[b_u] if uniq.size else merged
        # ``uniq`` is sorted by (buyer, supplier): the edges are already in CSR order with
        # sorted column indices, so the matrix is assembled directly from them.
        indptr = np.zeros(n_firms + 1, dtype=np.int64)
        np.cumsum(np.bincount(b_u, minlength=n_firms), out=indptr[1:])
        matrix = sparse.csr_array(
            (share.astype(np.float64), s_u.astype(np.int32), indptr.astype(np.int32)),
            shape=(n_firms, n_firms),
        )
        matrix.has_sorted_indices = True
        return cls(shares=matrix, buyer=b_u.astype(np.int64), supplier=s_u.astype(np.int64))

    def append_buyers(
        self, n_firms: int, buyers: np.ndarray, suppliers: np.ndarray, weights: np.ndarray
    ) -> SupplyNetwork:
        """The network with new firms: rows up to ``n_firms`` and the new buyers' edges.

        Existing edges keep their order and shares exactly; the new edges follow them
        (CSR order, as the new buyers are rows after every existing one).

        Args:
            n_firms: the firm count after entry (>= :attr:`n_firms`).
            buyers: ``(k,)`` new buyers' rows, each >= the old firm count, ascending.
            suppliers: ``(k,)`` their suppliers (distinct per buyer).
            weights: ``(k,)`` positive weights; normalised per buyer to shares.

        Returns:
            A new :class:`SupplyNetwork` (its graph is rebuilt on first access).

        Raises:
            ValueError: a buyer among the existing rows, or buyers not ascending.
        """
        old_n = self.n_firms
        buyers = np.asarray(buyers, dtype=np.int64)
        if buyers.size and (buyers.min() < old_n or np.any(np.diff(buyers) < 0)):
            raise ValueError("append_buyers: new buyers must be new rows, in ascending order")
        weights = np.asarray(weights, dtype=np.float64)
        total = np.bincount(buyers - old_n, weights=weights, minlength=n_firms - old_n)
        share = weights / total[buyers - old_n] if buyers.size else weights
        counts = np.bincount(buyers - old_n, minlength=n_firms - old_n)
        indptr = np.concatenate(
            [self.shares.indptr.astype(np.int64), self.shares.indptr[-1] + np.cumsum(counts)]
        )
        matrix = sparse.csr_array(
            (
                np.concatenate([self.shares.data, share]),
                np.concatenate([self.shares.indices, suppliers.astype(np.int32)]),
                indptr.astype(np.int32),
            ),
            shape=(n_firms, n_firms),
        )
        return SupplyNetwork(
            shares=matrix,
            buyer=np.concatenate([self.buyer, buyers]),
            supplier=np.concatenate([self.supplier, np.asarray(suppliers, dtype=np.int64)]),
        )

    # ------------------------------------------------------------------ monthly flows
    def active_shares(self, open_firm: np.ndarray) -> np.ndarray:
        """Trade shares for new purchases when only open suppliers sell.

        Args:
            open_firm: ``(n_firms,)`` bool.

        Returns:
            ``(n_edges,)`` float64 shares renormalised per buyer over its open suppliers;
            0 on edges to closed suppliers, and on every edge of a buyer whose suppliers
            are all closed (it then buys outside the network).
        """
        live = self.share * open_firm[self.supplier]
        total = np.bincount(self.buyer, weights=live, minlength=self.n_firms)
        denom = total[self.buyer]
        return np.divide(live, denom, out=np.zeros_like(live), where=denom > 0)

    def has_open_supplier(self, open_firm: np.ndarray) -> np.ndarray:
        """``(n_firms,)`` bool: the firm has at least one open network supplier."""
        live = open_firm[self.supplier].astype(np.float64)
        return np.bincount(self.buyer, weights=live, minlength=self.n_firms) > 0

    def per_buyer(self, edge_amounts: np.ndarray) -> np.ndarray:
        """Sum per-edge amounts over each buyer's edges: ``(n_firms,)`` float64."""
        return np.bincount(self.buyer, weights=edge_amounts, minlength=self.n_firms)

    def per_supplier(self, edge_amounts: np.ndarray) -> np.ndarray:
        """Sum per-edge amounts over each supplier's edges: ``(n_firms,)`` float64."""
        return np.bincount(self.supplier, weights=edge_amounts, minlength=self.n_firms)

    def to_suppliers(self, buyer_amounts: np.ndarray) -> np.ndarray:
        """What each supplier receives when every buyer splits an amount by its shares.

        ``W.T @ x``: supplier ``j`` receives ``sum_i W[i, j] x_i``.

        Args:
            buyer_amounts: ``(n_firms,)`` amount per buyer.

        Returns:
            ``(n_firms,)`` float64 amount per supplier.
        """
        return self.shares.T @ np.asarray(buyer_amounts, dtype=np.float64)


def build_supply_network(
    sector: np.ndarray,
    size_cny: np.ndarray,
    supplier_sectors: list[list[int]],
    buys_in_network: np.ndarray,
    suppliers_per_firm: int,
    rng: np.random.Generator,
) -> SupplyNetwork:
    """Draw the supply network: each buying firm picks suppliers among its supplier sectors.

    Each firm with ``buys_in_network`` draws ``suppliers_per_firm`` suppliers (without
    replacement, never itself) from the firms of its sector's supplier sectors, with
    probability proportional to size (larger wholesalers serve more buyers: preferential
    attachment by size). Shares are proportional to the supplier's size. Vectorised per
    sector (a loop over the handful of sectors at initialisation only).

    Args:
        sector: ``(n_firms,)`` int sector index of each firm.
        size_cny: ``(n_firms,)`` positive size (base monthly revenue).
        supplier_sectors: per sector index, the sector indices it buys from.
        buys_in_network: ``(n_firms,)`` bool, the firm buys part of its inputs in the network.
        suppliers_per_firm: suppliers drawn per buying firm.
        rng: the population stream (the network is part of the population every policy
            shares).

    Returns:
        The :class:`SupplyNetwork`.
    """
    n = int(sector.shape[0])
    buyers_all: list[np.ndarray] = []
    suppliers_all: list[np.ndarray] = []
    weights_all: list[np.ndarray] = []
    for s, sources in enumerate(supplier_sectors):
        buyers = np.flatnonzero((sector == s) & buys_in_network)
        candidates = np.flatnonzero(np.isin(sector, sources))
        if buyers.size == 0 or candidates.size < 2 or suppliers_per_firm == 0:
            continue
        k = min(suppliers_per_firm, candidates.size - 1)
        p = size_cny[candidates] / size_cny[candidates].sum()
        # Draw k + 1 candidates per buyer (Gumbel-top-k: weighted sampling without
        # replacement, vectorised), then drop the buyer itself if it was drawn.
        m = k + 1
        if candidates.size <= 64:
            keys = np.log(p)[None, :] - np.log(-np.log(rng.random((buyers.size, candidates.size))))
            top = np.argsort(-keys, axis=1)[:, :m]
        else:
            # Large sectors: oversample with replacement, then keep the first m distinct.
            draws = rng.choice(candidates.size, size=(buyers.size, 4 * m), p=p)
            top = _first_distinct(draws, m)
        picked = candidates[top]
        self_pick = picked == buyers[:, None]
        keep = ~self_pick & (np.cumsum(~self_pick, axis=1) <= k)
        rows = np.repeat(buyers, keep.sum(axis=1))
        cols = picked[keep]
        buyers_all.append(rows)
        suppliers_all.append(cols)
        weights_all.append(size_cny[cols])
    if buyers_all:
        b = np.concatenate(buyers_all)
        sup = np.concatenate(suppliers_all)
        w = np.concatenate(weights_all)
    else:
        b = sup = np.zeros(0, dtype=np.int64)
        w = np.zeros(0)
    return SupplyNetwork.from_edges(n, b, sup, w)


def _first_distinct(draws: np.ndarray, m: int) -> np.ndarray:
    """First ``m`` distinct values of each row, in order of first appearance.

    Rows with fewer than ``m`` distinct values repeat their first value (duplicate
    pairs are merged by :meth:`SupplyNetwork.from_edges`).
    """
    width = draws.shape[1]
    pos = np.argsort(draws, axis=1, kind="stable")
    order = np.take_along_axis(draws, pos, axis=1)
    first = np.ones_like(order, dtype=bool)
    first[:, 1:] = order[:, 1:] != order[:, :-1]
    first_pos = np.where(first, pos, 2 * width)
    pick = np.argsort(first_pos, axis=1, kind="stable")[:, :m]
    chosen = np.take_along_axis(order, pick, axis=1)
    valid = np.take_along_axis(first_pos, pick, axis=1) < 2 * width
    return np.where(valid, chosen, chosen[:, :1])
