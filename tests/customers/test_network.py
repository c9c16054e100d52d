"""The distribution network on the customer file: the supplier, the customers supplied,
choosing a supplier, and the check that a supplier is never one of the customer's buyers."""

import datetime as dt
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from customers import network
from customers.models import Customer, Order
from tests.customers.test_imports import csv_file, run, run_failing
from tests.factories import CustomerFactory, OrderFactory, publish_purchase_figures

pytestmark = pytest.mark.django_db

ROLE = Customer.ChannelRole


def days_ago(days):
    return timezone.localdate() - dt.timedelta(days=days)


@pytest.fixture
def net(cast):
    """The rep's distributor D supplies wholesalers W1 (rep) and W2 (another team), and a
    terminal T0 directly; W1 supplies the terminal T1 (rep), which supplies consumer P1."""
    d = CustomerFactory(
        owner=cast.rep, team=cast.east, name="江南总经销", channel_role=ROLE.GENERAL_DISTRIBUTOR
    )
    w1 = CustomerFactory(
        owner=cast.rep, team=cast.east, name="城东批发部", channel_role=ROLE.WHOLESALER, parent=d
    )
    w2 = CustomerFactory(
        owner=cast.outsider,
        team=cast.west,
        name="城西商贸批发行",
        channel_role=ROLE.WHOLESALER,
        parent=d,
    )
    t0 = CustomerFactory(owner=cast.rep, team=cast.east, name="直供超市", parent=d)
    t1 = CustomerFactory(owner=cast.rep, team=cast.east, name="锦绣大酒店", parent=w1)
    p1 = CustomerFactory(
        owner=cast.rep, team=cast.east, name="张三", channel_role=ROLE.CONSUMER, parent=t1
    )
    return type("Net", (), {"d": d, "w1": w1, "w2": w2, "t0": t0, "t1": t1, "p1": p1})


def page(client, customer):
    return client.get(reverse("customer-detail", args=[customer.pk])).content.decode()


def downstream(response):
    return next(
        item["context"] for item in response.context["panels"] if item["panel"].key == "downstream"
    )


