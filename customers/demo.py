"""Demo data (演示数据): a distribution network with three years of history.

`demo_dataset(customers=, seed=, today=)` is pure: numpy and pandas only, no
ORM, no clock, one `numpy.random.default_rng(seed)`, so the same arguments give
the same frames. Rows refer to each other by position (`customer` is a row of
`customers`, `invoice` a row of `invoices`); the seed_demo command gives them
database ids and writes them.

Purchases follow a BG/NBD-like process: while a customer is active, orders
arrive at their own gamma-distributed rate (thinned by the season: stocking up
before the Spring Festival, closed shops in its first week); after each order
the customer drops out with their own beta-distributed probability. Nobody is
flagged as churned: a churn score has to read it from the rhythm of orders.
Order value is lognormal around each customer's typical basket, so a fifth of
the customers bring roughly three quarters of the revenue.
"""

from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd

DEFAULT_PASSWORD = "demo12345"
HISTORY_YEARS = 3
# The network needs a distributor and two wholesalers per area before any shop.
MIN_CUSTOMERS = 20

TEAMS = ("华东销售一部", "华南销售二部", "华北销售三部")


@dataclass(frozen=True)
class StaffMember:
    username: str
    last_name: str
    first_name: str
    role: str  # "admin", "manager" or "rep"
    team: str = ""
    # Reps: relative share of their team's customers they own.
    share: float = 0.0


STAFF = (
    StaffMember("admin", "陈", "建国", "admin"),
    StaffMember("manager", "张", "伟", "manager", TEAMS[0]),
    StaffMember("manager2", "黄", "丽华", "manager", TEAMS[1]),
    StaffMember("manager3", "赵", "志强", "manager", TEAMS[2]),
    StaffMember("rep1", "王", "芳", "rep", TEAMS[0], 0.45),
    StaffMember("rep3", "刘", "洋", "rep", TEAMS[0], 0.2),
    StaffMember("rep4", "杨", "静", "rep", TEAMS[0], 0.2),
    StaffMember("rep5", "周", "磊", "rep", TEAMS[0], 0.15),
    StaffMember("rep2", "李", "娜", "rep", TEAMS[1], 0.45),
    StaffMember("rep6", "吴", "敏", "rep", TEAMS[1], 0.2),
    StaffMember("rep7", "郑", "浩", "rep", TEAMS[1], 0.2),
    StaffMember("rep8", "孙", "婷", "rep", TEAMS[1], 0.15),
    StaffMember("rep9", "徐", "刚", "rep", TEAMS[2], 0.4),
    StaffMember("rep10", "马", "丽", "rep", TEAMS[2], 0.3),
    StaffMember("rep11", "朱", "军", "rep", TEAMS[2], 0.3),
)


def _words(text):
    return tuple(text.split())


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

# Trade names (字号) with their pinyin, for company names and e-mail domains.
BRANDS = tuple(
    tuple(pair.split(":"))
    for pair in _words(
        """
        鑫源:xinyuan 恒泰:hengtai 瑞丰:ruifeng 嘉禾:jiahe 福临:fulin 盛世:shengshi 宏达:hongda
        天和:tianhe 百汇:baihui 万家:wanjia 利民:limin 佳美:jiamei 惠民:huimin 东方:dongfang
        富源:fuyuan 祥和:xianghe 德润:derun 和顺:heshun 金鼎:jinding 鸿运:hongyun 永盛:yongsheng
        华联:hualian 新世纪:xinshiji 兴隆:xinglong 聚福:jufu 同心:tongxin 万顺:wanshun
        金山:jinshan 长青:changqing 银河:yinhe 四季:siji 好运来:haoyunlai 悦来:yuelai
        君悦:junyue 锦华:jinhua 荣盛:rongsheng 天润:tianrun 丰泽:fengze 乐购:legou 优选:youxuan
        喜相逢:xixiangfeng 老街坊:laojiefang 一品:yipin 食代:shidai 家家乐:jiajiale 邻里:linli
        旺角:wangjiao 春风:chunfeng
        """
    )
)
SURNAMES = _words(
    "王 李 张 刘 陈 杨 黄 赵 吴 周 徐 孙 马 朱 胡 郭 何 高 林 罗 "
    "郑 梁 谢 宋 唐 许 韩 冯 邓 曹 彭 曾 肖 田 董 潘 袁 蔡 蒋 余"
)
GIVEN_NAMES = _words(
    "伟 芳 娜 秀英 敏 静 丽 强 磊 军 洋 勇 艳 杰 娟 涛 明 超 秀兰 霞 平 刚 桂英 建华 文 "
    "华 红 建国 志强 海燕 玉兰 鹏 辉 晨 浩 宇 欣 婷 雪 琳 俊 凯 佳怡 子涵 思远 国庆 春梅 "
    "卫东 晓明 丹"
)
ROADS = _words(
    "人民路 解放路 中山路 建设路 新华路 长江路 和平路 胜利路 文化路 青年路 光明路 东风路 "
    "友谊路 工业大道 科技路 学院路 滨江路 金桥路"
)
ESTATES = _words("阳光花园 幸福家园 锦绣华庭 金色港湾 翠湖苑 碧水湾 滨江花园 世纪城")
MOBILE_PREFIXES = _words(
    "130 131 132 133 135 136 137 138 139 150 151 152 155 156 157 158 159 166 173 176 177 "
    "180 181 182 183 185 186 187 188 189 191 198 199"
)

