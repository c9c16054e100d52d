"""The dashboard sections, the file panel, the list filters and the admin, through the pages."""

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from customers import pipeline
from customers.access import can_see_all_customers
from customers.models import PipelineRun
from customers.pipeline import pipeline_run
from customers.selectors import visible_customers
from segmentation import charts, selectors
from segmentation.models import RfmScore
from tests.factories import CustomerFactory, OrderFactory, UserFactory

AS_OF = dt.date(2026, 6, 30)


def buy(customer, *, days_ago, amount, times=1):
    for _ in range(times):
        OrderFactory(
            customer=customer,
            order_date=AS_OF - dt.timedelta(days=days_ago),
            amount=Decimal(amount),
        )


@pytest.fixture
def shop(cast):
    """The cast's customers and twelve more in both teams, with spread-out spend."""
    buy(cast.rep_customer, days_ago=2, amount="5000.00", times=3)
    buy(cast.teammate_customer, days_ago=50, amount="700.00")
    buy(cast.outsider_customer, days_ago=10, amount="2000.00", times=2)
    others = []
    for index in range(12):
        team, owner = (cast.east, cast.teammate) if index % 2 else (cast.west, cast.outsider)
        customer = CustomerFactory(team=team, owner=owner)
        buy(customer, days_ago=5 + 30 * index, amount=f"{100 * (index + 1)}.00", times=index % 4)
        others.append(customer)
    CustomerFactory(team=cast.east, owner=cast.rep, name="从未下单")  # never ordered
    cast.others = others
    return cast


def section(response, key):
    return next(
        item["context"] for item in response.context["sections"] if item["section"].key == key
    )


