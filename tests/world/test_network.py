"""The supply network: trade shares, edge arrays, rewiring around closed suppliers."""

from __future__ import annotations

import networkx as nx
import numpy as np
import pytest

from sim.world.network import SupplyNetwork, build_supply_network


def test_shares_are_normalised_per_buyer_and_duplicates_merge():
    # Buyer 0 buys from 1 (weights 1 + 1) and 2 (weight 2): shares 0.5 / 0.5.
    net = SupplyNetwork.from_edges(4, [0, 0, 0, 3], [1, 1, 2, 2], [1.0, 1.0, 2.0, 5.0])
    dense = net.shares.toarray()
    assert dense[0].tolist() == [0.0, 0.5, 0.5, 0.0]
    assert dense[3].tolist() == [0.0, 0.0, 1.0, 0.0]
    assert dense[1].sum() == 0.0  # buys outside the network
    assert net.n_edges == 3
    assert net.buyer.tolist() == [0, 0, 3] and net.supplier.tolist() == [1, 2, 2]
    assert isinstance(net.graph, nx.DiGraph) and net.graph[0][1]["weight"] == 0.5


def test_flows_to_suppliers_are_the_transposed_share_product():
    net = SupplyNetwork.from_edges(3, [0, 0, 1], [1, 2, 2], [3.0, 1.0, 1.0])
    pay = np.array([100.0, 40.0, 0.0])
    # Supplier 1 gets 75 % of 100; supplier 2 gets 25 % of 100 + all of 40.
    assert net.to_suppliers(pay).tolist() == [0.0, 75.0, 65.0]
    per_edge = pay[net.buyer] * net.share
    assert net.per_supplier(per_edge).tolist() == [0.0, 75.0, 65.0]
    assert net.per_buyer(per_edge).tolist() == [100.0, 40.0, 0.0]


def test_closed_supplier_loses_new_purchases_to_the_open_ones():
    net = SupplyNetwork.from_edges(4, [0, 0, 3], [1, 2, 2], [1.0, 3.0, 1.0])
    open_firm = np.array([True, True, False, True])
    shares = net.active_shares(open_firm)
    assert shares.tolist() == [1.0, 0.0, 0.0]  # buyer 0 moves to supplier 1; buyer 3 has none
    assert net.has_open_supplier(open_firm).tolist() == [True, False, False, False]


def test_self_loops_and_bad_weights_are_rejected():
    with pytest.raises(ValueError, match="own supplier"):
        SupplyNetwork.from_edges(2, [0], [0], [1.0])
    with pytest.raises(ValueError, match="positive"):
        SupplyNetwork.from_edges(2, [0], [1], [0.0])


def test_built_network_links_buyers_to_their_supplier_sectors():
    rng = np.random.default_rng(0)
    n = 3000
    sector = rng.integers(0, 3, n)  # 0 shops, 1 restaurants, 2 wholesalers
    size = rng.lognormal(10, 0.5, n)
    buys = sector != 2
    net = build_supply_network(sector, size, [[2], [2], []], buys, 2, rng)
    assert (sector[net.supplier] == 2).all()
    assert (net.buyer != net.supplier).all()
    per_buyer = np.bincount(net.buyer, minlength=n)
    assert (per_buyer[buys] >= 1).all() and (per_buyer[buys] <= 2).all()
    assert (per_buyer[~buys] == 0).all()
    row_sums = np.asarray(net.shares.sum(axis=1)).ravel()
    np.testing.assert_allclose(row_sums[buys], 1.0)
    # Larger wholesalers serve more buyers (drawn with probability proportional to size).
    served = np.bincount(net.supplier, minlength=n)[sector == 2]
    big = size[sector == 2] > np.median(size[sector == 2])
    assert served[big].mean() > 1.3 * served[~big].mean()