CATEGORIES = ("白酒", "啤酒", "饮料", "乳制品", "休闲食品", "粮油", "调味品")
# Price of one case (箱) in yuan.
CASE_PRICES = np.array([880.0, 72.0, 54.0, 66.0, 118.0, 159.0, 86.0])


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
        interactions, categories, _words(names), _words(titles), contacts,
    )  # fmt: skip


# buying: orders a year, gamma shape, dropout beta(a, b), median basket, basket sigma;
# paying: share on credit, share of prospects, contacts a year.
SEGMENTS = (
    _segment(
        "distributor", "company", "general_distributor", "",
        (36, 4.0, (1.0, 80.0), 12_000, 0.5), (1.0, 0.0, 14), (4, 3, 3, 2, 2, 1, 1),
        "{city}{brand}商贸有限公司 {city}{brand}酒业有限公司 {city}{brand}食品贸易有限公司 "
        "{city}{brand}供应链管理有限公司",
        "总经理 采购经理 财务经理 仓库主管", (2, 3),
    ),
    _segment(
        "wholesaler", "company", "wholesaler", "",
        (22, 3.0, (1.0, 50.0), 3_500, 0.6), (0.9, 0.03, 9), (3, 3, 3, 2, 2, 2, 1),
        "{city}{brand}副食品批发部 {city}{district}{brand}商行 {city}{brand}酒水批发有限公司 "
        "{brand}粮油副食批发部",
        "老板 老板娘 采购 财务", (1, 3),
    ),
    _segment(
        "hotel", "company", "terminal", "hotel",
        (12, 2.5, (1.2, 36.0), 1_200, 0.65), (0.85, 0.08, 5), (4, 3, 3, 1, 1, 1, 1),
        "{city}{brand}大酒店 {city}{brand}宾馆有限公司 {city}{brand}酒店管理有限公司",
        "采购经理 餐饮总监 财务主管", (1, 2),
    ),
    _segment(
        "supermarket", "company", "terminal", "supermarket",
        (14, 2.5, (1.2, 36.0), 1_400, 0.7), (0.85, 0.08, 5), (2, 3, 4, 3, 3, 2, 2),
        "{city}{brand}超市有限公司 {brand}购物广场（{road}店） {brand}生活超市（{road}店）",
        "采购经理 店长 品类经理 财务", (1, 2),
    ),
    _segment(
        "restaurant", "company", "terminal", "restaurant",
        (12, 2.5, (1.2, 30.0), 700, 0.65), (0.6, 0.08, 4), (3, 4, 3, 0, 0, 1, 2),
        "{city}{brand}餐饮管理有限公司 {brand}酒家 {brand}火锅（{road}店） {brand}农家菜馆",
        "老板 店长 厨师长", (1, 2),
    ),
    _segment(
        "convenience", "company", "terminal", "convenience_store",
        (16, 2.5, (1.2, 30.0), 350, 0.6), (0.3, 0.08, 3), (1, 3, 4, 3, 4, 0, 1),
        "{brand}便利店（{road}店） {city}{brand}便利连锁有限公司 {brand}24小时便利店",
        "店主 店长", (1, 1),
    ),
    _segment(
        "individual", "individual", "consumer", "",
        (2.5, 1.5, (1.5, 6.0), 500, 0.7), (0.0, 0.15, 1.2), (5, 1, 1, 2, 2, 0, 0),
        "", "", (0, 0),
    ),
)  # fmt: skip
TERMINAL_MIX = {"hotel": 0.15, "supermarket": 0.25, "restaurant": 0.35, "convenience": 0.25}
INDIVIDUAL_SHARE = 0.15

SOURCES = ("referral", "exhibition", "advertising", "website", "cold_call", "partner", "other")
SOURCE_WEIGHTS = (0.3, 0.15, 0.1, 0.1, 0.2, 0.1, 0.05)
TAG_NAMES = ("重点", "连锁", "新开店", "季节性", "团购", "现款现货")
NOTES = _words(
    "每月初对账 需提前一天预约送货 节假日备货量大 只收整箱 仓库在后门，下午送货 "
    "老板不常在店，找店长 偏好高端白酒 对价格敏感"
)
PAYMENT_TERMS = np.array([30, 45, 60])

# 春节 and 中秋节: demand peaks before them; shops close in the first week of the Spring Festival.
SPRING_FESTIVALS = np.array(
    _words(
        "2018-02-16 2019-02-05 2020-01-25 2021-02-12 2022-02-01 2023-01-22 2024-02-10 "
        "2025-01-29 2026-02-17 2027-02-06 2028-01-26 2029-02-13 2030-02-03 2031-01-23 "
        "2032-02-11 2033-01-31 2034-02-19 2035-02-08"
    ),
    dtype="datetime64[D]",
)
MID_AUTUMN_FESTIVALS = np.array(
    _words(
        "2018-09-24 2019-09-13 2020-10-01 2021-09-21 2022-09-10 2023-09-29 2024-09-17 "
        "2025-10-06 2026-09-25 2027-09-15 2028-10-03 2029-09-22 2030-09-12 2031-10-01 "
        "2032-09-19 2033-09-08 2034-09-27 2035-09-16"
    ),
    dtype="datetime64[D]",
)