class TestDownstreamPanel:
    def test_lists_direct_customers_by_role_with_links(self, cast, client_for, net):
        html = page(client_for(cast.admin), net.d)

        assert f'href="/customers/{net.w1.pk}/"' in html
        assert f'href="/customers/{net.w2.pk}/"' in html
        assert f'href="/customers/{net.t0.pk}/"' in html
        assert "锦绣大酒店" not in html  # two levels down: counted, not listed

    def test_purchases_of_the_last_12_months_rolled_up(self, cast, client_for, net):
        OrderFactory(customer=net.w1, amount=Decimal("100"), order_date=days_ago(10))
        OrderFactory(customer=net.w1, amount=Decimal("7"), order_date=days_ago(400))
        cancelled = OrderFactory(customer=net.w1, amount=Decimal("50"), order_date=days_ago(5))
        Order.objects.filter(pk=cancelled.pk).update(
            status=Order.Status.CANCELLED, cancelled_at=timezone.now(), cancel_reason="退货"
        )
        OrderFactory(customer=net.w2, amount=Decimal("20"), order_date=days_ago(1))
        OrderFactory(customer=net.t1, amount=Decimal("3"), order_date=days_ago(1))
        OrderFactory(customer=net.p1, amount=Decimal("0.50"), order_date=days_ago(364))
        publish_purchase_figures()

        response = client_for(cast.admin).get(reverse("customer-detail", args=[net.d.pk]))

        panel = downstream(response)
        wholesalers = next(group for group in panel["groups"] if group["role"] == "Wholesaler")
        assert wholesalers["count"] == 2
        assert wholesalers["purchases"] == Decimal("120.00")
        assert {row.name: row.purchases for row in wholesalers["customers"]} == {
            "城东批发部": Decimal("100.00"),
            "城西商贸批发行": Decimal("20.00"),
        }
        assert panel["direct_count"] == 3
        assert panel["network"] == {"count": 5, "purchases": Decimal("123.50")}

    def test_a_rep_never_sees_another_teams_customer_in_the_panel(self, cast, client_for, net):
        OrderFactory(customer=net.w2, amount=Decimal("20"), order_date=days_ago(1))
        OrderFactory(customer=net.w1, amount=Decimal("1"), order_date=days_ago(1))
        publish_purchase_figures()

        response = client_for(cast.rep).get(reverse("customer-detail", args=[net.d.pk]))

        html = response.content.decode()
        assert "城西商贸批发行" not in html
        assert f"/customers/{net.w2.pk}/" not in html
        panel = downstream(response)
        assert panel["direct_count"] == 2
        assert panel["network"] == {"count": 4, "purchases": Decimal("1.00")}

    def test_credit_grades_of_the_network_are_counted(self, cast, client_for, net):
        Customer.objects.filter(pk__in=[net.w1.pk, net.t1.pk]).update(
            credit_grade="A", has_credit_history=True
        )
        Customer.objects.filter(pk=net.t0.pk).update(credit_grade="C", has_credit_history=False)

        response = client_for(cast.rep).get(reverse("customer-detail", args=[net.d.pk]))

        assert downstream(response)["grades"] == [("A", 2), ("none", 1), ("", 1)]

    def test_a_terminal_without_buyers_has_no_panel_and_a_wholesaler_has_one(
        self, cast, client_for, net
    ):
        client = client_for(cast.rep)
        terminal = client.get(reverse("customer-detail", args=[net.t0.pk]))
        wholesaler = page(client, net.w1)

        assert "downstream" not in [item["panel"].key for item in terminal.context["panels"]]
        assert 'id="panel-downstream"' in wholesaler
        assert f'href="/customers/{net.t1.pk}/"' in wholesaler

    def test_long_lists_are_capped_with_a_link_to_the_filtered_list(
        self, cast, client_for, net, monkeypatch
    ):
        monkeypatch.setattr(network, "SHOWN_DOWNSTREAM", 1)
        client = client_for(cast.rep)

        html = page(client, net.d)

        assert "1 of 2 shown" in html
        assert f'href="/customers/?supplier={net.d.pk}"' in html
        listed = client.get(reverse("customer-list"), {"supplier": net.d.pk})
        names = [customer.name for customer in listed.context["page"].object_list]
        assert names == ["城东批发部", "直供超市"]
        assert "Customers supplied by 江南总经销" in listed.content.decode()

    def test_query_count_of_the_file_with_the_panel_does_not_grow(
        self, cast, client_for, net, django_assert_num_queries, monkeypatch
    ):
        from customers import panels

        monkeypatch.setattr(
            panels,
            "_registry",
            {key: panel for key, panel in panels._registry.items() if key == "downstream"},
        )
        client = client_for(cast.rep)
        url = reverse("customer-detail", args=[net.w1.pk])
        # session, user, permissions, group permissions, the customer (owner, team and
        # parent joined), may the supplier be seen; the panel: the run's date, the
        # customers shown, the counts by role, the network's count and purchases by grade;
        # the managed teams, the current run, tags.
        with django_assert_num_queries(13):
            client.get(url)
        for _ in range(5):
            terminal = CustomerFactory(owner=cast.rep, team=cast.east, parent=net.w1)
            CustomerFactory(owner=cast.rep, channel_role=ROLE.CONSUMER, parent=terminal)
            OrderFactory(customer=terminal, order_date=days_ago(3))
        with django_assert_num_queries(13):
            client.get(url)


class TestSupplierOnTheFile:
    def test_a_visible_supplier_is_linked(self, cast, client_for, net):
        html = page(client_for(cast.rep), net.w1)

        assert f'href="/customers/{net.d.pk}/"' in html

    def test_a_supplier_of_another_team_is_named_not_linked(self, cast, client_for, net):
        html = page(client_for(cast.outsider), net.w2)

        assert "江南总经销" in html
        assert f'href="/customers/{net.d.pk}/"' not in html