@pytest.mark.django_db
class TestDashboard:
    def test_admin_sees_every_scored_customer_and_the_concentration(self, shop, client_for):
        run = pipeline_run(as_of=AS_OF)
        response = client_for(shop.admin).get(reverse("dashboard"))
        tiers = section(response, "value_tiers")
        scored = RfmScore.objects.filter(run=run)
        assert tiers["run"] == run
        assert tiers["customers"] == scored.count() == 12  # 3 of the 12 others never bought
        assert tiers["revenue"] == sum(s.monetary for s in scored)
        key = [s for s in scored if s.value_tier == "key"]
        assert tiers["tiers"][0]["customers"] == len(key) == tiers["pareto_customers"]
        assert tiers["tiers"][0]["revenue"] == sum(s.monetary for s in key)
        page = response.content.decode()
        assert "top 20 % of customers bring" in page
        assert 'href="/customers/?value_tier=key"' in page
        assert 'href="/customers/?sort=value_rank"' in page
        assert 'id="pareto-curve"' in page and '<path d="M0,200 L' in page
        grid = section(response, "rfm_grid")
        assert sum(cell["customers"] for row in grid["grid_rows"] for cell in row["cells"]) == 12
        assert "?r_score=5&amp;f_score=5" in page and "?rfm_segment=champions" in page

    def test_rep_sees_only_the_figures_of_their_own_customers(self, shop, client_for):
        run = pipeline_run(as_of=AS_OF)
        response = client_for(shop.rep).get(reverse("dashboard"))
        own = RfmScore.objects.get(run=run, customer=shop.rep_customer)
        tiers = section(response, "value_tiers")
        assert tiers["customers"] == 1
        assert tiers["revenue"] == own.monetary == Decimal("15000.00")
        by_tier = {row["tier"]: row["customers"] for row in tiers["tiers"]}
        assert by_tier == {"key": 1, "ordinary": 0, "small": 0}
        # One customer is a perfectly even spread: the curve is the diagonal.
        assert tiers["top20_pct"] == 20.0 and tiers["pareto_customers"] == 1
        grid = section(response, "rfm_grid")
        cells = {
            (c["r"], c["f"]): c["customers"] for row in grid["grid_rows"] for c in row["cells"]
        }
        assert cells[(own.r_score, own.f_score)] == 1 and sum(cells.values()) == 1
        assert "成都红旗连锁" not in response.content.decode()

    def test_manager_sees_the_figures_of_the_team(self, shop, client_for):
        run = pipeline_run(as_of=AS_OF)
        team = RfmScore.objects.filter(run=run, customer__team=shop.east)
        tiers = section(client_for(shop.manager).get(reverse("dashboard")), "value_tiers")
        assert tiers["customers"] == team.count()
        assert tiers["revenue"] == sum(s.monetary for s in team)
        for row in tiers["tiers"]:
            assert row["customers"] == team.filter(value_tier=row["tier"]).count()

    def test_figures_over_everyone_visible_equal_the_runs_own_summary(self, shop):
        pipeline_run(as_of=AS_OF - dt.timedelta(days=7))
        pipeline_run(as_of=AS_OF)
        # A manager of both teams sees every customer but is not an admin: computed path.
        boss = UserFactory(username="boss")
        shop.east.managers.add(boss)
        shop.west.managers.add(boss)
        assert not can_see_all_customers(boss)
        computed = selectors.value_tiers_section(boss)
        summarised = selectors.value_tiers_section(shop.admin)
        for key in ("customers", "revenue", "tiers", "top20_pct", "pareto_customers"):
            assert computed[key] == summarised[key], key
        for key in ("curve_path", "top20_marker", "pareto_marker"):
            assert computed[key] == summarised[key], key
        counts = ("as_of", "customers", "key", "ordinary", "small")
        assert [[row[k] for k in counts] for row in computed["trend"]] == [
            [row[k] for k in counts] for row in summarised["trend"]
        ]
        # Older runs' concentration is only in the runs' own summaries.
        assert [row["top20_pct"] for row in computed["trend"]][1:] == [None]
        assert selectors.rfm_grid_section(boss) == selectors.rfm_grid_section(shop.admin)

    def test_trend_lists_the_kept_runs_newest_first(self, shop, client_for):
        days = (14, 7, 0)
        for ago in days:
            pipeline_run(as_of=AS_OF - dt.timedelta(days=ago))
        for user in (shop.admin, shop.manager):
            tiers = section(client_for(user).get(reverse("dashboard")), "value_tiers")
            assert [row["as_of"] for row in tiers["trend"]] == [
                AS_OF - dt.timedelta(days=ago) for ago in reversed(days)
            ]
            assert tiers["runs_in_trend"] == 3

    def test_live_trend_of_a_manager_reads_a_bounded_number_of_runs(self, shop, monkeypatch):
        monkeypatch.setattr(selectors, "VISIBLE_TREND_RUNS", 2)
        for ago in (14, 7, 0):
            pipeline_run(as_of=AS_OF - dt.timedelta(days=ago))
        assert len(selectors.value_tiers_section(shop.manager)["trend"]) == 2
        assert selectors.rfm_grid_section(shop.manager)["runs_in_trend"] == 2
        assert len(selectors.value_tiers_section(shop.admin)["trend"]) == 3

    def test_a_failed_run_leaves_the_previous_snapshot_on_the_pages(
        self, shop, client_for, monkeypatch
    ):
        good = pipeline_run(as_of=AS_OF - dt.timedelta(days=1))
        buy(shop.rep_customer, days_ago=0, amount="99999.00")

        def broken(run):
            raise RuntimeError("killed")

        monkeypatch.setitem(
            pipeline._steps, "broken", pipeline.Step("broken", broken, after=("rfm",))
        )
        assert pipeline_run(as_of=AS_OF).status == "failed"
        client = client_for(shop.rep)
        tiers = section(client.get(reverse("dashboard")), "value_tiers")
        assert tiers["run"] == good and tiers["revenue"] == Decimal("15000.00")
        panel = client.get(reverse("customer-detail", args=[shop.rep_customer.pk]))
        html = panel.content.decode()
        assert "up to 2026-06-29" in html and "¥15,000.00" in html

    def test_before_any_run_the_sections_say_so(self, shop, client_for):
        page = client_for(shop.manager).get(reverse("dashboard")).content.decode()
        assert "No complete run yet." in page

    def test_a_rep_whose_customers_never_ordered_gets_an_empty_section(self, shop, client_for):
        pipeline_run(as_of=AS_OF)
        newcomer = UserFactory(username="newcomer")
        CustomerFactory(owner=newcomer)
        response = client_for(newcomer).get(reverse("dashboard"))
        assert section(response, "value_tiers")["customers"] == 0
        assert "None of the customers you can see has ordered yet." in response.content.decode()