# Payment behaviour of customers on credit, with their shares.
PAYERS = ("on_time", "within_grace", "beyond_grace", "arrears", "stopped")
PAYER_SHARES = (0.6, 0.22, 0.1, 0.05, 0.03)

CHANNELS = ("phone", "wechat", "visit", "sms", "email", "fax", "web")
CHANNEL_WEIGHTS = (0.3, 0.3, 0.2, 0.06, 0.08, 0.02, 0.04)
# What was said on each channel, with the outcomes that go with it.
TOPICS = {
    "phone": (
        ("电话回访，了解上批货的销售情况", ("客户满意，计划下周下单", "反映动销一般，暂不补货")),
        ("电话确认下周送货时间和数量", ("已确认订货数量", "已安排送货")),
        ("电话提醒本月货款到期", ("客户承诺月底前付款", "客户反映资金紧张，申请延期付款")),
        ("电话沟通春节备货计划", ("客户计划加大备货量", "需要经理审批特价")),
        ("电话介绍新品及本月促销政策", ("客户对新品感兴趣，先试销一箱", "客户表示暂不需要")),
        ("电话联系客户", ("未联系上，改日再访",)),
    ),
    "wechat": (
        ("微信发送新品价目表", ("客户要求再降价", "客户表示考虑")),
        ("微信沟通补货需求，客户发来订货单", ("已确认订货数量", "已安排送货")),
        ("微信催收逾期货款", ("客户承诺月底前付款", "客户未回复")),
        ("微信发送对账单，请客户核对", ("对账无误", "客户对部分金额有疑问，待核实")),
        ("微信通知促销活动", ("客户报名参加", "客户表示考虑")),
    ),
    "visit": (
        ("上门拜访，检查陈列和库存", ("陈列良好，库存充足", "建议补货，客户同意")),
        ("拜访老板，商谈年度合作协议", ("达成初步意向", "需要经理审批特价")),
        ("上门处理投诉，当面致歉并更换产品", ("已解决，客户认可",)),
        ("拜访新店，介绍公司产品线", ("客户对新品感兴趣，先试销一箱", "客户已有固定供应商")),
        ("上门对账并收取支票", ("对账无误，已收款", "客户请求下月再付")),
    ),
    "sms": (
        ("短信通知节日促销活动", ("已发送",)),
        ("短信提醒货款到期日", ("已发送", "客户回复已安排付款")),
        ("短信发送送货单号", ("已发送",)),
    ),
    "email": (
        ("邮件发送月度对账单", ("对账无误", "客户对部分金额有疑问，待核实")),
        ("邮件发送年度合同草案", ("客户法务审核中", "合同已签回")),
        ("邮件回复客户关于发票的问题", ("已解释，客户认可",)),
    ),
    "fax": (
        ("传真发送订货确认单", ("客户已盖章回传",)),
        ("传真收到客户盖章的对账函", ("对账无误",)),
    ),
    "web": (
        ("客户在线提交订货询价", ("已报价", "已转业务员跟进")),
        ("客户在网上商城留言咨询配送范围", ("已回复，可以配送",)),
    ),
}
# Subject, description and how it was resolved.
COMPLAINTS = (
    ("送货延迟", "约定上午送货，下午才到，影响营业", "已调整送货路线，保证上午送达"),
    ("产品破损", "到货后发现两箱破损，要求退换", "已退换破损产品"),
    ("临期产品", "收到的乳制品离保质期不足一个月", "已收回临期产品并补发新货"),
    ("价格与合同不符", "发票单价高于合同约定价格", "已按合同价差额冲抵下次货款"),
    ("发票开具错误", "发票抬头和税号填写有误，需重开", "已重开发票"),
    ("业务员服务态度", "业务员多次未按约定时间回电", "已约谈业务员并向客户致歉"),
    ("缺货断货", "热销单品连续两周缺货", "已优先调拨库存补货"),
    ("促销政策未兑现", "上月搭赠未随货送到", "已补送搭赠品"),
    ("包装漏液", "一箱饮料包装漏液，污染其他货品", "已赔偿损失并更换货品"),
    ("对账差异", "对账单金额与客户账目相差较大", "双方财务核对后已更正"),
)
# Title, details and how it was closed.
ISSUES = (
    ("对账单金额不一致", "客户账目与我司对账单相差，待双方财务核对", "双方财务已核对一致"),
    ("营业执照即将到期", "请客户提供更新后的营业执照复印件", "客户已提供新证照"),
    ("退货款未结清", "上季度退货的货款尚未冲抵", "已在本月货款中冲抵"),
    ("陈列费用未核销", "端架陈列费用待市场部确认后核销", "市场部已确认并核销"),
    ("合同续签待确认", "年度经销合同到期，新条款待客户确认", "合同已签回"),
    ("送货地址变更", "客户新开仓库，送货地址待确认", "新地址已录入系统"),
)


@dataclass(frozen=True)
class DemoData:
    """The demo dataset; frames refer to each other by row position."""

    today: date
    customers: pd.DataFrame
    tags: pd.DataFrame
    contacts: pd.DataFrame
    orders: pd.DataFrame
    invoices: pd.DataFrame
    payments: pd.DataFrame
    interactions: pd.DataFrame
    complaints: pd.DataFrame
    issues: pd.DataFrame


