"""Names (family name first), addresses, phone numbers and e-mail addresses."""

import numpy as np
import pandas as pd

from customers.demo.common import words
from customers.demo.network import CITIES

# Trade names (字号) with their pinyin, for company names and e-mail domains: a few
# established ones, and the auspicious two-character names that most shops choose.
_CHOSEN_BRANDS = tuple(
    tuple(pair.split(":"))
    for pair in words(
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
_BRAND_SYLLABLES = dict(
    pair.split(":")
    for pair in words(
        """
        鑫:xin 恒:heng 瑞:rui 嘉:jia 福:fu 盛:sheng 宏:hong 天:tian 百:bai 万:wan 利:li 佳:jia
        惠:hui 富:fu 祥:xiang 德:de 金:jin 鸿:hong 永:yong 华:hua 兴:xing 聚:ju 长:chang 银:yin
        君:jun 锦:jin 荣:rong 丰:feng 乐:le 旺:wang 春:chun 安:an 康:kang 信:xin 诚:cheng
        昌:chang 宝:bao 广:guang 新:xin 顺:shun 泰:tai 隆:long 源:yuan 合:he 汇:hui 润:run 达:da
        通:tong 正:zheng 大:da 美:mei 友:you 益:yi 同:tong 和:he 亿:yi 海:hai 远:yuan 禾:he
        民:min 鼎:ding 运:yun 联:lian 来:lai 泽:ze 发:fa 成:cheng 茂:mao 辉:hui 悦:yue 森:sen
        """
    )
)
_FIRST_SYLLABLES = "鑫恒瑞嘉福盛宏天百万利佳惠富祥德金鸿永华兴聚长银君锦荣丰乐旺春安康信诚昌宝广新顺亿海远正大友益同"
_SECOND_SYLLABLES = (
    "源泰丰禾达和汇民美润顺鼎运盛联隆福祥来华泽昌兴发旺通安康信成宝利茂鑫嘉荣辉锦悦森"
)
BRANDS = tuple(
    dict.fromkeys(
        _CHOSEN_BRANDS
        + tuple(
            (first + second, _BRAND_SYLLABLES[first] + _BRAND_SYLLABLES[second])
            for first in _FIRST_SYLLABLES
            for second in _SECOND_SYLLABLES
            if first != second
        )
    )
)
SURNAMES = words(
    "王 李 张 刘 陈 杨 黄 赵 吴 周 徐 孙 马 朱 胡 郭 何 高 林 罗 "
    "郑 梁 谢 宋 唐 许 韩 冯 邓 曹 彭 曾 肖 田 董 潘 袁 蔡 蒋 余"
)
GIVEN_NAMES = words(
    "伟 芳 娜 秀英 敏 静 丽 强 磊 军 洋 勇 艳 杰 娟 涛 明 超 秀兰 霞 平 刚 桂英 建华 文 "
    "华 红 建国 志强 海燕 玉兰 鹏 辉 晨 浩 宇 欣 婷 雪 琳 俊 凯 佳怡 子涵 思远 国庆 春梅 "
    "卫东 晓明 丹"
) + tuple(
    # Two-character given names, the commoner kind.
    first + second
    for first in "建志国文晓海春秀玉丽子思佳雨俊振德明永家嘉宏雅欣浩"
    for second in "华强明军平红英兰梅燕涛杰宇轩涵怡琳婷博睿峰磊伟静"
    if first != second
)
ROADS = words(
    "人民路 解放路 中山路 建设路 新华路 长江路 和平路 胜利路 文化路 青年路 光明路 东风路 "
    "友谊路 工业大道 科技路 学院路 滨江路 金桥路"
)
ESTATES = words("阳光花园 幸福家园 锦绣华庭 金色港湾 翠湖苑 碧水湾 滨江花园 世纪城")
MOBILE_PREFIXES = words(
    "130 131 132 133 135 136 137 138 139 150 151 152 155 156 157 158 159 166 173 176 177 "
    "180 181 182 183 185 186 187 188 189 191 198 199"
)


# How often a name taken in its city is drawn again before the next way out.
NAME_DRAWS = 20


def person_names(rng, n):
    """Family name first, then a one- or two-character given name."""
    surname = rng.integers(0, len(SURNAMES), n)
    given = rng.integers(0, len(GIVEN_NAMES), n)
    return [SURNAMES[s] + GIVEN_NAMES[g] for s, g in zip(surname, given, strict=True)]


def unique_in_city(rng, city, propose):
    """Names unique within each city, first come first served: `propose(rng, rows)`
    names each of `rows` (and may keep what it drew for them); rows whose name is
    taken in their city propose again, up to NAME_DRAWS times. Returns the names, the
    rows still clashing after that, and the (city, name) pairs taken."""
    names = np.empty(len(city), dtype=object)
    taken = set()
    rows = np.arange(len(city))
    for _ in range(NAME_DRAWS):
        if not len(rows):
            break
        names[rows] = propose(rng, rows)
        clashing = []
        for row in rows:
            key = (city[row], names[row])
            if key in taken:
                clashing.append(row)
            else:
                taken.add(key)
        rows = np.array(clashing, dtype=int)
    return names, rows, taken


def people_in_cities(rng, city):
    """Names of individual customers, unique within their city while the names last
    (namesakes stay possible in a very large base, as in life)."""
    names, _clashing, _taken = unique_in_city(
        rng, city, lambda rng, rows: person_names(rng, len(rows))
    )
    return names


def companies_in_cities(rng, city, templates):
    """Company names from each row's templates (with {city}, {brand}, {district} and
    {road}), unique within the city: a name taken there is drawn again with another
    trade name, template, street and district, and one still taken after that becomes
    a numbered branch (分店). Returns the names with the brand, road and district drawn."""
    n = len(city)
    drawn = pd.DataFrame({"brand": 0, "road": 0, "district": 0}, index=range(n))

    def propose(rng, rows):
        m = len(rows)
        brand = rng.integers(0, len(BRANDS), m)
        road = rng.integers(0, len(ROADS), m)
        district = rng.integers(0, 1000, m)
        template = rng.integers(0, 1000, m)
        drawn.loc[rows, "brand"], drawn.loc[rows, "road"] = brand, road
        drawn.loc[rows, "district"] = district
        return [
            templates[row][t % len(templates[row])].format(
                city=CITIES[city[row]].name,
                brand=BRANDS[b][0],
                district=district_name(city[row], d),
                road=ROADS[r],
            )
            for row, b, r, d, t in zip(rows, brand, road, district, template, strict=True)
        ]

    names, clashing, taken = unique_in_city(rng, city, propose)
    for row in clashing:
        number = 2
        while (city[row], f"{names[row]}（{number}号店）") in taken:
            number += 1
        names[row] = f"{names[row]}（{number}号店）"
        taken.add((city[row], names[row]))
    return drawn.assign(name=names)


def district_name(city, drawn):
    districts = CITIES[city].districts
    return districts[drawn % len(districts)]


def phone_numbers(rng, city, landline):
    n = len(city)
    prefix = rng.integers(0, len(MOBILE_PREFIXES), n)
    digits = rng.integers(0, 10**8, n)
    local = rng.integers(2 * 10**7, 9 * 10**7, n)
    return [
        f"{CITIES[c].area_code}-{number}" if fixed else f"{MOBILE_PREFIXES[p]}{d:08d}"
        for c, p, d, number, fixed in zip(city, prefix, digits, local, landline, strict=True)
    ]


def email_addresses(rng, brand, city, company):
    """A company mailbox on the trade name's domain, a QQ or a 163 address, or none;
    never one that another customer has (a taken one falls back to a QQ number)."""
    n = len(brand)
    box = rng.random(n)
    number = rng.integers(10**7, 10**10, n)
    mailbox = ("sales", "info", "caigou", "service")
    emails, used = [], set()
    for i in range(n):
        if company[i] and box[i] < 0.55:
            name = mailbox[number[i] % len(mailbox)]
            email = f"{name}@{BRANDS[brand[i]][1]}-{CITIES[city[i]].pinyin}.com"
        elif box[i] < 0.8:
            email = f"{number[i]}@qq.com"
        elif box[i] < 0.9:
            email = f"{BRANDS[brand[i]][1]}{number[i] % 100}@163.com"
        else:
            email = ""
        qq = number[i]
        while email in used:
            qq += 1
            email = f"{qq}@qq.com"
        if email:
            used.add(email)
        emails.append(email)
    return emails
