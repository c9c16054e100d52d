"""The network of customers: where they are, what kind of trade they are in,
whom they buy from, when they joined and which rep looks after them."""

from dataclasses import dataclass

import numpy as np
import pandas as pd

from customers.demo.common import pick, words
from customers.demo.staff import TEAMS, owners

# The network needs a distributor and two wholesalers per area before any shop.
MIN_CUSTOMERS = 20
# How much faster customers join each year than the year before.
GROWTH = 0.3


@dataclass(frozen=True)
class City:
    name: str
    province: str  # empty for the municipalities
    pinyin: str
    area_code: str
    area: str
    weight: float
    districts: tuple[str, ...]


def _city(spec):
    name, province, pinyin, area_code, area, weight, *districts = spec.split()
    return City(name, province.strip("-"), pinyin, area_code, area, float(weight), tuple(districts))


CITIES = tuple(
    _city(spec)
    for spec in (
        "上海 - shanghai 021 华东 5 浦东新区 闵行区 徐汇区 静安区 普陀区",
        "杭州 浙江省 hangzhou 0571 华东 3 西湖区 拱墅区 上城区 滨江区",
        "南京 江苏省 nanjing 025 华东 3 鼓楼区 玄武区 秦淮区 江宁区",
        "苏州 江苏省 suzhou 0512 华东 2 姑苏区 吴中区 相城区 吴江区",
        "宁波 浙江省 ningbo 0574 华东 2 海曙区 江北区 鄞州区 北仑区",
        "合肥 安徽省 hefei 0551 华东 2 蜀山区 包河区 庐阳区 瑶海区",
        "广州 广东省 guangzhou 020 华南 4 天河区 越秀区 海珠区 白云区",
        "深圳 广东省 shenzhen 0755 华南 4 南山区 福田区 罗湖区 宝安区",
        "东莞 广东省 dongguan 0769 华南 2 南城街道 东城街道 长安镇",
        "佛山 广东省 foshan 0757 华南 2 禅城区 南海区 顺德区",
        "厦门 福建省 xiamen 0592 华南 2 思明区 湖里区 集美区",
        "南宁 广西壮族自治区 nanning 0771 华南 1 青秀区 兴宁区 西乡塘区",
        "成都 四川省 chengdu 028 西南 3 锦江区 青羊区 武侯区 成华区",
        "重庆 - chongqing 023 西南 3 渝中区 江北区 南岸区 沙坪坝区",
        "昆明 云南省 kunming 0871 西南 1 五华区 盘龙区 官渡区",
        "贵阳 贵州省 guiyang 0851 西南 1 南明区 云岩区 观山湖区",
        "北京 - beijing 010 华北 4 朝阳区 海淀区 丰台区 东城区",
        "天津 - tianjin 022 华北 2 和平区 河西区 南开区 滨海新区",
        "石家庄 河北省 shijiazhuang 0311 华北 1 长安区 桥西区 裕华区",
        "太原 山西省 taiyuan 0351 华北 1 小店区 迎泽区 杏花岭区",
        "济南 山东省 jinan 0531 华北 2 历下区 市中区 槐荫区",
        "青岛 山东省 qingdao 0532 华北 2 市南区 市北区 崂山区",
    )
)
AREAS = ("华东", "华南", "西南", "华北")
# 西南 is worked from Guangzhou, by the south team.
AREA_TEAM = {"华东": TEAMS[0], "华南": TEAMS[1], "西南": TEAMS[1], "华北": TEAMS[2]}


@dataclass(frozen=True)
class Segment:
    """Who a kind of customer is and how they buy and pay."""

    key: str
    kind: str
    channel_role: str
    terminal_type: str
    orders_a_year: float  # mean of the gamma-distributed purchase rate
    rate_shape: float
    dropout: tuple[float, float]  # beta(a, b) of the chance to stop after an order
    basket: float  # median order value in yuan
    basket_sigma: float
    credit_share: float  # share buying on invoice (B2B); the rest pay cash
    prospect_share: float
    interactions_a_year: float
    category_weights: tuple[float, ...]  # over CATEGORIES
    names: tuple[str, ...]
    contact_titles: tuple[str, ...]
    contacts: tuple[int, int]  # how many contact people, fewest and most