def demo_dataset(*, customers: int, seed: int, today: date) -> DemoData:
    """Generate the whole demo dataset; same arguments, same frames."""
    if customers < MIN_CUSTOMERS:
        raise ValueError(f"at least {MIN_CUSTOMERS} customers are needed, not {customers}")
    rng = np.random.default_rng(seed)
    today_d = np.datetime64(today, "D")
    start = -365 * HISTORY_YEARS
    season = season_factor(today_d + np.arange(start, 1))
    network = _network(rng, customers, start)
    profile = _profiles(rng, network)
    order_rows = _purchases(rng, profile, season)
    orders = _orders(rng, order_rows, profile, season)
    invoices = _invoices(rng, orders, profile)
    payments = _payments(rng, invoices, profile)
    frame = _customer_frame(rng, network, today_d)
    return DemoData(
        today=today,
        customers=frame,
        tags=_tags(rng, network, profile, order_rows),
        contacts=_contacts(rng, network),
        orders=_dated(orders, today_d, order_date="day"),
        invoices=_dated(invoices, today_d, issue_date="issue_day", due_date="due_day"),
        payments=_dated(payments, today_d, paid_date="day"),
        interactions=_interactions(rng, network, today_d),
        complaints=_complaints(rng, network, order_rows, today_d),
        issues=_issues(rng, network, today_d),
    )


def season_factor(days: np.ndarray) -> np.ndarray:
    """Relative demand on each date: a peak in the fortnight before 春节, a
    dip in its first week, a smaller peak before 中秋节."""
    factor = np.ones(len(days))
    for festival in SPRING_FESTIVALS:
        delta = (days - festival).astype(int)
        factor += 0.7 * np.exp(-0.5 * ((delta + 14) / 9.0) ** 2)
        factor -= 0.7 * ((delta >= 0) & (delta < 7))
    for festival in MID_AUTUMN_FESTIVALS:
        delta = (days - festival).astype(int)
        factor += 0.35 * np.exp(-0.5 * ((delta + 10) / 6.0) ** 2)
    return np.clip(factor, 0.2, None)


def top_share(revenue: pd.Series, top: float = 0.2) -> float:
    """Share of the total that the `top` fraction of customers with revenue bring."""
    values = np.sort(revenue[revenue > 0].to_numpy())[::-1]
    if values.sum() == 0:
        return 0.0
    count = max(1, round(len(values) * top))
    return float(values[:count].sum() / values.sum())


# --- the network of customers -------------------------------------------------


def _segment_counts(total):
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


def _network(rng, total, start):
    """Segments, places, parents, join days and owners; rows sorted by join day."""
    counts = _segment_counts(total)
    segment_index = {segment.key: i for i, segment in enumerate(SEGMENTS)}
    segment = np.concatenate(
        [np.full(counts[s.key], segment_index[s.key]) for s in SEGMENTS if counts.get(s.key)]
    ).astype(int)
    n = len(segment)
    city_weights = np.array([city.weight for city in CITIES], dtype=float)
    city_area = np.array([AREAS.index(city.area) for city in CITIES])
    area = _pick(rng, np.bincount(city_area, weights=city_weights), n)
    # Every area has a distributor and a wholesaler.
    for key in ("distributor", "wholesaler"):
        first = np.flatnonzero(segment == segment_index[key])[: len(AREAS)]
        area[first] = np.arange(len(first))
    city = _city_in_area(rng, area, city_area, city_weights)
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
    prospect = rng.random(n) < _per_segment("prospect_share", segment)
    joined = _join_days(rng, segment, prospect, start)
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
            "owner": _owners(rng, team),
        }
    )
    order = np.argsort(network["joined"].to_numpy(), kind="stable")
    network = network.iloc[order].reset_index(drop=True)
    position = np.empty(n, dtype=int)
    position[order] = np.arange(n)
    has_parent = network["parent"] >= 0
    network.loc[has_parent, "parent"] = position[network.loc[has_parent, "parent"]]
    return network


def _per_segment(attribute, segment):
    """The segment's value of `attribute` for each row."""
    return np.array([getattr(s, attribute) for s in SEGMENTS])[segment]


def _categories(rng, segment):
    """A product category for each row, drawn with the weights of its segment."""
    weights = _per_segment("category_weights", segment).astype(float)
    cumulative = np.cumsum(weights / weights.sum(axis=1)[:, None], axis=1)
    drawn = (rng.random(len(segment))[:, None] > cumulative).sum(axis=1)
    return np.minimum(drawn, len(CATEGORIES) - 1)


def _pick(rng, weights, size):
    weights = np.asarray(weights, dtype=float)
    return rng.choice(len(weights), size=size, p=weights / weights.sum())


def _city_in_area(rng, area, city_area, city_weights):
    city = np.empty(len(area), dtype=int)
    for a in range(len(AREAS)):
        rows = np.flatnonzero(area == a)
        options = np.flatnonzero(city_area == a)
        city[rows] = options[_pick(rng, city_weights[options], len(rows))]
    return city


