"""The network page: the tree below a distributor, scoped, with purchases, grades, value
tiers and churn risk on each node, and the customers supplied across a region's border."""

import datetime as dt
import re
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import override

from customers import network_page
from customers.models import Customer, PipelineRun
from retention.models import ChurnScore
from segmentation.models import RfmScore
from tests.factories import CustomerFactory, OrderFactory, publish_purchase_figures

ROLE = Customer.ChannelRole
NAMES = ("江南总经销", "城东批发部", "城西商贸批发行", "锦绣大酒店", "成都火锅店", "杭州小超市")


@pytest.fixture
def net(cast):
    """The rep's distributor D (上海) supplies W1 (rep, 上海) and W2 (teammate, 杭州); W1
    supplies the rep's hotel T1 (上海) and the outsider's T2 (成都); W2 supplies the rep's
    T3 (杭州)."""

    def customer(name, owner, team, role=ROLE.TERMINAL, parent=None, region="上海"):
        return CustomerFactory(
            name=name, owner=owner, team=team, channel_role=role, parent=parent, region=region
        )

    d = customer("江南总经销", cast.rep, cast.east, ROLE.GENERAL_DISTRIBUTOR)
    w1 = customer("城东批发部", cast.rep, cast.east, ROLE.WHOLESALER, d)
    w2 = customer("城西商贸批发行", cast.teammate, cast.east, ROLE.WHOLESALER, d, "杭州")
    t1 = customer("锦绣大酒店", cast.rep, cast.east, parent=w1)
    t2 = customer("成都火锅店", cast.outsider, cast.west, parent=w1, region="成都")
    t3 = customer("杭州小超市", cast.rep, cast.east, parent=w2, region="杭州")
    recent = timezone.localdate() - dt.timedelta(days=10)
    OrderFactory(customer=t1, order_date=recent, amount=Decimal("300.00"))
    OrderFactory(customer=t2, order_date=recent, amount=Decimal("5000.00"))
    OrderFactory(customer=t3, order_date=recent, amount=Decimal("200.00"))
    OrderFactory(customer=w1, order_date=recent, amount=Decimal("1000.00"))
    OrderFactory(customer=w1, order_date=recent - dt.timedelta(days=400), amount=Decimal("9.00"))
    publish_purchase_figures()
    cast.net = type("Net", (), {"d": d, "w1": w1, "w2": w2, "t1": t1, "t2": t2, "t3": t3})
    return cast


def tree_url(customer):
    return reverse("customer-network", args=[customer.pk])


def named(content):
    return {name for name in NAMES if name in content}


def whole_tree(client, url, seen=None):
    """The page and every level below it, opened as the page's script opens them."""
    seen = set() if seen is None else seen
    response = client.get(url)
    assert response.status_code == 200
    content = response.content.decode()
    for level in re.findall(r'data-network-level="([^"]+)"', content):
        level = level.replace("&amp;", "&")
        if level not in seen:
            seen.add(level)
            content += whole_tree(client, f"{level}&fragment=1", seen)
    return content


@pytest.mark.parametrize(
    ("who", "expected", "hidden"),
    [
        ("rep", {"江南总经销", "城东批发部", "锦绣大酒店", "杭州小超市"}, 2),
        ("manager", {"江南总经销", "城东批发部", "城西商贸批发行", "锦绣大酒店", "杭州小超市"}, 1),
        ("admin", set(NAMES), 0),
    ],
)
def test_the_tree_names_only_what_the_viewer_may_see_and_counts_the_rest(
    net, client_for, who, expected, hidden
):
    client = client_for(getattr(net, who))
    assert named(whole_tree(client, tree_url(net.net.d))) == expected
    assert client.get(tree_url(net.net.d)).context["tree"]["hidden_count"] == hidden


def test_the_page_names_one_level_and_opens_the_next_in_place(net, client_for):
    client = client_for(net.admin)
    content = client.get(tree_url(net.net.d)).content.decode()
    level = content.split('id="network-level"')[1].split('id="network-cross-region"')[0]
    assert named(level) == {"城东批发部", "城西商贸批发行"}
    fragment = client.get(f"{tree_url(net.net.d)}?under={net.net.w1.pk}&fragment=1")
    assert fragment.status_code == 200
    assert named(fragment.content.decode()) == {"锦绣大酒店", "成都火锅店"}
    assert "<html" not in fragment.content.decode()
    # Without the script, the same level on a page of its own.
    page = client.get(f"{tree_url(net.net.d)}?under={net.net.w1.pk}").content.decode()
    assert "<html" in page and "锦绣大酒店" in page