def _segment(key, kind, role, terminal, buying, paying, categories, names, titles, contacts):
    rate, shape, dropout, basket, sigma = buying
    credit, prospect, interactions = paying
    return Segment(
        key, kind, role, terminal, rate, shape, dropout, basket, sigma, credit, prospect,
        interactions, categories, words(names), words(titles), contacts,
    )  # fmt: skip


# buying: orders a year, gamma shape, dropout beta(a, b), median basket, basket sigma;
# paying: share on credit, share of prospects, contacts a year.
# The dropouts lose about a tenth of the distributors, wholesalers, hotels and
# supermarkets a year, a seventh of the restaurants and small shops and a quarter of
# the individual buyers: with the growing base, well under a fifth of those who ever
# bought have not bought for a year, so that RFM's quintiles leave room for new and
# promising customers among the lowest frequencies.
SEGMENTS = (
    _segment(
        "distributor", "company", "general_distributor", "",
        (36, 4.0, (1.0, 400.0), 12_000, 0.5), (1.0, 0.0, 14), (4, 3, 3, 2, 2, 1, 1),
        "{city}{brand}商贸有限公司 {city}{brand}酒业有限公司 {city}{brand}食品贸易有限公司 "
        "{city}{brand}供应链管理有限公司",
        "总经理 采购经理 财务经理 仓库主管", (2, 3),
    ),
    _segment(
        "wholesaler", "company", "wholesaler", "",
        (22, 3.0, (1.0, 220.0), 3_500, 0.6), (0.9, 0.03, 9), (3, 3, 3, 2, 2, 2, 1),
        "{city}{brand}副食品批发部 {city}{district}{brand}商行 {city}{brand}酒水批发有限公司 "
        "{brand}粮油副食批发部",
        "老板 老板娘 采购 财务", (1, 3),
    ),
    _segment(
        "hotel", "company", "terminal", "hotel",
        (12, 2.5, (1.2, 140.0), 1_200, 0.65), (0.85, 0.08, 5), (4, 3, 3, 1, 1, 1, 1),
        "{city}{brand}大酒店 {city}{brand}宾馆有限公司 {city}{brand}酒店管理有限公司",
        "采购经理 餐饮总监 财务主管", (1, 2),
    ),
    _segment(
        "supermarket", "company", "terminal", "supermarket",
        (14, 2.5, (1.2, 140.0), 1_400, 0.7), (0.85, 0.08, 5), (2, 3, 4, 3, 3, 2, 2),
        "{city}{brand}超市有限公司 {brand}购物广场（{road}店） {brand}生活超市（{road}店）",
        "采购经理 店长 品类经理 财务", (1, 2),
    ),
    _segment(
        "restaurant", "company", "terminal", "restaurant",
        (12, 2.5, (1.2, 100.0), 700, 0.65), (0.6, 0.08, 4), (3, 4, 3, 0, 0, 1, 2),
        "{city}{brand}餐饮管理有限公司 {brand}酒家 {brand}火锅（{road}店） {brand}农家菜馆",
        "老板 店长 厨师长", (1, 2),
    ),
    _segment(
        "convenience", "company", "terminal", "convenience_store",
        (16, 2.5, (1.2, 120.0), 350, 0.6), (0.3, 0.08, 3), (1, 3, 4, 3, 4, 0, 1),
        "{brand}便利店（{road}店） {city}{brand}便利连锁有限公司 {brand}24小时便利店",
        "店主 店长", (1, 1),
    ),
    _segment(
        "individual", "individual", "consumer", "",
        (2.5, 1.5, (1.5, 12.0), 500, 0.7), (0.0, 0.15, 1.2), (5, 1, 1, 2, 2, 0, 0),
        "", "", (0, 0),
    ),
)  # fmt: skip
TERMINAL_MIX = {"hotel": 0.15, "supermarket": 0.25, "restaurant": 0.35, "convenience": 0.25}
INDIVIDUAL_SHARE = 0.15


def segment_counts(total):
    distributors = max(len(AREAS), round(total * 0.005))
    wholesalers = max(2 * len(AREAS), round(total * 0.05))
    individuals = round(total * INDIVIDUAL_SHARE)
    terminals = max(0, total - distributors - wholesalers - individuals)
    counts = {"distributor": distributors, "wholesaler": wholesalers, "individual": individuals}
    shares = np.array(list(TERMINAL_MIX.values()))
    split = np.floor(shares * terminals).astype(int)
    split[-1] += terminals - split.sum()
    counts.update(zip(TERMINAL_MIX, split.tolist(), strict=True))
    # Small totals: trim individuals, then terminals, so that the total is exact.
    excess = sum(counts.values()) - total
    for key in ("individual", "convenience", "restaurant", "supermarket", "hotel"):
        cut = min(excess, counts[key])
        counts[key] -= cut
        excess -= cut
    return counts