def _join_days(rng, segment, prospect, start):
    """Day each customer joined, relative to today (negative: in the past).
    Distributors mostly predate the history; prospects mostly joined lately."""
    n = len(segment)
    keys = _per_segment("key", segment)
    early = np.where(keys == "distributor", 0.8, np.where(keys == "individual", 0.1, 0.3))
    before = rng.random(n) < early
    joined = np.where(before, rng.integers(start - 1000, start, n), rng.integers(start, 0, n))
    recent = prospect & (rng.random(n) < 0.7)
    return np.where(recent, rng.integers(-400, 0, n), joined)


def _owners(rng, team):
    """A rep of the customer's team, weighted so that rep1 and rep2 own a good share."""
    owner = np.empty(len(team), dtype=object)
    for t, name in enumerate(TEAMS):
        reps = [m for m in STAFF if m.role == "rep" and m.team == name]
        rows = np.flatnonzero(team == t)
        picks = _pick(rng, [m.share for m in reps], len(rows))
        owner[rows] = np.array([m.username for m in reps], dtype=object)[picks]
    return owner


# --- how each customer buys and pays ------------------------------------------


def _profiles(rng, network):
    """Per-customer parameters of buying and paying (not written anywhere)."""
    n = len(network)
    seg = network["segment"].to_numpy()
    shape = _per_segment("rate_shape", seg)
    rate = rng.gamma(shape, _per_segment("orders_a_year", seg) / shape) / 365.0
    dropout = _per_segment("dropout", seg)
    basket = _per_segment("basket", seg) * np.exp(
        rng.normal(0.0, _per_segment("basket_sigma", seg))
    )
    credit = rng.random(n) < _per_segment("credit_share", seg)
    # Distributors get longer terms.
    terms = np.where(
        _per_segment("key", seg) == "distributor",
        PAYMENT_TERMS[_pick(rng, [0.2, 0.3, 0.5], n)],
        PAYMENT_TERMS[_pick(rng, [0.6, 0.25, 0.15], n)],
    )
    return pd.DataFrame(
        {
            "segment": seg,
            "prospect": network["prospect"].to_numpy(),
            "joined": network["joined"].to_numpy(),
            "rate": rate,
            "dropout": rng.beta(dropout[:, 0], dropout[:, 1]),
            "basket": basket,
            "credit": credit,
            "terms": terms,
            "payer": _pick(rng, PAYER_SHARES, n),
            "trouble_from": rng.integers(-420, -45, n),
            "favourite": _categories(rng, seg),
        }
    )


def _purchases(rng, profile, season):
    """Order days per customer: Poisson arrivals thinned by the season while
    active, a coin with the customer's dropout chance after each order.
    `season` holds the demand factor of each day of the history, up to today."""
    start = 1 - len(season)
    peak = season.max()
    rate = profile["rate"].to_numpy()
    dropout = profile["dropout"].to_numpy()
    joined = profile["joined"].to_numpy()
    # Those who joined within the history place a first order a couple of weeks later.
    t = np.maximum(joined, start).astype(float)
    first = joined >= start
    t[first] += rng.exponential(12.0, first.sum())
    active = ~profile["prospect"].to_numpy() & (t < 1)
    customers, order_days = [], []
    pending_first = first & active
    while active.any():
        rows = np.flatnonzero(active)
        gaps = rng.exponential(1.0 / (rate[rows] * peak))
        t[rows] += np.where(pending_first[rows], 0.0, gaps)
        pending = pending_first[rows]
        pending_first[rows] = False
        ended = t[rows] >= 1
        active[rows[ended]] = False
        rows, pending = rows[~ended], pending[~ended]
        day = np.floor(t[rows]).astype(int)
        bought = pending | (rng.random(len(rows)) < season[day - start] / peak)
        rows, day = rows[bought], day[bought]
        customers.append(rows)
        order_days.append(day)
        active[rows[rng.random(len(rows)) < dropout[rows]]] = False
    frame = pd.DataFrame(
        {
            "customer": np.concatenate(customers) if customers else np.array([], dtype=int),
            "day": np.concatenate(order_days) if order_days else np.array([], dtype=int),
        }
    )
    return frame.sort_values(["day", "customer"], kind="stable").reset_index(drop=True)


def _orders(rng, rows, profile, season):
    """Amount, quantity and category of each order around the customer's basket."""
    n = len(rows)
    customer = rows["customer"].to_numpy()
    drawn = _categories(rng, profile["segment"].to_numpy()[customer])
    category = np.where(rng.random(n) < 0.55, profile["favourite"].to_numpy()[customer], drawn)
    day_season = season[rows["day"].to_numpy() - 1 + len(season)]
    target = profile["basket"].to_numpy()[customer] * (0.5 + 0.5 * day_season)
    target *= np.exp(rng.normal(0.0, 0.35, n))
    price_cents = np.round(CASE_PRICES[category] * rng.uniform(0.92, 1.08, n) * 100)
    quantity = np.maximum(1, np.round(target * 100 / price_cents)).astype(int)
    return pd.DataFrame(
        {
            "customer": customer,
            "external_ref": _refs("XS", n, 9),
            "day": rows["day"].to_numpy(),
            "amount_cents": (quantity * price_cents).astype(np.int64),
            "quantity": quantity,
            "category": np.array(CATEGORIES, dtype=object)[category],
        }
    )


