"""The contact log, complaints (投诉) and unresolved issues (未解决问题)."""

from dataclasses import dataclass

import numpy as np
import pandas as pd

from customers.demo.common import pick, timestamps
from customers.demo.network import per_segment
from customers.demo.trade import SPRING_FESTIVALS

# An outcome that promises an order is said only when the customer orders this soon after.
ORDER_SOON = 14
# How long the contact log goes back.
LOG_DAYS = 2 * 365


@dataclass(frozen=True)
class Topic:
    """What a contact is about and what came of it. `occasion` says when it happens:
    around a record (an order, an invoice falling due or overdue, a payment, a
    statement, a complaint, the Spring Festival) at `days` from it, or at any time
    of a stretch of the customer's life (courting before the first order, keeping
    while they buy, winning back after they stopped)."""

    occasion: str
    channel: str
    summary: str
    outcomes: tuple[str, ...]
    days: tuple[int, int] = (0, 0)
    # Said instead when the customer orders within ORDER_SOON days of the contact.
    ordering: tuple[str, ...] = ()
    who: str = "all"  # "all", "companies" or "individuals"
    weight: float = 1.0  # how often, against the other topics of the occasion


CONFIRMED = ("已确认订货数量", "已安排送货")
RECONCILED = ("对账无误", "客户对部分金额有疑问，待核实")
THINKING = ("客户表示考虑",)
TOPICS = (
    # Around an order: the customer orders, we confirm and deliver.
    Topic("order", "phone", "电话确认下周送货时间和数量", CONFIRMED, (-8, -4), who="companies"),
    Topic("order", "wechat", "微信沟通补货需求，客户发来订货单", CONFIRMED, (-2, 0), who="companies"),
    Topic("order", "phone", "客户来电订货", CONFIRMED, (-2, 0)),
    Topic("order", "wechat", "客户微信下单", CONFIRMED, (-1, 0), who="individuals"),
    Topic("order", "fax", "传真发送订货确认单", ("客户已盖章回传",), (-2, 0), who="companies", weight=0.2),
    Topic("order", "web", "客户在线提交订货询价", ("已报价", "已转业务员跟进"), (-6, -1), weight=0.4),
    Topic("order", "sms", "短信发送送货单号", ("已发送",), weight=0.5),
    # After an order: how the goods sell.
    Topic(
        "after_order", "phone", "电话回访，了解上批货的销售情况",
        ("反映动销一般，暂不补货", "客户表示库存还够"), (7, 30),
        ordering=("客户满意，计划下周下单",), who="companies",
    ),
    Topic(
        "after_order", "visit", "上门拜访，检查陈列和库存", ("陈列良好，库存充足",), (7, 30),
        ordering=("建议补货，客户同意",), who="companies",
    ),
    Topic("after_order", "phone", "电话回访，了解产品使用情况", ("客户满意",), (5, 20), who="individuals"),
    # Receivables: reminders before the due date, collection after it, statements, payments.
    Topic("due", "phone", "电话提醒本月货款到期", ("客户承诺按时付款", "客户反映资金紧张，申请延期付款"), (-7, -1)),
    Topic("due", "sms", "短信提醒货款到期日", ("已发送", "客户回复已安排付款"), (-5, -1)),
    Topic("overdue", "wechat", "微信催收逾期货款", ("客户承诺月底前付款", "客户未回复"), (5, 40)),
    Topic("overdue", "phone", "电话催收逾期货款", ("客户承诺本周内付款", "客户反映资金紧张，申请延期付款"), (5, 40)),
    Topic("overdue", "visit", "上门催收逾期货款", ("客户请求下月再付", "客户承诺月底前付款"), (15, 60)),
    Topic("payment", "visit", "上门对账并收取支票", ("对账无误，已收款",)),
    Topic("payment", "wechat", "客户发来付款凭证", ("已核对到账",), (0, 1)),
    Topic("statement", "email", "邮件发送月度对账单", RECONCILED, (20, 35)),
    Topic("statement", "wechat", "微信发送对账单，请客户核对", RECONCILED, (20, 35)),
    Topic("statement", "fax", "传真收到客户盖章的对账函", ("对账无误",), (25, 40), weight=0.3),
    Topic("statement", "email", "邮件回复客户关于发票的问题", ("已解释，客户认可",), (2, 15)),
    # Complaints: a call when one comes in, a visit or a call when it is settled.
    Topic("complaint", "phone", "电话了解投诉情况", ("已记录，安排处理",), (0, 2)),
    Topic("resolution", "visit", "上门处理投诉，当面致歉并更换产品", ("已解决，客户认可",)),
    Topic("resolution", "phone", "电话回访投诉处理结果", ("客户对处理结果满意",), (0, 3)),
    # Before the Spring Festival: stocking up.
    Topic(
        "festival", "phone", "电话沟通春节备货计划", ("需要经理审批特价",), (-45, -10),
        ordering=("客户计划加大备货量",), who="companies",
    ),
    # Before the first order: winning the customer.
    Topic(
        "courting", "visit", "拜访新店，介绍公司产品线", ("客户已有固定供应商", *THINKING),
        ordering=("客户对新品感兴趣，先试销一箱",), who="companies",
    ),
    Topic(
        "courting", "phone", "电话介绍公司产品及合作政策", ("客户表示暂不需要", *THINKING),
        ordering=("客户同意先试销一批",), who="companies",
    ),
    Topic(
        "courting", "wechat", "微信介绍新客优惠活动", THINKING,
        ordering=("客户表示近期下单",), who="individuals",
    ),
    Topic("courting", "wechat", "微信发送产品价目表", ("客户要求再降价", *THINKING)),
    Topic("courting", "web", "客户在网上商城留言咨询配送范围", ("已回复，可以配送",)),
    Topic("courting", "phone", "电话联系客户", ("未联系上，改日再访",)),
    # While the customer buys: new products, promotions, agreements.
    Topic(
        "keeping", "phone", "电话介绍新品及本月促销政策", ("客户表示暂不需要", *THINKING),
        ordering=("客户对新品感兴趣，先试销一箱",),
    ),
    Topic("keeping", "wechat", "微信发送新品价目表", ("客户要求再降价", *THINKING)),
    Topic("keeping", "wechat", "微信通知促销活动", ("客户报名参加", *THINKING)),
    Topic("keeping", "sms", "短信通知节日促销活动", ("已发送",)),
    Topic("keeping", "visit", "拜访老板，商谈年度合作协议", ("达成初步意向", "需要经理审批特价"), who="companies"),
    Topic("keeping", "email", "邮件发送年度合同草案", ("客户法务审核中", "合同已签回"), who="companies"),
    Topic("keeping", "phone", "电话联系客户", ("未联系上，改日再访",)),
    # After the orders stopped: finding out why, winning them back.
    Topic(
        "winback", "phone", "电话回访，询问近期未进货的原因",
        ("客户反映改从其他渠道进货", "客户表示生意清淡，暂不进货", "未联系上，改日再访"),
    ),
    Topic("winback", "visit", "上门拜访，了解停止进货的原因", ("客户对价格不满意，暂不合作", "客户已转行"), who="companies"),
    Topic("winback", "wechat", "微信发送最新优惠政策，邀请恢复合作", ("客户未回复", *THINKING)),
)  # fmt: skip
# Share of the records of each kind that someone called, visited or wrote about.
CONTACTED_SHARE = {
    "order": 0.2,
    "after_order": 0.08,
    "due": 0.2,
    "overdue": 0.7,
    "payment": 0.05,
    "statement": 0.1,
    "complaint": 0.7,
    "resolution": 0.6,
    "festival": 0.4,
}
COURTING_A_YEAR = 4.0
# Of the contacts a year of the customer's segment, the share that are not about a record.
KEEPING_SHARE = 0.4
WINBACK_CONTACTS = 1.5  # on average, in the year after the customer stopped

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


