"""Names (family name first), addresses, phone numbers and e-mail addresses."""

from customers.demo.common import words
from customers.demo.network import CITIES

# Trade names (字号) with their pinyin, for company names and e-mail domains.
BRANDS = tuple(
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
SURNAMES = words(
    "王 李 张 刘 陈 杨 黄 赵 吴 周 徐 孙 马 朱 胡 郭 何 高 林 罗 "
    "郑 梁 谢 宋 唐 许 韩 冯 邓 曹 彭 曾 肖 田 董 潘 袁 蔡 蒋 余"
)
GIVEN_NAMES = words(
    "伟 芳 娜 秀英 敏 静 丽 强 磊 军 洋 勇 艳 杰 娟 涛 明 超 秀兰 霞 平 刚 桂英 建华 文 "
    "华 红 建国 志强 海燕 玉兰 鹏 辉 晨 浩 宇 欣 婷 雪 琳 俊 凯 佳怡 子涵 思远 国庆 春梅 "
    "卫东 晓明 丹"
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


def person_names(rng, n):
    surname = rng.integers(0, len(SURNAMES), n)
    given = rng.integers(0, len(GIVEN_NAMES), n)
    return [SURNAMES[s] + GIVEN_NAMES[g] for s, g in zip(surname, given, strict=True)]


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
