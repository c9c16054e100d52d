"""The customer file: identity, address, phones, source and notes; contact people; tags."""

import numpy as np
import pandas as pd

from customers.demo.common import pick, refs, words
from customers.demo.names import (
    ESTATES,
    ROADS,
    companies_in_cities,
    district_name,
    email_addresses,
    people_in_cities,
    person_names,
    phone_numbers,
)
from customers.demo.network import CITIES, SEGMENTS, per_segment
from customers.demo.staff import TEAMS

SOURCES = ("referral", "exhibition", "advertising", "website", "cold_call", "partner", "other")
SOURCE_WEIGHTS = (0.3, 0.15, 0.1, 0.1, 0.2, 0.1, 0.05)
TAG_NAMES = ("重点", "连锁", "新开店", "季节性", "团购", "现款现货")
NOTES = words(
    "每月初对账 需提前一天预约送货 节假日备货量大 只收整箱 仓库在后门，下午送货 "
    "老板不常在店，找店长 偏好高端白酒 对价格敏感"
)


def customer_frame(rng, network, today_d):
    n = len(network)
    seg = network["segment"].to_numpy()
    city = network["city"].to_numpy()
    company = per_segment("kind", seg) == "company"
    rows = np.flatnonzero(company)
    firms = companies_in_cities(rng, city[rows], [SEGMENTS[s].names for s in seg[rows]])
    names = np.empty(n, dtype=object)
    names[rows] = firms["name"].to_numpy()
    names[~company] = people_in_cities(rng, city[~company])
    brand = np.zeros(n, dtype=int)
    brand[rows] = firms["brand"].to_numpy()
    road = rng.integers(0, len(ROADS), n)
    road[rows] = firms["road"].to_numpy()
    district = rng.integers(0, 1000, n)
    district[rows] = firms["district"].to_numpy()
    number = rng.integers(1, 999, n)
    unit = rng.integers(1, 3, n)
    addresses = []
    for i in range(n):
        place = CITIES[city[i]]
        street = f"{ROADS[road[i]]}{number[i]}号"
        if not company[i]:
            estate = ESTATES[number[i] % len(ESTATES)]
            street += f"{estate}{number[i] % 30 + 1}栋{unit[i]}单元"
        addresses.append(
            f"{place.province}{place.name}市{district_name(city[i], district[i])}{street}"
        )
    joined = today_d + network["joined"].to_numpy()
    created = pd.to_datetime(joined) + pd.to_timedelta(rng.integers(9 * 60, 18 * 60, n), unit="min")
    return pd.DataFrame(
        {
            "external_ref": refs("KH", n, 6),
            "name": names,
            "kind": per_segment("kind", seg),
            "channel_role": per_segment("channel_role", seg),
            "terminal_type": per_segment("terminal_type", seg),
            "parent": network["parent"].to_numpy(),
            "region": [CITIES[c].name for c in city],
            "address": addresses,
            "phone": phone_numbers(rng, city, landline=company & (rng.random(n) < 0.5)),
            "email": email_addresses(rng, brand, city, company),
            "source": np.array(SOURCES, dtype=object)[pick(rng, SOURCE_WEIGHTS, n)],
            "owner": network["owner"].to_numpy(),
            "team": np.array(TEAMS, dtype=object)[network["team"].to_numpy()],
            "notes": np.where(
                rng.random(n) < 0.15, np.array(NOTES, dtype=object)[number % len(NOTES)], ""
            ),
            "created_at": created,
        }
    )


def contact_people(rng, network):
    """Contact people at companies: the first is primary."""
    seg = network["segment"].to_numpy()
    fewest, most = per_segment("contacts", seg).T
    count = rng.integers(fewest, most + 1)
    customer = np.repeat(np.arange(len(network)), count)
    rank = np.arange(len(customer)) - np.repeat(np.cumsum(count) - count, count)
    n = len(customer)
    titles = [SEGMENTS[s].contact_titles for s in seg[customer]]
    variant = rng.integers(0, 100, n)
    phones = phone_numbers(rng, np.zeros(n, dtype=int), landline=np.zeros(n, dtype=bool))
    return pd.DataFrame(
        {
            "customer": customer,
            "name": person_names(rng, n),
            "title": [t[(p + r) % len(t)] for t, p, r in zip(titles, variant, rank, strict=True)],
            "phone": phones,
            "wechat": np.where(rng.random(n) < 0.6, np.array(phones, dtype=object), ""),
            "is_primary": rank == 0,
        }
    )


def tags(rng, network, profile, order_rows):
    """Tags a sales team would set: key accounts, chains, new shops, seasonal buyers."""
    n = len(network)
    keys = per_segment("key", network["segment"].to_numpy())
    revenue_rate = (profile["rate"] * profile["basket"]).to_numpy()
    ordered = np.bincount(order_rows["customer"], minlength=n) > 0
    key_account = (
        ordered & (revenue_rate >= np.quantile(revenue_rate[ordered], 0.9))
        if ordered.any()
        else ordered
    )
    chain = np.isin(keys, ["supermarket", "convenience", "hotel"]) & (rng.random(n) < 0.25)
    new_shop = (
        (keys != "individual") & (network["joined"].to_numpy() > -180) & (rng.random(n) < 0.6)
    )
    seasonal = rng.random(n) < np.where(np.isin(keys, ["individual", "restaurant"]), 0.12, 0.04)
    group_buy = (keys == "individual") & (rng.random(n) < 0.2)
    cash = ~profile["credit"].to_numpy() & (keys != "individual") & (rng.random(n) < 0.5)
    flags = [key_account, chain, new_shop, seasonal, group_buy, cash]
    parts = [
        pd.DataFrame({"customer": np.flatnonzero(flag), "tag": name})
        for name, flag in zip(TAG_NAMES, flags, strict=True)
    ]
    return pd.concat(parts, ignore_index=True).sort_values(["customer", "tag"], ignore_index=True)