def interactions(rng, network, orders, invoices, payments, complaints, today_d):
    """The contact log of the last two years, kept by each customer's owner: contacts
    about the customer's own records (an order, an invoice, a payment, a complaint)
    near those records, and others that fit the stretch of their life they are in.
    Nothing speaks of an order that does not come."""
    since = np.maximum(network["joined"].to_numpy(), -LOG_DAYS)
    company = per_segment("kind", network["segment"].to_numpy()) == "company"
    contacts = pd.concat(
        [
            *_about_records(rng, orders, invoices, payments, complaints, today_d),
            _before_festivals(rng, orders, today_d),
            *_in_stretches(rng, network, orders),
        ],
        ignore_index=True,
    )
    contacts = _with_topics(rng, contacts, company)
    customer, day = contacts["customer"].to_numpy(), contacts["day"].to_numpy()
    contacts = contacts[(day >= since[customer]) & (day <= 0)]
    n = len(contacts)
    contacts = contacts.assign(minute=rng.integers(8 * 60, 19 * 60, n))
    contacts = contacts.sort_values(["customer", "day", "minute"], ignore_index=True)
    customer, day = contacts["customer"].to_numpy(), contacts["day"].to_numpy()
    topic = contacts["topic"].to_numpy()
    outcomes = _outcomes(rng, customer, day, topic, orders)
    latest = np.r_[customer[1:] != customer[:-1], True] if n else np.array([], dtype=bool)
    follow_day = day + rng.integers(3, 31, n)
    # A follow-up on an earlier contact was had with the next one; one on the latest is
    # mostly still ahead, and missed now and then.
    follow = rng.random(n) < np.where(latest, np.where(follow_day >= -3, 0.6, 0.08), 0.2)
    return pd.DataFrame(
        {
            "customer": customer,
            "channel": np.array([t.channel for t in TOPICS], dtype=object)[topic],
            "staff": network["owner"].to_numpy()[customer],
            "occurred_at": timestamps(today_d, day, contacts["minute"].to_numpy()),
            "summary": np.array([t.summary for t in TOPICS], dtype=object)[topic],
            "outcome": outcomes,
            "next_follow_up": pd.Series(pd.to_datetime(today_d + follow_day)).where(follow),
        }
    )