class TestSupplierSearch:
    url = "/customers/suppliers/"

    def results(self, client, **params):
        response = client.get(self.url, params)
        assert response.status_code == 200
        return [row["name"] for row in response.json()["results"]]

    def test_suggests_by_name_or_reference_prefix(self, cast, client_for, net):
        client = client_for(cast.rep)

        assert self.results(client, q="批发") == ["城东批发部"]
        ref = net.d.external_ref
        assert "江南总经销" in self.results(client, q=ref[:-1])
        assert self.results(client, q=ref) == ["江南总经销"]
        assert self.results(client, q="") == []

    def test_a_rep_never_gets_another_teams_customer(self, cast, client_for, net):
        assert self.results(client_for(cast.rep), q="城西") == []
        assert self.results(client_for(cast.outsider), q="城西") == ["城西商贸批发行"]

    def test_end_consumers_are_not_offered(self, cast, client_for, net):
        assert self.results(client_for(cast.rep), q="张三") == []

    def test_the_customer_and_its_buyers_are_not_offered(self, cast, client_for, net):
        client = client_for(cast.rep)

        assert self.results(client, q="城") == ["城东批发部"]
        assert self.results(client, q="城", exclude=net.d.pk) == []
        assert self.results(client, q="江南", exclude=net.d.pk) == []
        assert self.results(client, q="锦绣", exclude=net.w1.pk) == []
        assert self.results(client, q="锦绣", exclude=net.w2.pk) == ["锦绣大酒店"]

    def test_customers_below_at_any_depth_are_not_offered(self, cast, client_for, net):
        client = client_for(cast.rep)
        deep = net.p1
        for depth in range(4):
            deep = CustomerFactory(
                owner=cast.rep, team=cast.east, name=f"深层批发{depth}", parent=deep
            )
        offered = self.results(client, q="深层批发", exclude=net.d.pk)
        assert offered == []
        assert len(self.results(client, q="深层批发", exclude=net.w2.pk)) == 4

    def test_a_manager_gets_the_teams_customers_only(self, cast, client_for, net):
        assert self.results(client_for(cast.manager), q="批发") == ["城东批发部"]
        assert self.results(client_for(cast.admin), q="批发") == ["城东批发部", "城西商贸批发行"]

    def test_reads_one_query_however_many_match(
        self, cast, client_for, net, django_assert_num_queries
    ):
        client = client_for(cast.rep)
        self.results(client, q="批发", exclude=net.d.pk)
        CustomerFactory.create_batch(
            30, owner=cast.rep, team=cast.east, channel_role=ROLE.WHOLESALER, name="批发商行"
        )
        # session, user, permissions (user, groups), managed teams; the suggestions with the
        # check that none is below the excluded customer
        with django_assert_num_queries(6):
            assert len(self.results(client, q="批发", exclude=net.d.pk)) == 20

    def test_at_most_20_suggestions(self, cast, client_for):
        CustomerFactory.create_batch(
            25, owner=cast.rep, channel_role=ROLE.WHOLESALER, name="批发商行"
        )

        assert len(self.results(client_for(cast.rep), q="批发")) == 20

    def test_bad_parameters_are_no_error(self, cast, client_for):
        assert self.results(client_for(cast.rep), q="x" * 500, exclude="abc") == []

    def test_the_form_offers_the_search_box(self, cast, client_for, net):
        html = client_for(cast.rep).get(reverse("customer-edit", args=[net.t1.pk])).content
        html = html.decode()

        assert f'data-supplier-search="{self.url}"' in html
        assert f'data-exclude="{net.t1.pk}"' in html
        assert "supplier_search.js" in html