def distribution_network(rng, total, start):
    """Segments, places, parents, join days and owners; rows sorted by join day."""
    counts = segment_counts(total)
    segment_index = {segment.key: i for i, segment in enumerate(SEGMENTS)}
    segment = np.concatenate(
        [np.full(counts[s.key], segment_index[s.key]) for s in SEGMENTS if counts.get(s.key)]
    ).astype(int)
    n = len(segment)
    city_weights = np.array([city.weight for city in CITIES], dtype=float)
    city_area = np.array([AREAS.index(city.area) for city in CITIES])
    area = pick(rng, np.bincount(city_area, weights=city_weights), n)
    # Every area has a distributor and a wholesaler.
    for key in ("distributor", "wholesaler"):
        first = np.flatnonzero(segment == segment_index[key])[: len(AREAS)]
        area[first] = np.arange(len(first))
    city = city_in_area(rng, area, city_area, city_weights)
    parent = np.full(n, -1)
    terminals = [segment_index[key] for key in TERMINAL_MIX]
    supply = (
        ([segment_index["wholesaler"]], segment_index["distributor"], 0.5),
        (terminals, segment_index["wholesaler"], 0.7),
    )
    for child_segments, supplier_segment, same_city in supply:
        children = np.isin(segment, child_segments)
        suppliers = np.flatnonzero(segment == supplier_segment)
        for a in range(len(AREAS)):
            rows = np.flatnonzero(children & (area == a))
            options = suppliers[area[suppliers] == a]
            parent[rows] = options[rng.integers(0, len(options), len(rows))]
        # Most buy from a supplier in their own city; the rest from one elsewhere in the area.
        rows = np.flatnonzero(children & (rng.random(n) < same_city))
        city[rows] = city[parent[rows]]
    prospect = rng.random(n) < per_segment("prospect_share", segment)
    joined = join_days(rng, segment, prospect, start)
    team = np.array([TEAMS.index(AREA_TEAM[a]) for a in AREAS])[area]
    network = pd.DataFrame(
        {
            "segment": segment,
            "area": area,
            "city": city,
            "parent": parent,
            "prospect": prospect,
            "joined": joined,
            "team": team,
            "owner": owners(rng, team),
        }
    )
    order = np.argsort(network["joined"].to_numpy(), kind="stable")
    network = network.iloc[order].reset_index(drop=True)
    position = np.empty(n, dtype=int)
    position[order] = np.arange(n)
    has_parent = network["parent"] >= 0
    network.loc[has_parent, "parent"] = position[network.loc[has_parent, "parent"]]
    return network


def per_segment(attribute, segment):
    """The segment's value of `attribute` for each row."""
    return np.array([getattr(s, attribute) for s in SEGMENTS])[segment]


def growing_days(rng, start, size):
    """Days in [start, 0) drawn with a density growing by GROWTH a year."""
    rate = np.log1p(GROWTH) / 365.0
    floor = np.exp(rate * start)
    return np.floor(np.log(floor + rng.random(size) * (1.0 - floor)) / rate).astype(int)


def city_in_area(rng, area, city_area, city_weights):
    city = np.empty(len(area), dtype=int)
    for a in range(len(AREAS)):
        rows = np.flatnonzero(area == a)
        options = np.flatnonzero(city_area == a)
        city[rows] = options[pick(rng, city_weights[options], len(rows))]
    return city


def join_days(rng, segment, prospect, start):
    """Day each customer joined, relative to today (negative: in the past).
    Distributors mostly predate the history; the business grows, so that more
    customers joined lately than long ago; prospects mostly joined lately."""
    n = len(segment)
    keys = per_segment("key", segment)
    early = np.where(keys == "distributor", 0.8, np.where(keys == "individual", 0.1, 0.3))
    before = rng.random(n) < early
    joined = np.where(before, rng.integers(start - 1000, start, n), growing_days(rng, start, n))
    recent = prospect & (rng.random(n) < 0.7)
    return np.where(recent, rng.integers(-400, 0, n), joined)