def _about_records(rng, orders, invoices, payments, complaints, today_d):
    """Contacts on some of the records, each with its occasion and the record's day."""
    settled = _settled_days(invoices, payments)
    next_order = _next_order_days(orders)
    received = _days(complaints["received_at"], today_d)
    resolved = _days(complaints["resolved_at"], today_d)
    records = {
        "order": (orders["customer"], orders["day"], True),
        "after_order": (orders["customer"], orders["day"], True),
        "due": (invoices["customer"], invoices["due_day"], True),
        # Collection calls on the invoices paid late or not at all.
        "overdue": (
            invoices["customer"],
            invoices["due_day"],
            settled > invoices["due_day"].to_numpy() + 5,
        ),
        "payment": (payments["customer"], payments["day"], True),
        "statement": (invoices["customer"], invoices["issue_day"], True),
        "complaint": (complaints["customer"], received, True),
        "resolution": (complaints["customer"], resolved, ~np.isnan(resolved)),
    }
    frames = []
    for occasion, (customer, day, eligible) in records.items():
        chosen = eligible & (rng.random(len(customer)) < CONTACTED_SHARE[occasion])
        frame = pd.DataFrame(
            {
                "customer": np.asarray(customer)[chosen],
                "anchor": np.asarray(day)[chosen].astype(int),
                "occasion": occasion,
            }
        )
        # Reminders and collection calls stop once the invoice is paid; asking how the
        # last delivery sells, once the next order comes.
        if occasion in ("due", "overdue"):
            frame["until"] = settled[chosen]
        if occasion == "after_order":
            frame["until"] = next_order[chosen]
        frames.append(frame)
    return frames


def _next_order_days(orders):
    """The day of each order's customer's next order; infinity after the last."""
    customer, day = orders["customer"].to_numpy(), orders["day"].to_numpy()
    order = np.lexsort((day, customer))
    same_customer = customer[order][1:] == customer[order][:-1]
    following = np.full(len(order), np.inf)
    following[order[:-1]] = np.where(same_customer, day[order][1:], np.inf)
    return following


def _settled_days(invoices, payments):
    """The day each invoice was paid in full; infinity while it is not."""
    paid = payments.groupby("invoice")["amount_cents"].sum().reindex(range(len(invoices)))
    last = payments.groupby("invoice")["day"].max().reindex(range(len(invoices)))
    full = paid.to_numpy() >= invoices["amount_cents"].to_numpy()
    return np.where(full, last.to_numpy(), np.inf)


def _days(moments, today_d):
    """Days relative to today of date-times (NaN where there is none)."""
    return ((moments.dt.normalize() - pd.Timestamp(today_d)).dt.days).to_numpy(dtype=float)