@pytest.mark.django_db
class TestQueryCounts:
    def test_admin_sections_read_the_summaries(self, shop, django_assert_num_queries):
        pipeline_run(as_of=AS_OF)
        # 1. the current run; 2. the kept runs' summaries.
        with django_assert_num_queries(2):
            selectors.value_tiers_section(shop.admin)
        with django_assert_num_queries(2):
            selectors.rfm_grid_section(shop.admin)

    def test_manager_sections_compute_over_the_team(self, shop, django_assert_num_queries):
        for ago in (2, 1, 0):
            pipeline_run(as_of=AS_OF - dt.timedelta(days=ago))
        # Read once per request and cached on the user, as on the page: permissions, teams.
        visible_customers(shop.manager)
        # 1. the current run; 2. the kept runs' summaries; 3. customers and spend per run,
        # tier and R×F cell over the team; 4. the current curve's samples (window functions).
        with django_assert_num_queries(4):
            selectors.value_tiers_section(shop.manager)
        # 1. the current run; 2. the summaries; the per-run totals are the request's already.
        with django_assert_num_queries(2):
            selectors.rfm_grid_section(shop.manager)
        alone = UserFactory(username="manager")  # the same manager in a new request
        visible_customers(alone)
        # 1. the current run; 2. the summaries; 3. the per-run totals over the team.
        with django_assert_num_queries(3):
            selectors.rfm_grid_section(alone)

    def test_dashboard_queries_do_not_grow_with_customers_or_runs(self, shop, client_for):
        client = client_for(shop.manager)
        pipeline_run(as_of=AS_OF - dt.timedelta(days=1))
        with CaptureQueriesContext(connection) as few:
            client.get(reverse("dashboard"))
        for index in range(20):
            buy(CustomerFactory(team=shop.east), days_ago=index, amount="10.00", times=2)
        pipeline_run(as_of=AS_OF)
        with CaptureQueriesContext(connection) as many:
            client.get(reverse("dashboard"))
        assert len(many) == len(few)

    def test_file_panel_takes_two_queries(self, shop, django_assert_num_queries):
        pipeline_run(as_of=AS_OF)
        # 1. the current run with its RFM summary; 2. the customer's score in it.
        with django_assert_num_queries(2):
            panel = selectors.rfm_panel(shop.rep_customer, shop.rep)
        assert panel["score"].value_rank >= 1


@pytest.mark.django_db
class TestFilePanel:
    def test_panel_shows_values_scores_segment_tier_and_rank(self, shop, client_for):
        run = pipeline_run(as_of=AS_OF)
        score = RfmScore.objects.get(run=run, customer=shop.rep_customer)
        page = client_for(shop.rep).get(reverse("customer-detail", args=[shop.rep_customer.pk]))
        html = page.content.decode()
        assert 'id="panel-rfm"' in html
        assert f"#{score.value_rank} of 12 by spend" in html
        assert score.get_segment_display() in html and "Key customers" in html
        assert "2 days" in html and "3 orders" in html and "¥15,000.00" in html

    def test_customer_without_orders_is_not_scored(self, shop, client_for):
        pipeline_run(as_of=AS_OF)
        customer = CustomerFactory(owner=shop.rep, team=shop.east)
        page = client_for(shop.rep).get(reverse("customer-detail", args=[customer.pk]))
        assert "No order up to 2026-06-30, so no RFM score." in page.content.decode()


def listed(client, query):
    response = client.get(reverse("customer-list") + query)
    assert response.status_code == 200
    return [customer.pk for customer in response.context["page"].object_list]


