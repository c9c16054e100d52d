"""The network page: the tree below a distributor, scoped, with purchases, grades, value
tiers and churn risk on each node, and the customers supplied across a region's border."""

import datetime as dt
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
    response = client_for(getattr(net, who)).get(tree_url(net.net.d))
    assert response.status_code == 200
    assert named(response.content.decode()) == expected
    assert response.context["tree"]["hidden_count"] == hidden


def test_another_teams_rep_gets_404(net, client_for):
    assert client_for(net.outsider).get(tree_url(net.net.d)).status_code == 404


def test_a_customer_the_rep_cannot_see_stays_in_place_unnamed(net, client_for):
    tree = client_for(net.rep).get(tree_url(net.net.d)).context["tree"]
    placed = [
        (kind, node.name if node else None, node.visible if node else None)
        for kind, node in tree["events"]
    ]
    # W2 (the teammate's) is an unnamed node with the rep's T3 below it; T2 is counted under W1.
    assert placed == [
        ("open", "城东批发部", True),
        ("leaf", "锦绣大酒店", True),
        ("close", None, None),
        ("open", "", False),
        ("leaf", "杭州小超市", True),
        ("close", None, None),
    ]
    w1 = tree["events"][0][1]
    assert w1.hidden == 1


def test_purchases_of_the_last_12_months_roll_up_over_what_the_viewer_sees(net):
    tree = network_page.network_tree(net.net.d, net.manager)
    by_name = {node.name: node for kind, node in tree["events"] if node}
    assert by_name["城东批发部"].purchases == Decimal("1000.00")
    assert by_name["城东批发部"].network_purchases == Decimal("1300.00")  # T2 not seen
    assert tree["root"].network_purchases == Decimal("1500.00")
    admin_tree = network_page.network_tree(net.net.d, net.admin)
    assert admin_tree["root"].network_purchases == Decimal("6500.00")


def test_cross_region_customers_are_listed_within_what_the_viewer_sees(net):
    rep = network_page.network_tree(net.net.d, net.rep)["cross_region"]
    manager = network_page.network_tree(net.net.d, net.manager)["cross_region"]
    admin = network_page.network_tree(net.net.d, net.admin)["cross_region"]
    assert [node.name for node in rep] == []  # T3 is in its supplier's region
    assert [node.name for node in manager] == ["城西商贸批发行"]
    assert [node.name for node in admin] == ["成都火锅店", "城西商贸批发行"]


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
    content = client_for(net.rep).get(tree_url(net.net.d)).content.decode()
    assert "Key customers" in content
    assert "High risk 82%" in content


def test_the_tree_reads_a_fixed_number_of_queries(net, client_for, django_assert_num_queries):
    for n in range(15):
        CustomerFactory(owner=net.rep, team=net.east, parent=net.net.w1, name=f"终端{n}")
    client = client_for(net.manager)
    client.get(tree_url(net.net.d))
    # session, user, permissions (user, groups), managed teams, the distributor; the nodes
    # below with whether the viewer sees them; their purchases; the value tiers; churn risk
    with django_assert_num_queries(10):
        assert client.get(tree_url(net.net.d)).status_code == 200


def test_a_network_larger_than_the_page_shows_its_first_part(net, monkeypatch):
    monkeypatch.setattr(network_page, "MAX_SHOWN", 2)
    tree = network_page.network_tree(net.net.d, net.admin)
    assert tree["truncated"]
    assert tree["shown_count"] == 2


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
        # session, user, the capped count, the page's rows with supplier, the suppliers
        # seen, the distributors
        with django_assert_num_queries(6):
            assert client.get(reverse("network")).status_code == 200