def test_another_teams_rep_gets_404(net, client_for):
    assert client_for(net.outsider).get(tree_url(net.net.d)).status_code == 404
    level = f"{tree_url(net.net.d)}?under={net.net.w1.pk}&fragment=1"
    assert client_for(net.outsider).get(level).status_code == 404


@pytest.mark.parametrize("under", ["abc", "-1", "99999999", "1" * 40])
def test_a_level_outside_the_network_or_malformed_answers_404(net, client_for, under):
    assert client_for(net.rep).get(f"{tree_url(net.net.d)}?under={under}").status_code == 404


def test_a_level_of_another_network_answers_404(net, client_for):
    elsewhere = CustomerFactory(owner=net.rep, team=net.east, parent=None)
    url = f"{tree_url(net.net.w1)}?under={net.net.w2.pk}"  # W2 is not below W1
    assert client_for(net.rep).get(url).status_code == 404
    assert client_for(net.rep).get(f"{tree_url(net.net.d)}?under={elsewhere.pk}").status_code == 404


def test_a_customer_the_rep_cannot_see_stays_in_place_unnamed(net, client_for):
    client = client_for(net.rep)
    tree = client.get(tree_url(net.net.d)).context["tree"]
    placed = [(node.name, node.visible, node.has_below) for node in tree["level"]]
    # W2 (the teammate's) is an unnamed node with the rep's T3 below it; T2 is counted under W1.
    assert placed == [("城东批发部", True, True), ("", False, True)]
    assert tree["level"][0].hidden == 1
    below_w2 = client.get(f"{tree_url(net.net.d)}?under={net.net.w2.pk}&fragment=1")
    assert [node.name for node in below_w2.context["tree"]["level"]] == ["杭州小超市"]
    assert "城西商贸批发行" not in below_w2.content.decode()


def test_purchases_of_the_last_12_months_roll_up_over_what_the_viewer_sees(net):
    tree = network_page.network_tree(net.net.d, net.manager)
    by_name = {node.name: node for node in tree["level"]}
    assert by_name["城东批发部"].purchases == Decimal("1000.00")
    assert by_name["城东批发部"].network_purchases == Decimal("1300.00")  # T2 not seen
    assert by_name["城东批发部"].network_count == 1
    assert tree["root"].network_purchases == Decimal("1500.00")
    assert tree["root"].network_count == 4
    admin_tree = network_page.network_tree(net.net.d, net.admin)
    assert admin_tree["root"].network_purchases == Decimal("6500.00")
    assert admin_tree["root"].network_count == 5


def test_purchases_are_the_last_nightly_runs(net):
    OrderFactory(customer=net.net.t1, order_date=timezone.localdate(), amount=Decimal("1"))
    tree = network_page.network_tree(net.net.d, net.admin)
    assert tree["root"].network_purchases == Decimal("6500.00")  # until the next run
    publish_purchase_figures()
    tree = network_page.network_tree(net.net.d, net.admin)
    assert tree["root"].network_purchases == Decimal("6501.00")


def test_cross_region_customers_are_listed_within_what_the_viewer_sees(net):
    rep = network_page.network_tree(net.net.d, net.rep)["cross_region"]
    manager = network_page.network_tree(net.net.d, net.manager)["cross_region"]
    admin = network_page.network_tree(net.net.d, net.admin)["cross_region"]
    assert [node.name for node in rep] == []  # T3 is in its supplier's region
    assert [node.name for node in manager] == ["城西商贸批发行"]
    assert [node.name for node in admin] == ["城西商贸批发行", "成都火锅店"]  # by name


def test_a_customer_without_region_is_no_signal(net):
    Customer.objects.filter(pk=net.net.w2.pk).update(region="")
    assert network_page.network_tree(net.net.d, net.manager)["cross_region"] == []


def test_value_tier_and_churn_risk_from_the_current_run_on_each_node(net, client_for):
    run = PipelineRun.objects.create(
        as_of=timezone.localdate(), status=PipelineRun.Status.SUCCEEDED, published_at=timezone.now()
    )
    RfmScore.objects.create(
        run=run,
        customer=net.net.t1,
        recency_days=10,
        frequency=1,
        monetary=Decimal("300"),
        r_score=5,
        f_score=1,
        m_score=1,
        segment="new",
        value_tier="key",
    )
    ChurnScore.objects.create(
        run=run,
        customer=net.net.t1,
        risk=0.82,
        band="high",
        value=Decimal("300"),
        value_at_risk=Decimal("246"),
    )
    content = whole_tree(client_for(net.rep), tree_url(net.net.d))
    assert "Key customers" in content
    assert "High risk 82%" in content


