"""The users that bench/load drives: logged-in reps, managers and admins of the bench data
set, each thinking 1–3 s between requests (BENCH_THINK_MIN / BENCH_THINK_MAX).

Every request is also appended to BENCH_LOAD_LOG as one JSON line (time, name, ms, ok), so
that bench/load.py can work out percentiles over any window (for example while a pipeline
run is going on). Redemptions are in the mix when BENCH_REDEEM=1 (the data set has members).
"""

import datetime as dt
import json
import os
import random
import re
import time
from pathlib import Path

from locust import HttpUser, between, events, task

PASSWORD = os.environ.get("BENCH_PASSWORD", "bench-pass-123")
THINK = (
    float(os.environ.get("BENCH_THINK_MIN", "1")),
    float(os.environ.get("BENCH_THINK_MAX", "3")),
)
REDEEM = os.environ.get("BENCH_REDEEM") == "1"
LOG = (
    open(os.environ["BENCH_LOAD_LOG"], "a", buffering=1)  # noqa: SIM115 (open for the run)
    if os.environ.get("BENCH_LOAD_LOG")
    else None
)
# Sessions already logged in, by username (bench/load.py writes them); without them each
# user logs in through the login form first.
SESSIONS = (
    json.loads(Path(os.environ["BENCH_SESSIONS"]).read_text())
    if os.environ.get("BENCH_SESSIONS")
    else {}
)
CUSTOMER_LINK = re.compile(r'href="/customers/(\d+)/"')
SEARCHES = ["锦江", "酒店", "超市", "华联", "批发", "便利店"]
REGIONS = ["上海", "北京", "广州", "深圳", "杭州", "成都"]
ROLES = ["wholesaler", "general_distributor", "terminal"]


@events.request.add_listener
def record(request_type, name, response_time, response_length, exception=None, **kwargs):
    if LOG is not None:
        line = {"t": time.time(), "name": name, "ms": response_time, "ok": exception is None}
        LOG.write(json.dumps(line) + "\n")


class CrmUser(HttpUser):
    abstract = True
    wait_time = between(*THINK)
    usernames = []

    def on_start(self):
        self.username = random.choice(self.usernames)
        self.customers = []
        if self.username in SESSIONS:
            self.client.cookies.set("sessionid", SESSIONS[self.username])
        else:
            self.log_in()
        self.open_list()

    def log_in(self):
        self.client.get("/accounts/login/", name="login page")
        with self.client.post(
            "/accounts/login/",
            data={
                "username": self.username,
                "password": PASSWORD,
                "csrfmiddlewaretoken": self.csrf(),
                "next": "/",
            },
            name="login",
            catch_response=True,
        ) as response:
            if "/accounts/login/" in response.url:
                response.failure(f"{self.username} could not log in")

    def csrf(self):
        return self.client.cookies.get("csrftoken", "")

    def get(self, url, name):
        with self.client.get(url, name=name, catch_response=True) as response:
            if response.status_code != 200:
                response.failure(f"{response.status_code}")
            elif "/accounts/login/" in response.url:
                response.failure("logged out")
            return response

    def open_list(self, query="", name="list"):
        response = self.get(f"/customers/{query}", name)
        ids = CUSTOMER_LINK.findall(response.text or "")
        if ids:
            self.customers = ids
        return response

    def customer(self):
        return random.choice(self.customers) if self.customers else None

    @task(4)
    def customer_list(self):
        self.open_list()

    @task(2)
    def filtered_list(self):
        query = f"?region={random.choice(REGIONS)}&channel_role={random.choice(ROLES)}"
        self.open_list(query, "filter")

    @task(2)
    def search(self):
        self.open_list(f"?q={random.choice(SEARCHES)}", "search")

    @task(4)
    def customer_file(self):
        if pk := self.customer():
            self.get(f"/customers/{pk}/", "file")

    @task(2)
    def start_page(self):
        self.get("/", "start page")

    @task(1)
    def dashboard(self):
        self.get("/dashboard/", "dashboard")

    @task(1)
    def churn_list(self):
        self.get("/retention/risk/", "churn list")

    @task(1)
    def lost_list(self):
        self.get("/retention/lost/", "lost list")

    @task(1)
    def log_interaction(self):
        pk = self.customer()
        if pk is None:
            return
        yesterday = dt.date.today() - dt.timedelta(days=1)
        url = f"/customers/{pk}/interactions/new/"
        with self.client.post(
            url,
            data={
                "csrfmiddlewaretoken": self.csrf(),
                "channel": "phone",
                "occurred_at": f"{yesterday:%Y-%m-%d}T10:00",
                "summary": "bench: follow-up call",
                "outcome": "",
                "next_follow_up": "",
            },
            headers={"Referer": self.host + url},
            name="log interaction",
            catch_response=True,
        ) as response:
            if response.status_code != 200 or "/interactions/new/" in response.url:
                response.failure(f"{response.status_code}, not saved")

    @task(1)
    def redeem(self):
        pk = self.customer()
        if not REDEEM or pk is None:
            return
        url = f"/loyalty/customers/{pk}/redeem/"
        with self.client.post(
            url,
            data={
                "csrfmiddlewaretoken": self.csrf(),
                "redeem-points": "1",
                "redeem-reason": "bench",
            },
            headers={"Referer": f"{self.host}/customers/{pk}/"},
            name="redeem",
            catch_response=True,
        ) as response:
            if response.status_code != 200:
                response.failure(f"{response.status_code}")


class Rep(CrmUser):
    weight = 6
    usernames = ["bench_rep", *(f"bench_rep_{n:03d}" for n in range(2, 201))]


class Manager(CrmUser):
    weight = 3
    usernames = ["bench_manager", *(f"bench_manager_{n:02d}" for n in range(2, 21))]


class Admin(CrmUser):
    weight = 1
    usernames = ["bench_admin"]
