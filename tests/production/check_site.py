"""Check a running site over real HTTP, as the production pass (`.ci/production`)
does against gunicorn with the demo data:

    python -m tests.production.check_site http://127.0.0.1:8000
    python -m tests.production.check_site --database-down http://127.0.0.1:8001

1. Every demo role logs in and opens the main pages: each answers 200, or 403
   where the role may not go; none answers 500. Each page's stylesheets and
   scripts are fetched once: hashed names from the manifest, served by
   WhiteNoise (the right type, compressed, cached for good).
2. A rep gets the 404 page for another team's customer and for an unknown
   address, a rep the 403 page for the nightly runs, both in the site's layout.
3. The admin starts a pipeline run on the runs page; a Celery worker must run
   and publish it (succeeded and current) within the time limit.
4. Every role opens the main pages again, now over the published run.

With `--database-down`, the site is one whose database cannot be reached: a
visitor with a session gets the 500 page in the site's layout and language,
with its static files.

Prints one line per request and exits 1 with every shortfall listed if any.
Needs the project's settings only to name URLs; it never opens the database.
"""

import argparse
import gzip
import http.cookiejar
import os
import re
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from html.parser import HTMLParser

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "crm_site.settings")
django.setup()

from django.urls import Resolver404, resolve, reverse  # noqa: E402

from customers.demo import DEFAULT_PASSWORD  # noqa: E402

LANGUAGE = "zh-hans"
RUN_TIMEOUT = 240  # seconds for the worker to publish the run
HASHED_ASSET = re.compile(r"\.[0-9a-f]{12}\.(css|js)$")
ASSET_TYPES = {"css": ("text/css",), "js": ("text/javascript", "application/javascript")}

ADMIN_INDEX, ADMIN_LOGIN = reverse("admin:index"), reverse("admin:login")
# The pages every role opens, with what each role may expect where it differs from 200.
MAIN_PAGES = {
    "start page": reverse("home"),
    "dashboard": reverse("dashboard"),
    "customer list": reverse("customer-list"),
    "follow-up plans": reverse("follow-up-plans"),
    "churn risk": reverse("churn-risk-list"),
    "nightly runs": reverse("pipeline-runs"),
    "admin": ADMIN_INDEX,
}
REP_LIMITS = {"nightly runs": 403, "admin": ADMIN_LOGIN}
EXPECTED = {
    "admin": {},
    "manager": {"admin": ADMIN_LOGIN},
    "rep1": REP_LIMITS,
    "rep2": REP_LIMITS,
}


@dataclass
class Page:
    """What the checks read from a page: its language, assets, links and forms."""

    status: int
    path: str
    headers: dict
    body: bytes
    lang: str = ""
    assets: list = field(default_factory=list)
    links: dict = field(default_factory=dict)  # class -> hrefs
    inputs: dict = field(default_factory=dict)  # name -> value (the last one)
    h1_badges: list = field(default_factory=list)  # class strings of badges in <h1>
    ids: set = field(default_factory=set)


class PageParser(HTMLParser):
    def __init__(self, page):
        super().__init__()
        self.page, self.in_h1 = page, False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        classes = attrs.get("class") or ""
        if attrs.get("id"):
            self.page.ids.add(attrs["id"])
        if tag == "html":
            self.page.lang = attrs.get("lang", "")
        elif tag == "link" and attrs.get("rel") == "stylesheet":
            self.page.assets.append(attrs["href"])
        elif tag == "script" and attrs.get("src"):
            self.page.assets.append(attrs["src"])
        elif tag == "a" and attrs.get("href"):
            for name in classes.split():
                self.page.links.setdefault(name, []).append(attrs["href"])
        elif tag == "input" and attrs.get("name"):
            self.page.inputs[attrs["name"]] = attrs.get("value") or ""
        elif tag == "h1":
            self.in_h1 = True
        elif tag == "span" and self.in_h1 and "badge" in classes.split():
            self.page.h1_badges.append(classes)

    def handle_endtag(self, tag):
        if tag == "h1":
            self.in_h1 = False


