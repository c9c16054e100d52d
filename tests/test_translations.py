"""Every word the site shows has its Simplified Chinese: the project's own strings in
its catalogue (which must be up to date with the code and compiled), the strings of
the third-party apps it shows, the admin's sections and columns, the admin's name.

The catalogue check runs makemessages, as `make messages` does, over a copy of the
sources with the committed catalogue, so that a string added to the code without a
translation fails here, whoever adds it. It needs GNU gettext (xgettext, msgmerge,
msgattrib, msgfmt), as `make messages` does."""

import gettext
import re
import shutil
import subprocess
import sys
from pathlib import Path

import django
import pytest
from django.apps import apps
from django.conf import settings
from django.contrib import admin
from django.contrib.admin.utils import label_for_field
from django.urls import reverse
from django.utils import translation
from django.utils.translation import trans_real

PROJECT = Path(settings.BASE_DIR)
CATALOGUE = Path("zh_Hans") / "LC_MESSAGES" / "django.po"
# What makemessages reads, as `make messages` runs it (the rest is not the site's text).
NOT_SOURCES = shutil.ignore_patterns(
    ".*", "__pycache__", "var", "bench", "tests", "static", "locale", "*.sqlite3"
)
CHINESE = re.compile("[\u4e00-\u9fff]")
# A reference catalogue for the strings of Django and the third-party apps: French is
# complete and kept up to date in each of them.
REFERENCE_LANGUAGE = "fr"


def gettext_tool(*args, cwd=None):
    result = subprocess.run(args, cwd=cwd, capture_output=True, text=True, check=False)
    assert result.returncode == 0, f"{' '.join(map(str, args))} failed: {result.stderr}"
    return result.stdout


def msgids(po_text):
    """The msgids of the entries in `po_text` (a .po file's text), header excluded."""
    ids, current = [], None
    for line in po_text.splitlines():
        if line.startswith("msgid "):
            current = [line[6:]]
        elif current is not None and line.startswith('"'):
            current.append(line)
        elif current is not None:
            text = "".join(part.strip()[1:-1] for part in current)
            if text:
                ids.append(text)
            current = None
    return ids


@pytest.fixture
def refreshed_catalogue(tmp_path):
    """The committed catalogue after makemessages over a copy of the current sources."""
    copy = tmp_path / "project"
    shutil.copytree(PROJECT, copy, ignore=NOT_SOURCES)
    (copy / "locale" / CATALOGUE).parent.mkdir(parents=True)
    shutil.copy(PROJECT / "locale" / CATALOGUE, copy / "locale" / CATALOGUE)
    gettext_tool(sys.executable, "manage.py", "makemessages", "-l", "zh_Hans", cwd=copy)
    return copy / "locale" / CATALOGUE


def test_every_string_of_the_project_has_a_chinese_translation(refreshed_catalogue):
    untranslated = gettext_tool("msgattrib", "--untranslated", "--no-obsolete", refreshed_catalogue)
    fuzzy = gettext_tool("msgattrib", "--only-fuzzy", "--no-obsolete", refreshed_catalogue)
    assert msgids(untranslated) == [], "not in the catalogue, or without a translation"
    assert msgids(fuzzy) == [], "translation marked fuzzy: check it, then drop the mark"


SOURCES = sorted(
    source for path in settings.LOCALE_PATHS for source in Path(path).glob("zh_Hans/*/*.po")
)


@pytest.mark.parametrize("source", SOURCES, ids=lambda source: str(source.relative_to(PROJECT)))
def test_compiled_catalogues_match_their_sources(source, tmp_path):
    compiled = tmp_path / "compiled.mo"
    gettext_tool("msgfmt", "--check", "-o", compiled, source)
    assert catalogue(source.with_suffix(".mo")) == catalogue(compiled), (
        f"{source.with_suffix('.mo')} is out of date: run `make messages`"
    )


def catalogue(mo_file):
    with open(mo_file, "rb") as file:
        return gettext.GNUTranslations(file)._catalog


def reference_catalogues():
    """Django's and each installed app's reference catalogues (.mo files): (app, domain)."""
    roots = [("django", Path(django.__file__).parent / "conf")]
    roots += [(config.name, Path(config.path)) for config in apps.get_app_configs()]
    files = {
        (name, domain): root / "locale" / REFERENCE_LANGUAGE / "LC_MESSAGES" / f"{domain}.mo"
        for name, root in roots
        for domain in ("django", "djangojs")
    }
    return {key: file for key, file in files.items() if file.exists()}


def chinese_catalogue(domain):
    """What Django merges for zh-hans in `domain`: the project's catalogues first, then
    each app's and Django's own (the JavaScript catalogue views read the same places)."""
    if domain == "django":
        return trans_real.translation("zh-hans")._catalog
    app_paths = [Path(config.path) / "locale" for config in apps.get_app_configs()]
    localedirs = [*settings.LOCALE_PATHS, *(str(path) for path in app_paths if path.is_dir())]
    return trans_real.DjangoTranslation("zh-hans", domain=domain, localedirs=localedirs)._catalog


@pytest.mark.parametrize(
    ("app", "domain"), list(reference_catalogues()), ids=lambda value: str(value)
)
def test_the_strings_of_django_and_the_third_party_apps_have_a_chinese_translation(app, domain):
    chinese = chinese_catalogue(domain)
    reference = catalogue(reference_catalogues()[app, domain])
    # Plural forms are keyed (msgid, form); Chinese has one form.
    keys = {(key[0], 0) if isinstance(key, tuple) else key for key in reference}
    assert sorted(str(key) for key in keys if key and key not in chinese) == []


def test_admin_sections_models_and_columns_read_in_chinese(rf):
    request = rf.get("/admin/")
    english = []
    with translation.override("zh-hans"):
        for model, model_admin in admin.site._registry.items():
            labels = [model._meta.app_config.verbose_name, model._meta.verbose_name_plural]
            labels += [
                label_for_field(name, model, model_admin)
                for name in model_admin.get_list_display(request)
            ]
            english += [
                f"{model._meta.label}: {label}"
                for label in labels
                if not CHINESE.search(str(label))
            ]
        assert english == []
        assert CHINESE.search(str(admin.site.site_header))
        assert CHINESE.search(str(admin.site.site_title))


@pytest.mark.django_db
def test_the_admin_shows_the_products_name_and_the_lockouts_in_chinese(admin_client):
    admin_client.cookies[settings.LANGUAGE_COOKIE_NAME] = "zh-hans"
    page = admin_client.get(reverse("admin:index")).content.decode()
    assert "客户关系管理后台" in page and "登录锁定" in page
    assert "Django" not in page and "Axes" not in page


@pytest.mark.django_db
def test_sort_directions_read_in_chinese(cast, client_for):
    client = client_for(cast.rep)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "zh-hans"
    page = client.get(reverse("customer-list")).content.decode()
    assert "（降序）" in page and "descending" not in page