def test_the_tree_reads_a_fixed_number_of_queries(net, client_for, django_assert_num_queries):
    for n in range(15):
        CustomerFactory(owner=net.rep, team=net.east, parent=net.net.w1, name=f"终端{n}")
    client = client_for(net.manager)
    client.get(tree_url(net.net.d))
    # session, user, permissions (user, groups), managed teams, the distributor; the run;
    # the walk of the network with whether the viewer sees each customer and its
    # purchases; the named customers' references and grades; the value tiers; churn risk
    with django_assert_num_queries(11):
        assert client.get(tree_url(net.net.d)).status_code == 200
    level = f"{tree_url(net.net.d)}?under={net.net.w1.pk}&fragment=1"
    client.get(level)
    # the same, and the check that the level's customer is in the network
    with django_assert_num_queries(12):
        assert client.get(level).status_code == 200


def test_a_level_larger_than_a_page_is_paged(net, client_for, monkeypatch):
    monkeypatch.setattr(network_page, "LEVEL_SHOWN", 1)
    client = client_for(net.admin)
    first = client.get(tree_url(net.net.d)).context["tree"]
    second = client.get(f"{tree_url(net.net.d)}?page=2").context["tree"]
    assert (first["pages"], first["level_count"]) == (2, 2)
    assert [node.name for node in first["level"]] == ["城东批发部"]
    assert [node.name for node in second["level"]] == ["城西商贸批发行"]
    assert client.get(f"{tree_url(net.net.d)}?page=x").context["tree"]["page"] == 1
    assert client.get(f"{tree_url(net.net.d)}?page=99").context["tree"]["page"] == 2


def test_the_pages_render_in_both_languages(net, client_for):
    client = client_for(net.manager)
    for url in (tree_url(net.net.d), reverse("network")):
        assert "cross-region selling" in client.get(url).content.decode()
        with override("zh-hans"):
            content = client.get(url, HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
        assert "窜货" in content and "区域" in content


def test_the_distributors_file_links_to_its_tree(net, client_for):
    content = client_for(net.rep).get(reverse("customer-detail", args=[net.net.d.pk])).content
    assert tree_url(net.net.d) in content.decode()


class TestIndex:
    def test_lists_distributors_and_cross_region_customers_the_viewer_sees(self, net, client_for):
        content = client_for(net.manager).get(reverse("network")).content.decode()
        assert named(content) == {"江南总经销", "城西商贸批发行"}
        content = client_for(net.admin).get(reverse("network")).content.decode()
        assert named(content) == {"江南总经销", "城东批发部", "城西商贸批发行", "成都火锅店"}

    def test_a_rep_never_sees_another_teams_customer(self, net, client_for):
        content = client_for(net.outsider).get(reverse("network")).content.decode()
        # The outsider's own T2 is supplied across regions by W1, which it may not see.
        assert named(content) == {"成都火锅店"}
        assert "城东批发部" not in content

    def test_filters_by_region_on_either_side(self, net, client_for):
        client = client_for(net.admin)
        chengdu = client.get(reverse("network") + "?region=成都").content.decode()
        assert named(chengdu) == {"成都火锅店", "城东批发部"}
        hangzhou = client.get(reverse("network") + "?region=杭州").content.decode()
        assert named(hangzhou) == {"城西商贸批发行", "江南总经销"}

    def test_reads_a_fixed_number_of_queries(self, net, client_for, django_assert_num_queries):
        client = client_for(net.admin)
        client.get(reverse("network"))
        # session, user, the current run, the capped count, the page's rows with supplier,
        # the suppliers seen, the distributors
        with django_assert_num_queries(7):
            assert client.get(reverse("network")).status_code == 200

    def test_lists_the_crossings_as_of_the_current_run(self, net, client_for):
        client = client_for(net.admin)
        # T3 moves to 成都 after the run: listed once the next run has seen it.
        Customer.objects.filter(pk=net.net.t3.pk).update(region="成都")
        chengdu = client.get(reverse("network") + "?region=成都").content.decode()
        assert named(chengdu) == {"成都火锅店", "城东批发部"}
        assert "Data as of" in chengdu
        publish_purchase_figures()
        chengdu = client.get(reverse("network") + "?region=成都").content.decode()
        # T3 and its supplier W2 (杭州) named on its row.
        assert named(chengdu) == {"成都火锅店", "城东批发部", "杭州小超市", "城西商贸批发行"}

    def test_without_a_run_lists_no_crossing_and_says_so(self, net, client_for):
        PipelineRun.objects.all().delete()
        content = client_for(net.admin).get(reverse("network")).content.decode()
        assert named(content) == {"江南总经销"}
        assert "No complete run yet" in content
