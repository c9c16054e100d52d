"""The keys that tell likely duplicate customers (重复客户); see customers.duplicates.

Two customers are likely the same when
- their phones match: the digits only, a leading country code 86 dropped (`phone_key`;
  fewer than 5 digits match nothing), or
- their names match once normalised, in the same region (`name_key`, compared with the
  region exactly as stored).

A name is normalised (`name_key`) by: NFKC, which turns full-width letters, digits and
punctuation into their half-width forms; case folding; keeping only letters and digits (every space,
punctuation mark and symbol goes); then dropping one common company suffix at the end, the
longest that fits (股份有限公司, 有限责任公司, 有限公司, 公司), and the words Co, Ltd,
Limited, Inc, LLC, Corp, Company at the end of a name in Latin letters, unless nothing
would be left. So ``北京 华夏（商贸）有限公司`` and ``北京华夏商贸公司``
share the key ``北京华夏商贸``.

Both keys are stored on the customer (kept by `Customer.save`, the imports and the demo
loader) and indexed, so a check is two index probes at any size. The site's form warns
before saving; imports report the rows that look like duplicates and write them anyway.
"""

import re
import unicodedata

import pandas as pd

# Longest first: the first that ends the name is dropped.
NAME_SUFFIXES = ("股份有限公司", "有限责任公司", "集团有限公司", "有限公司", "总公司", "公司")
# Dropped as whole words at the end of a name written in Latin letters ("Acme Co., Ltd.").
WORD_SUFFIXES = frozenset({"co", "ltd", "limited", "inc", "llc", "corp", "company"})
WORD = re.compile(r"[^\W_]+")
PHONE_DIGITS_MIN = 5
# The width of the stored keys (Customer.name_key, Customer.phone_key).
NAME_KEY_LENGTH = 200
PHONE_KEY_LENGTH = 30


def name_key(name) -> str:
    """The name as compared for duplicates (see the module's docstring)."""
    words = WORD.findall(unicodedata.normalize("NFKC", name or "").casefold())
    while len(words) > 1 and words[-1] in WORD_SUFFIXES:
        words.pop()
    kept = "".join(words)
    for suffix in NAME_SUFFIXES:
        if kept.endswith(suffix) and len(kept) > len(suffix):
            kept = kept[: -len(suffix)]
            break
    return kept[:NAME_KEY_LENGTH]


def phone_key(phone) -> str:
    """The phone as compared for duplicates: its digits, without the country code 86; empty
    when too short to tell customers apart."""
    digits = "".join(char for char in unicodedata.normalize("NFKC", phone or "") if char.isdigit())
    if len(digits) == 13 and digits.startswith("86"):
        digits = digits[2:]
    return digits[:PHONE_KEY_LENGTH] if len(digits) >= PHONE_DIGITS_MIN else ""


def name_keys(names: pd.Series) -> pd.Series:
    """`name_key` of each name; missing names stay missing."""
    return names.map(name_key, na_action="ignore")


def phone_keys(phones: pd.Series) -> pd.Series:
    """`phone_key` of each phone; missing phones stay missing."""
    return phones.map(phone_key, na_action="ignore")