@pytest.mark.django_db
class TestCustomerList:
    def test_filter_by_value_tier_reads_the_current_run(self, shop, client_for):
        run = pipeline_run(as_of=AS_OF)
        key = set(RfmScore.objects.filter(run=run, value_tier="key").values_list("customer_id"))
        assert {(pk,) for pk in listed(client_for(shop.admin), "?value_tier=key")} == key

    def test_filter_by_segment_and_by_r_and_f_score(self, shop, client_for):
        run = pipeline_run(as_of=AS_OF)
        score = RfmScore.objects.get(run=run, customer=shop.rep_customer)
        client = client_for(shop.admin)
        in_segment = set(
            RfmScore.objects.filter(run=run, segment=score.segment).values_list(
                "customer_id", flat=True
            )
        )
        assert set(listed(client, f"?rfm_segment={score.segment}")) == in_segment
        in_cell = set(
            RfmScore.objects.filter(
                run=run, r_score=score.r_score, f_score=score.f_score
            ).values_list("customer_id", flat=True)
        )
        query = f"?r_score={score.r_score}&f_score={score.f_score}"
        assert set(listed(client, query)) == in_cell

    def test_filters_keep_to_the_customers_the_rep_may_see(self, shop, client_for):
        pipeline_run(as_of=AS_OF)
        assert listed(client_for(shop.rep), "?value_tier=key") == [shop.rep_customer.pk]
        assert listed(client_for(shop.outsider), "?rfm_segment=champions") == [
            pk
            for pk in listed(client_for(shop.admin), "?rfm_segment=champions")
            if pk in {c.pk for c in [shop.outsider_customer, *shop.others[::2]]}
        ]

    def test_sort_by_value_rank_lists_the_biggest_spenders_first(self, shop, client_for):
        run = pipeline_run(as_of=AS_OF)
        ranks = dict(RfmScore.objects.filter(run=run).values_list("customer_id", "value_rank"))
        order = listed(client_for(shop.admin), "?sort=value_rank")
        assert order[0] == shop.rep_customer.pk
        assert [ranks[pk] for pk in order] == sorted(ranks.values())
        # Customers who never ordered have no rank to sort by.
        assert set(order) == set(ranks)
        backwards = listed(client_for(shop.admin), "?sort=-value_rank")
        assert backwards == order[::-1]

    def test_sort_by_value_rank_keeps_to_the_reps_customers(self, shop, client_for):
        pipeline_run(as_of=AS_OF)
        assert listed(client_for(shop.rep), "?sort=value_rank") == [shop.rep_customer.pk]

    def test_an_unknown_tier_is_reported_and_ignored(self, shop, client_for):
        pipeline_run(as_of=AS_OF)
        response = client_for(shop.admin).get(reverse("customer-list") + "?value_tier=vip")
        assert "value_tier" in response.context["filter"].form.errors

    def test_every_added_filter_offers_an_empty_choice_so_a_search_does_not_filter(
        self, shop, client_for
    ):
        html = client_for(shop.rep).get(reverse("customer-list")).content.decode()
        for name in ("value_tier", "rfm_segment", "r_score", "f_score"):
            select = html.split(f'name="{name}"', 1)[1].split("</select>", 1)[0]
            assert '<option value="" selected>' in select, name

    def test_filters_before_any_run_match_nobody(self, shop, client_for):
        assert listed(client_for(shop.admin), "?value_tier=key") == []


@pytest.mark.django_db
class TestAdmin:
    def test_settings_with_shares_out_of_order_are_refused_with_a_message(self, shop, client_for):
        from segmentation.models import SegmentationSettings

        settings = SegmentationSettings.current()
        url = reverse("admin:segmentation_segmentationsettings_change", args=[settings.pk])
        response = client_for(shop.admin).post(
            url,
            {
                "window_days": 365,
                "key_share": "0.900",
                "ordinary_share": "0.850",
                "snapshots_kept": 30,
            },
        )
        assert response.status_code == 200
        errors = response.context["adminform"].form.errors
        assert "above the key customers' share" in errors["ordinary_share"][0]
        settings.refresh_from_db()
        assert settings.key_share == Decimal("0.800")

    def test_scores_are_listed_read_only(self, shop, client_for):
        run = pipeline_run(as_of=AS_OF)
        client = client_for(shop.admin)
        changelist = reverse("admin:segmentation_rfmscore_changelist")
        response = client.get(changelist + f"?run__id__exact={run.pk}&value_tier=key")
        assert response.status_code == 200
        assert reverse("admin:segmentation_rfmscore_add") not in response.content.decode()
        score = RfmScore.objects.filter(run=run).first()
        change = client.get(reverse("admin:segmentation_rfmscore_change", args=[score.pk]))
        assert change.status_code == 200 and "Save" not in change.content.decode()
        assert PipelineRun.objects.current() == run