def _before_festivals(rng, orders, today_d):
    """A call about stocking up before each Spring Festival to customers who bought in
    the quarter before it."""
    festivals = (SPRING_FESTIVALS - today_d).astype(int)
    frames = []
    for festival in festivals[(festivals > -LOG_DAYS) & (festivals < 60)]:
        recent = orders[(orders["day"] < festival - 10) & (orders["day"] >= festival - 100)]
        customer = recent["customer"].unique()
        chosen = customer[rng.random(len(customer)) < CONTACTED_SHARE["festival"]]
        frames.append(
            pd.DataFrame({"customer": chosen, "anchor": festival, "occasion": "festival"})
        )
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def _in_stretches(rng, network, orders):
    """Contacts at random days of a stretch of each customer's life: courting until the
    first order (every prospect at least once), keeping in touch while they buy, and
    trying to win them back in the year after their last order."""
    n = len(network)
    since = np.maximum(network["joined"].to_numpy(), -LOG_DAYS)
    by_customer = orders.groupby("customer")["day"]
    first = by_customer.min().reindex(range(n)).to_numpy(dtype=float)
    last = by_customer.max().reindex(range(n)).to_numpy(dtype=float)
    bought = ~np.isnan(first)
    keeping_a_year = (
        per_segment("interactions_a_year", network["segment"].to_numpy()) * KEEPING_SHARE
    )
    stopped = bought & (last < -90)
    stretches = {
        "courting": (since, np.where(bought, first, 1), COURTING_A_YEAR, ~bought),
        "keeping": (np.maximum(first, since), last + 60, keeping_a_year, False),
        "winback": (last + 60, np.where(stopped, last + 365, -np.inf), WINBACK_CONTACTS, False),
    }
    frames = []
    for occasion, (begin, end, a_year, at_least_once) in stretches.items():
        begin = np.nan_to_num(begin, nan=0.0)
        end = np.nan_to_num(np.minimum(end, 1), nan=0.0)
        length = np.maximum(end - begin, 0)
        count = rng.poisson(a_year * length / 365.0)
        count = np.where(at_least_once & (length >= 1), np.maximum(count, 1), count)
        customer = np.repeat(np.arange(n), count)
        day = begin[customer] + np.floor(rng.random(len(customer)) * length[customer])
        frames.append(
            pd.DataFrame({"customer": customer, "day": day.astype(int), "occasion": occasion})
        )
    return frames


def _with_topics(rng, contacts, company):
    """A topic for each contact among those of its occasion that fit the customer, and
    its day: the record's day moved by the topic's `days` (or the day already drawn)."""
    occasions = np.array([t.occasion for t in TOPICS])
    fits_company = np.array([t.who in ("all", "companies") for t in TOPICS])
    fits_individual = np.array([t.who in ("all", "individuals") for t in TOPICS])
    contacts = contacts.reset_index(drop=True)
    is_company = company[contacts["customer"].to_numpy()]
    weights = np.array([t.weight for t in TOPICS])
    drawn = rng.random(len(contacts))
    topic = np.full(len(contacts), -1)
    codes, names = pd.factorize(contacts["occasion"])
    for code, occasion in enumerate(names):
        for fits, whom in ((fits_company, is_company), (fits_individual, ~is_company)):
            options = np.flatnonzero((occasions == occasion) & fits)
            rows = np.flatnonzero((codes == code) & whom)
            if len(options):
                cumulative = np.cumsum(weights[options]) / weights[options].sum()
                chosen = np.searchsorted(cumulative, drawn[rows], side="right")
                topic[rows] = options[np.minimum(chosen, len(options) - 1)]
    contacts = contacts.assign(topic=topic)[topic >= 0]
    low = np.array([t.days[0] for t in TOPICS])[contacts["topic"].to_numpy()]
    high = np.array([t.days[1] for t in TOPICS])[contacts["topic"].to_numpy()]
    shift = low + np.floor(rng.random(len(contacts)) * (high - low + 1)).astype(int)
    anchored = contacts["anchor"].notna().to_numpy()
    day = np.where(anchored, contacts["anchor"].to_numpy(dtype=float) + shift, contacts["day"])
    contacts = contacts.assign(day=day.astype(int))
    in_time = contacts["until"].isna().to_numpy() | (
        contacts["day"].to_numpy() < contacts["until"].to_numpy(dtype=float)
    )
    return contacts[in_time][["customer", "day", "topic"]]


def _outcomes(rng, customer, day, topic, orders):
    """An outcome of each contact's topic; one that promises an order only if the
    customer orders within ORDER_SOON days."""
    # Customer and day in one sortable key (days lie within ±100,000 of today).
    order_keys = np.sort(orders["customer"].to_numpy() * 100_000 + orders["day"].to_numpy())
    # The customer's first order after the contact day.
    after = np.searchsorted(order_keys, customer * 100_000 + day, side="right")
    next_key = np.append(order_keys, np.iinfo(np.int64).max)[after]
    soon = next_key <= customer * 100_000 + day + ORDER_SOON
    # Outcomes in one flat table: per topic, those said without an order soon, then
    # those said with one (the same again for topics that promise nothing).
    lists = [(t.outcomes, t.ordering or t.outcomes) for t in TOPICS]
    table = np.array([o for pair in lists for options in pair for o in options], dtype=object)
    sizes = np.array([[len(options) for options in pair] for pair in lists])
    offsets = (np.cumsum(sizes.ravel()) - sizes.ravel()).reshape(sizes.shape)
    variant = rng.integers(0, 1000, len(topic))
    row = soon.astype(int)
    return table[offsets[topic, row] + variant % sizes[topic, row]]


