"""The contact log, complaints (投诉) and unresolved issues (未解决问题)."""

import numpy as np
import pandas as pd

from customers.demo.common import HISTORY_YEARS, pick, timestamps
from customers.demo.network import per_segment

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


def interactions(rng, network, today_d):
    """The contact log: entries spread over the customer's time with us, by their owner."""
    seg = network["segment"].to_numpy()
    since = np.maximum(network["joined"].to_numpy(), -365 * 2)
    # Prospects get courted more than their size suggests.
    per_year = per_segment("interactions_a_year", seg) + 2.0 * network["prospect"].to_numpy()
    count = rng.poisson(per_year * (-since) / 365.0)
    customer = np.repeat(np.arange(len(network)), count)
    n = len(customer)
    start = since[customer]
    day = start + np.floor(rng.random(n) * (-start + 1)).astype(int)
    minute = rng.integers(8 * 60, 19 * 60, n)
    frame = pd.DataFrame({"customer": customer, "day": day, "minute": minute})
    frame = frame.sort_values(["customer", "day", "minute"], ignore_index=True)
    customer, day = frame["customer"].to_numpy(), frame["day"].to_numpy()
    channel = pick(rng, CHANNEL_WEIGHTS, n)
    variant = rng.integers(0, 1000, n)
    summary, outcome = topics(channel, variant)
    latest = np.r_[customer[1:] != customer[:-1], True] if n else np.array([], dtype=bool)
    follow = rng.random(n) < np.where(latest, 0.6, 0.2)
    follow_day = day + rng.integers(3, 31, n)
    return pd.DataFrame(
        {
            "customer": customer,
            "channel": np.array(CHANNELS, dtype=object)[channel],
            "staff": network["owner"].to_numpy()[customer],
            "occurred_at": timestamps(today_d, day, frame["minute"].to_numpy()),
            "summary": summary,
            "outcome": outcome,
            "next_follow_up": pd.Series(pd.to_datetime(today_d + follow_day)).where(follow),
        }
    )


def topics(channel, variant):
    """A summary on each contact's channel and an outcome that fits it."""
    topics = [topic for name in CHANNELS for topic in TOPICS[name]]
    per_channel = np.array([len(TOPICS[name]) for name in CHANNELS])
    per_topic = np.array([len(outcomes) for _, outcomes in topics])
    topic = np.cumsum(per_channel)[channel] - per_channel[channel] + variant % per_channel[channel]
    outcome = np.cumsum(per_topic)[topic] - per_topic[topic] + (variant // 7) % per_topic[topic]
    summaries = np.array([summary for summary, _ in topics], dtype=object)
    outcomes = np.array([o for _, outcomes in topics for o in outcomes], dtype=object)
    return summaries[topic], outcomes[outcome]


def complaints(rng, network, order_rows, today_d):
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
