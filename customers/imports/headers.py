"""Column headers and choice labels in the users' own words.

Every import column has its documented English name (`customer_ref`,
`order_date` …) and the names people give it in a spreadsheet (客户编号,
下单日期 …): ALIASES is the one table of them, and the README's import section
shows it. A header is compared without case, surrounding or inner spaces, or the
difference between full-width and half-width characters. A header that names no
column of the kind of file is refused, naming the nearest known one.

Choice cells (kind, channel role, terminal type, source) take the stored code,
the English label or the Chinese label (公司, 总经销商 …), plus the short forms in
CHOICE_SYNONYMS.
"""

import difflib
import re
import unicodedata

import pandas as pd
from django.utils import translation
from django.utils.translation import gettext as _

from customers.imports.readers import LINE, ImportFileError
from customers.models import Customer

# Documented column name → the other names a file may give it.
ALIASES = {
    "customer_ref": ["客户编号", "客户编码", "客户代码", "客户号"],
    "name": ["客户名称", "客户名", "名称"],
    "kind": ["类型", "客户类型"],
    "channel_role": ["渠道角色", "渠道"],
    "terminal_type": ["终端类型"],
    "parent_ref": ["上级客户编号", "供货方编号", "上级编号", "供货方"],
    "region": ["区域", "地区"],
    "address": ["地址"],
    "phone": ["电话", "联系电话"],
    "email": ["邮箱", "电子邮件"],
    "source": ["来源", "来源渠道"],
    "owner": ["负责人", "销售代表"],
    "team": ["团队"],
    "tags": ["标签"],
    "notes": ["备注"],
    "order_ref": ["订单号", "订单编号"],
    "order_date": ["下单日期", "订单日期"],
    "amount": ["金额"],
    "quantity": ["数量"],
    "category": ["品类", "类别"],
    "invoice_ref": ["发票号", "发票编号"],
    "issue_date": ["开票日期"],
    "due_date": ["到期日", "到期日期"],
    "paid_date": ["付款日期", "回款日期"],
}

CHOICE_FIELDS = {
    "kind": Customer.Kind,
    "channel_role": Customer.ChannelRole,
    "terminal_type": Customer.TerminalType,
    "source": Customer.Source,
}
# Short forms people write besides the labels.
CHOICE_SYNONYMS = {
    "kind": {"企业": "company", "单位": "company"},
    "channel_role": {"总经销": "general_distributor", "批发": "wholesaler", "消费者": "consumer"},
    "terminal_type": {"餐厅": "restaurant", "饭店": "restaurant"},
    "source": {"介绍": "referral"},
}
# The labels are read in these languages, whatever the language of the import.
LABEL_LANGUAGES = ("en", "zh-hans")


def normalized(text) -> str:
    """A header or choice cell as compared: NFKC (full-width → half-width), lower case,
    without spaces."""
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", str(text))).lower()


def column_names(columns, known) -> dict:
    """The file's header → its documented column name, for `known` (the kind's columns).

    An unknown header, or two headers for one column, is an ImportFileError."""
    names = {}
    for column in known:
        names[normalized(column)] = column
        for alias in ALIASES.get(column, ()):
            names[normalized(alias)] = column
    mapping, seen = {}, {}
    for header in columns:
        if header == LINE:
            continue
        column = names.get(normalized(header))
        if column is None:
            raise ImportFileError(_unknown_header(header, known, names))
        if column in seen:
            raise ImportFileError(
                _("The columns “%(first)s” and “%(second)s” both mean %(column)s; keep one.")
                % {"first": seen[column], "second": header, "column": column}
            )
        seen[column] = header
        mapping[header] = column
    return mapping


def _unknown_header(header, known, names):
    documented = ", ".join(known)
    nearest = difflib.get_close_matches(normalized(header), list(names), n=1, cutoff=0.5)
    if not nearest:
        return _(
            "The column “%(header)s” is not one this import knows. Known columns: %(known)s."
        ) % {
            "header": header,
            "known": documented,
        }
    spelling = _spelling(nearest[0], names[nearest[0]])
    return _(
        "The column “%(header)s” is not one this import knows; did you mean “%(nearest)s”? "
        "Known columns: %(known)s."
    ) % {"header": header, "nearest": spelling, "known": documented}


def _spelling(name, column):
    """How the nearest name is shown: the alias as written, with the column it stands for."""
    if name == column:
        return column
    alias = next(alias for alias in ALIASES[column] if normalized(alias) == name)
    return f"{alias} ({column})"


def choice_codes(field) -> dict:
    """Every way of writing a choice of `field` (normalized) → its code."""
    choices = CHOICE_FIELDS[field]
    codes = {}
    for language in LABEL_LANGUAGES:
        with translation.override(language):
            codes.update({normalized(label): code for code, label in choices.choices})
    codes.update({normalized(word): code for word, code in CHOICE_SYNONYMS.get(field, {}).items()})
    codes.update({normalized(code): code for code in choices.values})
    return codes


def choices_as_codes(values, field) -> pd.Series:
    """The cells with each label or code of `field` written as its code; other cells as
    they are (the checks name them)."""
    codes = choice_codes(field)
    known = values.isin(CHOICE_FIELDS[field].values) | (values == "")
    if known.all():
        return values
    rest = values[~known]
    mapped = rest.map(lambda value: codes.get(normalized(value), value))
    return values.where(known, mapped)