class Visitor:
    """One browser-like session on the site: cookies, a language, redirects followed."""

    def __init__(self, base_url, log):
        self.base_url, self.log = base_url, log
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar())
        )

    def request(self, path, data=None, headers=None, parse=True):
        body = urllib.parse.urlencode(data).encode() if data is not None else None
        request = urllib.request.Request(
            self.base_url + path,
            data=body,
            headers={"Accept-Language": LANGUAGE, **(headers or {})},
        )
        started = time.perf_counter()
        try:
            response = self.opener.open(request, timeout=60)
        except urllib.error.HTTPError as error:
            response = error
        with response:
            page = Page(
                status=response.status,
                path=urllib.parse.urlsplit(response.geturl()).path,
                headers={key.lower(): value for key, value in response.headers.items()},
                body=response.read(),
            )
        method = "POST" if data is not None else "GET"
        elapsed = (time.perf_counter() - started) * 1000
        self.log(
            parse,
            f"{page.status} {elapsed:6.0f} ms  {method} {path}"
            + (f" -> {page.path}" if page.path != urllib.parse.urlsplit(path).path else ""),
        )
        if parse and page.headers.get("content-type", "").startswith("text/html"):
            PageParser(page).feed(page.body.decode("utf-8", "replace"))
        return page

    def get(self, path, **headers):
        return self.request(path, headers=headers)

    def post_form(self, path, fields):
        """Open the page, then post its form with the page's CSRF token."""
        token = self.get(path).inputs.get("csrfmiddlewaretoken", "")
        return self.request(path, data={**fields, "csrfmiddlewaretoken": token})