class TestNoCycles:
    def edit(self, client, customer, supplier_ref):
        data = {
            "name": customer.name,
            "external_ref": customer.external_ref,
            "kind": customer.kind,
            "channel_role": customer.channel_role,
            "terminal_type": "",
            "parent_ref": supplier_ref,
        }
        return client.post(reverse("customer-edit", args=[customer.pk]), data)

    def test_a_buyer_three_levels_down_cannot_become_the_supplier(self, cast, client_for, net):
        client = client_for(cast.rep)
        # D → W1 → T1 → P1: P1 is three levels below D. The role rule would refuse a
        # consumer as supplier anyway, so the chain is tested on a terminal two levels
        # down and on the set-wise check directly.
        response = self.edit(client, net.w1, net.t1.external_ref)

        assert response.status_code == 200
        assert "cannot be supplied by itself or by one of its own buyers" in (
            response.content.decode()
        )
        net.w1.refresh_from_db()
        assert net.w1.parent_id == net.d.pk
        assert network.creates_cycle(net.d.pk, net.p1.pk)
        assert network.creates_cycle(net.d.pk, net.d.pk)
        assert not network.creates_cycle(net.t1.pk, net.d.pk)
        assert not network.creates_cycle(net.w1.pk, net.w2.pk)

    def test_cycle_at_depth_four_in_the_form(self, cast, client_for):
        chain = [
            CustomerFactory(owner=cast.rep, channel_role=ROLE.WHOLESALER, name=f"批发{n}")
            for n in range(5)
        ]
        for upper, lower in zip(chain, chain[1:], strict=False):
            Customer.objects.filter(pk=lower.pk).update(parent=upper)

        response = self.edit(client_for(cast.rep), chain[0], chain[4].external_ref)

        assert "one of its own buyers" in response.content.decode()
        chain[0].refresh_from_db()
        assert chain[0].parent_id is None

    def test_cycle_in_the_admin(self, cast, client_for, net):
        client = client_for(cast.admin)
        url = reverse("admin:customers_customer_change", args=[net.d.pk])
        shown = client.get(url).context
        data = {
            name: value
            for name, value in shown["adminform"].form.initial.items()
            if value not in (None, False, [])
        }
        for inline in shown["inline_admin_formsets"]:
            prefix = inline.formset.prefix
            data.update({f"{prefix}-TOTAL_FORMS": 0, f"{prefix}-INITIAL_FORMS": 0})
        data["parent"] = net.t1.pk

        response = client.post(url, data)

        assert response.status_code == 200
        assert "one of its own buyers" in response.content.decode()
        net.d.refresh_from_db()
        assert net.d.parent_id is None
        data["parent"] = ""
        assert client.post(url, data).status_code == 302

    def test_cycle_through_the_recorded_network_in_an_import(self, tmp_path, net):
        # T1 is two levels below D (D → W1 → T1): D cannot be supplied by T1.
        path = csv_file(
            tmp_path,
            f"customer_ref,name,parent_ref\n{net.d.external_ref},江南总经销,{net.t1.external_ref}\n",
        )

        _message, err = run_failing("import_customers", path)

        assert "line 2, parent_ref: A customer cannot be supplied by itself" in err
        net.d.refresh_from_db()
        assert net.d.parent_id is None

    def test_cycle_within_the_file_at_depth_three(self, tmp_path):
        path = csv_file(
            tmp_path,
            """
            客户编号,客户名称,供货方编号
            A,甲,C
            B,乙,A
            C,丙,B
            E,戊,A
            """,
        )

        _message, err = run("import_customers", path, "--skip-invalid")

        for line in (2, 3, 4):
            assert f"line {line}, 供货方编号: A customer cannot be supplied by itself" in err
        assert "line 5, 供货方编号: The supplying customer “A” has errors in this file." in err
        assert not Customer.objects.filter(external_ref__in=["A", "B", "C", "E"]).exists()

    def test_moving_a_customer_under_another_branch_is_no_cycle(self, tmp_path, net):
        path = csv_file(
            tmp_path,
            f"customer_ref,name,parent_ref\n{net.t1.external_ref},锦绣大酒店,{net.w2.external_ref}\n",
        )

        run("import_customers", path)

        net.t1.refresh_from_db()
        assert net.t1.parent_id == net.w2.pk


class TestExportInWords:
    def export(self, client, **params):
        response = client.get(reverse("customer-export"), params)
        return b"".join(response.streaming_content).decode("utf-8-sig").splitlines()

    def test_chinese_export_has_chinese_headers_and_choice_labels(
        self, cast, client_for, net, settings
    ):
        settings.LANGUAGE_CODE = "zh-hans"
        Customer.objects.filter(pk=net.d.pk).update(credit_grade="A", has_credit_history=True)

        lines = self.export(client_for(cast.rep), q="江南")

        assert lines[0].startswith("客户编号,客户名称,类型,渠道角色,")
        assert lines[1].split(",")[2:4] == ["公司", "总经销商"]
        assert lines[1].split(",")[-2:] == ["A", "是"]

    def test_codes_stay_available_for_machines(self, cast, client_for, net, settings):
        settings.LANGUAGE_CODE = "zh-hans"

        lines = self.export(client_for(cast.rep), q="江南", codes="1")

        assert lines[0].startswith("customer_ref,name,kind,channel_role,")
        assert lines[1].split(",")[2:4] == ["company", "general_distributor"]