def complaints(rng, network, order_rows, today_d):
    """Complaints about a delivery, a few days after one of the customer's orders:
    likelier, and about one of the last orders, from those who stopped buying."""
    n = len(network)
    last = order_rows.groupby("customer")["day"].max().reindex(range(n)).to_numpy()
    bought = ~np.isnan(last)
    quiet = bought & (last < -180)
    customer = np.flatnonzero(bought & (rng.random(n) < np.where(quiet, 0.18, 0.07)))
    # A quarter of them complain twice.
    customer = np.sort(np.concatenate([customer, customer[rng.random(len(customer)) < 0.25]]))
    m = len(customer)
    ordered = order_rows.sort_values(["customer", "day"], kind="stable")
    orders_of = np.bincount(ordered["customer"].to_numpy(), minlength=n)
    first_of = np.cumsum(orders_of) - orders_of
    count = orders_of[customer]
    u = rng.random(m)
    one_of_the_last = count - 1 - np.floor(u * np.minimum(count, 3)).astype(int)
    which = np.where(quiet[customer], one_of_the_last, np.floor(u * count).astype(int))
    delivered = ordered["day"].to_numpy()[first_of[customer] + which]
    day = np.minimum(delivered + rng.integers(0, 6, m), 0)
    resolve_after = rng.integers(1, 21, m)
    recent = day > -60
    u = rng.random(m)
    status = np.where(
        recent & (u < 0.4), "open", np.where(recent & (u < 0.7), "in_progress", "resolved")
    )
    status = np.where(~recent & (u > 0.97), "in_progress", status)
    status = np.where((status == "resolved") & (day + resolve_after > 0), "in_progress", status)
    resolved = status == "resolved"
    satisfaction = 1 + pick(rng, [0.05, 0.1, 0.25, 0.35, 0.25], m)
    satisfaction = np.where(quiet[customer], np.maximum(1, satisfaction - 1), satisfaction)
    variant = rng.integers(0, 1000, m)
    owner = network["owner"].to_numpy()[customer]
    minute = rng.integers(8 * 60, 19 * 60, m)
    return pd.DataFrame(
        {
            "customer": customer,
            "subject": [COMPLAINTS[p % len(COMPLAINTS)][0] for p in variant],
            "description": [COMPLAINTS[p % len(COMPLAINTS)][1] for p in variant],
            "status": status,
            "received_at": timestamps(today_d, day, minute),
            "received_by": owner,
            "resolution": np.where(
                resolved, [COMPLAINTS[p % len(COMPLAINTS)][2] for p in variant], ""
            ),
            "resolved_at": pd.Series(timestamps(today_d, day + resolve_after, minute)).where(
                resolved
            ),
            "resolved_by": pd.Series(owner).where(resolved),
            "satisfaction": pd.Series(satisfaction).where(resolved).astype("Int64"),
        }
    )


def issues(rng, network, today_d):
    """Unresolved issues (未解决问题) on some files; older ones mostly closed."""
    n = len(network)
    customer = np.flatnonzero(rng.random(n) < 0.06)
    m = len(customer)
    joined = np.maximum(network["joined"].to_numpy()[customer], -365)
    day = joined + np.floor(rng.random(m) * (-joined + 1)).astype(int)
    close_day = day + rng.integers(3, 61, m)
    closed = (rng.random(m) < 0.55) & (close_day <= 0)
    variant = rng.integers(0, 1000, m)
    owner = network["owner"].to_numpy()[customer]
    minute = rng.integers(8 * 60, 19 * 60, m)
    return pd.DataFrame(
        {
            "customer": customer,
            "title": [ISSUES[p % len(ISSUES)][0] for p in variant],
            "description": [ISSUES[p % len(ISSUES)][1] for p in variant],
            "status": np.where(closed, "closed", "open"),
            "opened_by": owner,
            "opened_at": timestamps(today_d, day, minute),
            "closed_by": pd.Series(owner).where(closed),
            "closed_at": pd.Series(timestamps(today_d, close_day, minute)).where(closed),
            "resolution": np.where(closed, [ISSUES[p % len(ISSUES)][2] for p in variant], ""),
        }
    )