class SiteCheck:
    def __init__(self, base_url):
        self.base_url = base_url.rstrip("/")
        self.shortfalls, self.assets_checked = [], {}
        self.requests = {"page": 0, "asset": 0}

    def log(self, is_page, line):
        self.requests["page" if is_page else "asset"] += 1
        print(line, flush=True)

    def expect(self, holds, shortfall):
        if not holds:
            self.shortfalls.append(shortfall)
            print(f"  SHORTFALL: {shortfall}", flush=True)
        return holds

    def visitor(self, username):
        visitor = Visitor(self.base_url, self.log)
        login = reverse("login")
        page = visitor.post_form(login, {"username": username, "password": DEFAULT_PASSWORD})
        self.expect(
            page.status == 200 and page.path == reverse("home"),
            f"{username} could not log in (answered {page.status} at {page.path})",
        )
        return visitor

    def check_page(self, who, name, page, expected=200, language=LANGUAGE):
        """The page answered as expected, in the site's layout and language, with its assets."""
        if isinstance(expected, str):
            return self.expect(
                page.path == expected, f"{who}: {name} led to {page.path}, not {expected}"
            )
        if not self.expect(
            page.status == expected, f"{who}: {name} answered {page.status}, not {expected}"
        ):
            return False
        self.expect(page.lang == language, f"{who}: {name} is in {page.lang!r}, not {language}")
        self.expect(page.assets, f"{who}: {name} links no stylesheet or script")
        for url in page.assets:
            self.check_asset(url, f"{who}: {name}")
        return True

    def check_asset(self, url, where):
        if url in self.assets_checked:
            return
        path = urllib.parse.urlsplit(url).path
        kind = HASHED_ASSET.search(path)
        if not self.expect(kind, f"{where} links {url}, not a hashed name from the manifest"):
            self.assets_checked[url] = False
            return
        response = Visitor(self.base_url, self.log).request(
            path, headers={"Accept-Encoding": "gzip"}, parse=False
        )
        headers = response.headers
        content_type = headers.get("content-type", "").split(";")[0]
        served = (
            response.status == 200
            and content_type in ASSET_TYPES[kind.group(1)]
            and headers.get("content-encoding") == "gzip"
            and "immutable" in headers.get("cache-control", "")
            and len(gzip.decompress(response.body)) > 0
        )
        self.assets_checked[url] = self.expect(
            served,
            f"{url} answered {response.status} {content_type!r} "
            f"encoding {headers.get('content-encoding')!r} "
            f"cache {headers.get('cache-control')!r}: not a compressed, cached WhiteNoise file",
        )

    def walk_main_pages(self, username):
        """Every main page as the role sees it, then the first customer's file; returns
        the role's visitor and the path of that file."""
        visitor = self.visitor(username)
        pages = {name: visitor.get(path) for name, path in MAIN_PAGES.items()}
        for name, page in pages.items():
            self.check_page(username, name, page, EXPECTED[username].get(name, 200))
        customer_files = pages["customer list"].links.get("customer-link", [])
        if not self.expect(customer_files, f"{username}: the customer list shows no customer"):
            return visitor, None
        self.check_page(username, "a customer file", visitor.get(customer_files[0]))
        return visitor, customer_files[0]

    def check_error_pages(self, rep, other_teams_customer):
        for name, path, status in (
            ("another team's customer", other_teams_customer, 404),
            ("an unknown address", "/no-such-page/", 404),
            ("the nightly runs", reverse("pipeline-runs"), 403),
        ):
            page = rep.get(path)
            if self.check_page("rep1", name, page, status):
                self.expect("error-page" in page.ids, f"rep1: {name} is not the {status} page")

    def start_run_and_wait(self):
        admin = self.visitor("admin")
        page = admin.post_form(reverse("pipeline-runs"), {"as_of": ""})
        try:
            started = resolve(page.path).url_name == "pipeline-run-detail"
        except Resolver404:
            started = False
        if not self.expect(
            started,
            f"starting a run answered {page.status} at {page.path}, not the new run's page",
        ):
            return
        run_path = page.path
        deadline = time.monotonic() + RUN_TIMEOUT
        while time.monotonic() < deadline:
            badges = " ".join(admin.get(run_path).h1_badges)
            if "text-bg-success" in badges or "text-bg-danger" in badges:
                break
            time.sleep(2)
        self.expect("text-bg-success" in badges, f"run {run_path} did not succeed: {badges!r}")
        self.expect("text-bg-light" in badges, f"run {run_path} is not the current run")

    def check_server_error(self):
        """The database is down: reading the session fails, the 500 page still shows."""
        visitor = Visitor(self.base_url, self.log)
        session = {"Cookie": "sessionid=" + "0" * 32}
        page = visitor.request(reverse("home"), headers=session)
        if self.check_page("a visitor", "the start page", page, 500):
            self.expect("error-page" in page.ids, "the start page is not the 500 page")
        return self.report("the 500 page without a database")

    def report(self, what_holds):
        served = sum(1 for ok in self.assets_checked.values() if ok)
        print(
            f"== {self.requests['page']} page requests, {self.requests['asset']} asset requests;"
            f" {served} of {len(self.assets_checked)} assets served",
            flush=True,
        )
        if self.shortfalls:
            print(f"{len(self.shortfalls)} shortfalls:\n  " + "\n  ".join(self.shortfalls))
            return 1
        print(f"the site holds: {what_holds}")
        return 0

    def run(self):
        print(f"== main pages of every role, before any run ({self.base_url})", flush=True)
        files = {username: self.walk_main_pages(username) for username in EXPECTED}
        rep, _ = files["rep1"]
        _, other_teams_customer = files["rep2"]
        if other_teams_customer:
            print("== error pages", flush=True)
            self.check_error_pages(rep, other_teams_customer)
        print("== a run started on the site, published by the worker", flush=True)
        self.start_run_and_wait()
        print("== main pages of every role over the published run", flush=True)
        for username in EXPECTED:
            self.walk_main_pages(username)
        return self.report("every role's pages, static files, error pages, a published run")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("base_url", help="e.g. http://127.0.0.1:8000")
    parser.add_argument(
        "--database-down", action="store_true", help="the site's database cannot be reached"
    )
    arguments = parser.parse_args()
    site = SiteCheck(arguments.base_url)
    return site.check_server_error() if arguments.database_down else site.run()


if __name__ == "__main__":
    sys.exit(main())