@pytest.mark.django_db
class TestCustomersWithoutSpend:
    """A customer whose orders all precede the window is scored but has no value rank."""

    @pytest.fixture
    def lapsed(self, shop):
        customer = CustomerFactory(owner=shop.rep, team=shop.east, name="久未进货")
        buy(customer, days_ago=400, amount="900.00")
        run = pipeline_run(as_of=AS_OF)
        score = RfmScore.objects.get(run=run, customer=customer)
        assert (score.monetary, score.value_rank, score.value_tier) == (0, None, "small")
        return customer

    def test_the_file_says_there_is_no_value_rank(self, shop, lapsed, client_for):
        page = client_for(shop.rep).get(reverse("customer-detail", args=[lapsed.pk]))
        assert "No spend in the window, so no value rank." in page.content.decode()

    def test_sort_by_value_rank_leaves_them_out(self, shop, lapsed, client_for):
        order = listed(client_for(shop.admin), "?sort=value_rank")
        assert lapsed.pk not in order and order[0] == shop.rep_customer.pk
        assert listed(client_for(shop.rep), "?sort=-value_rank") == [shop.rep_customer.pk]

    def test_they_count_as_customers_and_small_but_add_no_revenue(self, shop, lapsed, client_for):
        for user in (shop.admin, shop.rep):
            tiers = section(client_for(user).get(reverse("dashboard")), "value_tiers")
            small = next(row for row in tiers["tiers"] if row["tier"] == "small")
            assert small["customers"] >= 1
        rep = section(client_for(shop.rep).get(reverse("dashboard")), "value_tiers")
        # The rep's own: ¥15,000 and nothing; the top 20 % of two is 0.4 of the first.
        assert rep["customers"] == 2 and rep["revenue"] == Decimal("15000.00")
        assert rep["top20_pct"] == 40.0

    def test_export_and_churn_read_them(self, shop, lapsed):
        import csv
        import io

        from django.core.management import call_command

        out = io.StringIO()
        call_command("export_scores", "--user", "rep", stdout=out)
        rows = list(csv.DictReader(io.StringIO(out.getvalue())))
        row = next(r for r in rows if r["customer_ref"] == lapsed.external_ref)
        assert (row["monetary"], row["value_tier"]) == ("0.00", "small")
        # What is at risk is the value expected over the next year, not the window's spend:
        # a customer silent for 400 days may still buy.
        from retention.models import ChurnScore

        score = ChurnScore.objects.current().get(customer=lapsed)
        assert row["value_at_risk"] == f"{score.value_at_risk:.2f}"
        assert score.value_at_risk == (score.expected_value * Decimal(str(score.risk))).quantize(
            Decimal("0.01")
        )


@pytest.mark.django_db
class TestOneDefinitionOfKeyCustomers:
    """The sentence under the curve counts the key customers, as the tier table does, for
    admins and for viewers who see part of the customers."""

    @pytest.fixture
    def split(self, cast):
        # ¥5,000 (east), ¥3,000 (west), ¥1,000 and ¥1,000 (east): the first two make 80 %.
        for team, owner, amount in (
            (cast.east, cast.rep, "5000.00"),
            (cast.west, cast.outsider, "3000.00"),
            (cast.east, cast.teammate, "1000.00"),
            (cast.east, cast.teammate, "1000.00"),
        ):
            buy(CustomerFactory(team=team, owner=owner), days_ago=3, amount=amount)
        pipeline_run(as_of=AS_OF)
        return cast

    def test_admin_sees_the_key_customers_and_their_share(self, split, client_for):
        response = client_for(split.admin).get(reverse("dashboard"))
        tiers = section(response, "value_tiers")
        assert tiers["pareto_customers"] == tiers["tiers"][0]["customers"] == 2
        assert tiers["pareto_revenue_pct"] == 80.0
        assert "2 key customers (50.0 %) bring 80.0 % of revenue." in response.content.decode()

    def test_manager_sees_the_same_key_customers_not_a_second_count(self, split, client_for):
        response = client_for(split.manager).get(reverse("dashboard"))
        tiers = section(response, "value_tiers")
        # Of the team's ¥7,000, 80 % would take two customers; only one of them is key.
        assert tiers["tiers"][0]["customers"] == tiers["pareto_customers"] == 1
        assert tiers["pareto_revenue_pct"] == 71.4
        content = response.content.decode()
        assert "1 key customer (33.3 %) brings 71.4 % of revenue." in content
        assert tiers["pareto_marker"] == charts.pareto_marker(1 / 3, 5 / 7)

    def test_in_chinese(self, split, client_for, settings):
        settings.LANGUAGE_CODE = "zh-hans"
        content = client_for(split.manager).get(reverse("dashboard")).content.decode()
        assert "1 位重点客户（占 33.3%）贡献了 71.4% 的营收。" in content