def _invoices(rng, orders, profile):
    """Customers on credit get an invoice for most orders, due after their payment terms."""
    credit = profile["credit"].to_numpy()[orders["customer"].to_numpy()]
    invoiced = orders[credit & (rng.random(len(orders)) < 0.95)]
    terms = profile["terms"].to_numpy()[invoiced["customer"].to_numpy()]
    return pd.DataFrame(
        {
            "customer": invoiced["customer"].to_numpy(),
            "external_ref": _refs("FP", len(invoiced), 9),
            "issue_day": invoiced["day"].to_numpy(),
            "due_day": invoiced["day"].to_numpy() + terms,
            "amount_cents": invoiced["amount_cents"].to_numpy(),
        }
    )


def _payments(rng, invoices, profile):
    """回款 by payer type; unpaid invoices of customers in arrears or who stopped
    paying stay open; payments still in the future are left out."""
    n = len(invoices)
    customer = invoices["customer"].to_numpy()
    payer = np.array(PAYERS)[profile["payer"].to_numpy()[customer]]
    trouble = profile["trouble_from"].to_numpy()[customer]
    issue, due = invoices["issue_day"].to_numpy(), invoices["due_day"].to_numpy()
    early = -rng.integers(0, (due - issue) // 2 + 1)
    grace_late = rng.integers(1, 16, n)
    long_late = rng.integers(20, 121, n)
    u = rng.random(n)
    delay = np.select(
        [
            payer == "on_time",
            payer == "within_grace",
            payer == "beyond_grace",
            payer == "stopped",
        ],
        [
            early,
            np.where(u < 0.45, grace_late, early),
            np.where(u < 0.3, grace_late, long_late),
            np.where(u < 0.5, grace_late, early),
        ],
        default=np.where(u < 0.4, grace_late, long_late),
    )
    paid_day = due + delay
    unpaid = np.isin(payer, ["arrears", "stopped"]) & (issue >= trouble)
    partly = unpaid & (payer == "arrears") & (rng.random(n) < 0.35)
    amount = invoices["amount_cents"].to_numpy()
    share = rng.uniform(0.2, 0.7, n)
    split = ~unpaid & (rng.random(n) < 0.08)
    first_cents = np.where(split | partly, np.round(amount * share), amount).astype(np.int64)
    first_day = np.where(split, np.maximum(issue, paid_day - rng.integers(7, 31, n)), paid_day)
    first_day = np.where(partly, due + rng.integers(0, 30, n), first_day)
    first = pd.DataFrame(
        {"invoice": np.arange(n), "day": first_day, "amount_cents": first_cents, "part": 1}
    )[~unpaid | partly]
    second = pd.DataFrame(
        {"invoice": np.arange(n), "day": paid_day, "amount_cents": amount - first_cents, "part": 2}
    )[split]
    payments = pd.concat([first, second], ignore_index=True)
    payments = payments[payments["day"] <= 0].sort_values(["invoice", "part"], kind="stable")
    invoice_refs = invoices["external_ref"].to_numpy()[payments["invoice"].to_numpy()]
    return pd.DataFrame(
        {
            "invoice": payments["invoice"].to_numpy(),
            "customer": customer[payments["invoice"].to_numpy()],
            "external_ref": [
                f"HK{ref[2:]}-{part}"
                for ref, part in zip(invoice_refs, payments["part"], strict=True)
            ],
            "day": payments["day"].to_numpy(),
            "amount_cents": payments["amount_cents"].to_numpy(),
        }
    )


# --- the customer file ----------------------------------------------------------


def _customer_frame(rng, network, today_d):
    n = len(network)
    seg = network["segment"].to_numpy()
    city = network["city"].to_numpy()
    brand = rng.integers(0, len(BRANDS), n)
    road = rng.integers(0, len(ROADS), n)
    district = rng.integers(0, 1000, n)
    number = rng.integers(1, 999, n)
    pattern = rng.integers(0, 1000, n)
    people = _person_names(rng, n)
    names, addresses = [], []
    for i in range(n):
        place = CITIES[city[i]]
        segment = SEGMENTS[seg[i]]
        where = place.districts[district[i] % len(place.districts)]
        if segment.kind == "individual":
            names.append(people[i])
            estate = ESTATES[number[i] % len(ESTATES)]
            street = f"{ROADS[road[i]]}{number[i]}号{estate}{number[i] % 30 + 1}栋{pattern[i] % 2 + 1}单元"
        else:
            names.append(
                segment.names[pattern[i] % len(segment.names)].format(
                    city=place.name,
                    brand=BRANDS[brand[i]][0],
                    district=where,
                    road=ROADS[road[i]],
                )
            )
            street = f"{ROADS[road[i]]}{number[i]}号"
        addresses.append(f"{place.province}{place.name}市{where}{street}")
    company = _per_segment("kind", seg) == "company"
    joined = today_d + network["joined"].to_numpy()
    created = pd.to_datetime(joined) + pd.to_timedelta(rng.integers(9 * 60, 18 * 60, n), unit="min")
    return pd.DataFrame(
        {
            "external_ref": _refs("KH", n, 6),
            "name": names,
            "kind": _per_segment("kind", seg),
            "channel_role": _per_segment("channel_role", seg),
            "terminal_type": _per_segment("terminal_type", seg),
            "parent": network["parent"].to_numpy(),
            "region": [CITIES[c].name for c in city],
            "address": addresses,
            "phone": _phones(rng, city, landline=company & (rng.random(n) < 0.5)),
            "email": _emails(rng, brand, city, company),
            "source": np.array(SOURCES, dtype=object)[_pick(rng, SOURCE_WEIGHTS, n)],
            "owner": network["owner"].to_numpy(),
            "team": np.array(TEAMS, dtype=object)[network["team"].to_numpy()],
            "notes": np.where(
                rng.random(n) < 0.15, np.array(NOTES, dtype=object)[number % len(NOTES)], ""
            ),
            "created_at": created,
        }
    )


def _person_names(rng, n):
    surname = rng.integers(0, len(SURNAMES), n)
    given = rng.integers(0, len(GIVEN_NAMES), n)
    return [SURNAMES[s] + GIVEN_NAMES[g] for s, g in zip(surname, given, strict=True)]


def _phones(rng, city, landline):
    n = len(city)
    prefix = rng.integers(0, len(MOBILE_PREFIXES), n)
    digits = rng.integers(0, 10**8, n)
    local = rng.integers(2 * 10**7, 9 * 10**7, n)
    return [
        f"{CITIES[c].area_code}-{number}" if fixed else f"{MOBILE_PREFIXES[p]}{d:08d}"
        for c, p, d, number, fixed in zip(city, prefix, digits, local, landline, strict=True)
    ]


def _emails(rng, brand, city, company):
    n = len(brand)
    box = rng.random(n)
    number = rng.integers(10**7, 10**10, n)
    mailbox = ("sales", "info", "caigou", "service")
    emails = []
    for i in range(n):
        if company[i] and box[i] < 0.55:
            name = mailbox[number[i] % len(mailbox)]
            emails.append(f"{name}@{BRANDS[brand[i]][1]}-{CITIES[city[i]].pinyin}.com")
        elif box[i] < 0.8:
            emails.append(f"{number[i]}@qq.com")
        elif box[i] < 0.9:
            emails.append(f"{BRANDS[brand[i]][1]}{number[i] % 100}@163.com")
        else:
            emails.append("")
    return emails


def _contacts(rng, network):
    """Contact people at companies: the first is primary."""
    seg = network["segment"].to_numpy()
    fewest, most = _per_segment("contacts", seg).T
    count = rng.integers(fewest, most + 1)
    customer = np.repeat(np.arange(len(network)), count)
    rank = np.arange(len(customer)) - np.repeat(np.cumsum(count) - count, count)
    n = len(customer)
    titles = [SEGMENTS[s].contact_titles for s in seg[customer]]
    pick = rng.integers(0, 100, n)
    phones = _phones(rng, np.zeros(n, dtype=int), landline=np.zeros(n, dtype=bool))
    return pd.DataFrame(
        {
            "customer": customer,
            "name": _person_names(rng, n),
            "title": [t[(p + r) % len(t)] for t, p, r in zip(titles, pick, rank, strict=True)],
            "phone": phones,
            "wechat": np.where(rng.random(n) < 0.6, np.array(phones, dtype=object), ""),
            "is_primary": rank == 0,
        }
    )


def _tags(rng, network, profile, order_rows):
    """Tags a sales team would set: key accounts, chains, new shops, seasonal buyers."""
    n = len(network)
    keys = _per_segment("key", network["segment"].to_numpy())
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


def _interactions(rng, network, today_d):
    """The contact log: entries spread over the customer's time with us, by their owner."""
    seg = network["segment"].to_numpy()
    since = np.maximum(network["joined"].to_numpy(), -365 * 2)
    # Prospects get courted more than their size suggests.
    per_year = _per_segment("interactions_a_year", seg) + 2.0 * network["prospect"].to_numpy()
    count = rng.poisson(per_year * (-since) / 365.0)
    customer = np.repeat(np.arange(len(network)), count)
    n = len(customer)
    start = since[customer]
    day = start + np.floor(rng.random(n) * (-start + 1)).astype(int)
    minute = rng.integers(8 * 60, 19 * 60, n)
    frame = pd.DataFrame({"customer": customer, "day": day, "minute": minute})
    frame = frame.sort_values(["customer", "day", "minute"], ignore_index=True)
    customer, day = frame["customer"].to_numpy(), frame["day"].to_numpy()
    channel = _pick(rng, CHANNEL_WEIGHTS, n)
    pick = rng.integers(0, 1000, n)
    summary, outcome = _topics(channel, pick)
    latest = np.r_[customer[1:] != customer[:-1], True] if n else np.array([], dtype=bool)
    follow = rng.random(n) < np.where(latest, 0.6, 0.2)
    follow_day = day + rng.integers(3, 31, n)
    return pd.DataFrame(
        {
            "customer": customer,
            "channel": np.array(CHANNELS, dtype=object)[channel],
            "staff": network["owner"].to_numpy()[customer],
            "occurred_at": _timestamps(today_d, day, frame["minute"].to_numpy()),
            "summary": summary,
            "outcome": outcome,
            "next_follow_up": pd.Series(pd.to_datetime(today_d + follow_day)).where(follow),
        }
    )


def _topics(channel, pick):
    """A summary on each contact's channel and an outcome that fits it."""
    topics = [topic for name in CHANNELS for topic in TOPICS[name]]
    per_channel = np.array([len(TOPICS[name]) for name in CHANNELS])
    per_topic = np.array([len(outcomes) for _, outcomes in topics])
    topic = np.cumsum(per_channel)[channel] - per_channel[channel] + pick % per_channel[channel]
    outcome = np.cumsum(per_topic)[topic] - per_topic[topic] + (pick // 7) % per_topic[topic]
    summaries = np.array([summary for summary, _ in topics], dtype=object)
    outcomes = np.array([o for _, outcomes in topics for o in outcomes], dtype=object)
    return summaries[topic], outcomes[outcome]


def _complaints(rng, network, order_rows, today_d):
    """Complaints from buying customers, likelier around the last order of those who left."""
    n = len(network)
    last = order_rows.groupby("customer")["day"].max().reindex(range(n)).to_numpy()
    bought = ~np.isnan(last)
    quiet = bought & (last < -180)
    customer = np.flatnonzero(bought & (rng.random(n) < np.where(quiet, 0.18, 0.07)))
    # A quarter of them complain twice.
    customer = np.sort(np.concatenate([customer, customer[rng.random(len(customer)) < 0.25]]))
    m = len(customer)
    joined = np.maximum(network["joined"].to_numpy()[customer], -365 * HISTORY_YEARS)
    near_last = np.minimum(last[customer] - rng.integers(0, 60, m), 0)
    anywhere = joined + np.floor(rng.random(m) * (-joined + 1)).astype(int)
    day = np.maximum(np.where(quiet[customer], near_last, anywhere), joined).astype(int)
    resolve_after = rng.integers(1, 21, m)
    recent = day > -60
    u = rng.random(m)
    status = np.where(
        recent & (u < 0.4), "open", np.where(recent & (u < 0.7), "in_progress", "resolved")
    )
    status = np.where(~recent & (u > 0.97), "in_progress", status)
    status = np.where((status == "resolved") & (day + resolve_after > 0), "in_progress", status)
    resolved = status == "resolved"
    satisfaction = 1 + _pick(rng, [0.05, 0.1, 0.25, 0.35, 0.25], m)
    satisfaction = np.where(quiet[customer], np.maximum(1, satisfaction - 1), satisfaction)
    pick = rng.integers(0, 1000, m)
    owner = network["owner"].to_numpy()[customer]
    minute = rng.integers(8 * 60, 19 * 60, m)
    return pd.DataFrame(
        {
            "customer": customer,
            "subject": [COMPLAINTS[p % len(COMPLAINTS)][0] for p in pick],
            "description": [COMPLAINTS[p % len(COMPLAINTS)][1] for p in pick],
            "status": status,
            "received_at": _timestamps(today_d, day, minute),
            "received_by": owner,
            "resolution": np.where(
                resolved, [COMPLAINTS[p % len(COMPLAINTS)][2] for p in pick], ""
            ),
            "resolved_at": pd.Series(_timestamps(today_d, day + resolve_after, minute)).where(
                resolved
            ),
            "resolved_by": pd.Series(owner).where(resolved),
            "satisfaction": pd.Series(satisfaction).where(resolved).astype("Int64"),
        }
    )


def _issues(rng, network, today_d):
    """Unresolved issues (未解决问题) on some files; older ones mostly closed."""
    n = len(network)
    customer = np.flatnonzero(rng.random(n) < 0.06)
    m = len(customer)
    joined = np.maximum(network["joined"].to_numpy()[customer], -365)
    day = joined + np.floor(rng.random(m) * (-joined + 1)).astype(int)
    close_day = day + rng.integers(3, 61, m)
    closed = (rng.random(m) < 0.55) & (close_day <= 0)
    pick = rng.integers(0, 1000, m)
    owner = network["owner"].to_numpy()[customer]
    minute = rng.integers(8 * 60, 19 * 60, m)
    return pd.DataFrame(
        {
            "customer": customer,
            "title": [ISSUES[p % len(ISSUES)][0] for p in pick],
            "description": [ISSUES[p % len(ISSUES)][1] for p in pick],
            "status": np.where(closed, "closed", "open"),
            "opened_by": owner,
            "opened_at": _timestamps(today_d, day, minute),
            "closed_by": pd.Series(owner).where(closed),
            "closed_at": pd.Series(_timestamps(today_d, close_day, minute)).where(closed),
            "resolution": np.where(closed, [ISSUES[p % len(ISSUES)][2] for p in pick], ""),
        }
    )


# --- small helpers ----------------------------------------------------------------


def _refs(prefix, count, width):
    return [f"{prefix}{i:0{width}d}" for i in range(1, count + 1)]


def _timestamps(today_d, day, minute):
    """Naive local date-times: `day` relative to today, `minute` after midnight."""
    return pd.to_datetime(today_d + np.asarray(day)) + pd.to_timedelta(minute, unit="min")


def _dated(frame, today_d, **columns):
    """Replace day offsets by dates (the new column names map to the old)."""
    frame = frame.copy()
    for name, day_column in columns.items():
        frame[name] = pd.to_datetime(today_d + frame[day_column].to_numpy())
    return frame.drop(columns=sorted(set(columns.values())))
