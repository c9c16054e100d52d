"""The customer pages through the test client on their real URLs."""

import datetime as dt
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from customers import numbering
from customers.models import Complaint, Customer, Interaction, OpenIssue
from tests.factories import (
    ComplaintFactory,
    CustomerFactory,
    InteractionFactory,
    OpenIssueFactory,
    TagFactory,
)

pytestmark = pytest.mark.django_db


def listed_names(response):
    return [customer.name for customer in response.context["page"].object_list]


class TestCustomerList:
    def test_search_by_name_phone_and_reference(self, cast, client_for):
        client = client_for(cast.manager)
        url = reverse("customer-list")
        assert listed_names(client.get(url, {"q": "锦江"})) == ["上海锦江酒店"]
        phone = cast.teammate_customer.phone
        assert listed_names(client.get(url, {"q": phone})) == ["杭州联华超市"]
        ref = cast.rep_customer.external_ref
        assert listed_names(client.get(url, {"q": ref})) == ["上海锦江酒店"]

    def test_filters_by_owner_kind_role_region_and_tag(self, cast, client_for):
        tag = TagFactory(name="重点")
        special = CustomerFactory(
            owner=cast.rep,
            team=cast.east,
            name="宁波批发部",
            region="宁波",
            kind=Customer.Kind.INDIVIDUAL,
            channel_role=Customer.ChannelRole.WHOLESALER,
        )
        special.tags.add(tag)
        client = client_for(cast.manager)
        url = reverse("customer-list")
        assert listed_names(client.get(url, {"owner": cast.teammate.pk})) == ["杭州联华超市"]
        for params in (
            {"kind": "individual"},
            {"channel_role": "wholesaler"},
            {"region": "宁波"},
            {"tag": tag.pk},
        ):
            assert listed_names(client.get(url, params)) == ["宁波批发部"], params

    def test_filters_by_overdue_and_open_complaint(self, cast, client_for):
        Customer.objects.filter(pk=cast.rep_customer.pk).update(overdue_amount=Decimal("10"))
        ComplaintFactory(customer=cast.teammate_customer)
        ComplaintFactory(customer=cast.rep_customer, status=Complaint.Status.RESOLVED)
        client = client_for(cast.manager)
        url = reverse("customer-list")
        assert listed_names(client.get(url, {"has_overdue": "yes"})) == ["上海锦江酒店"]
        assert listed_names(client.get(url, {"has_overdue": "no"})) == ["杭州联华超市"]
        assert listed_names(client.get(url, {"has_open_complaint": "yes"})) == ["杭州联华超市"]
        assert listed_names(client.get(url, {"has_open_complaint": "no"})) == ["上海锦江酒店"]

    def test_sorts_by_overdue_descending(self, cast, client_for):
        Customer.objects.filter(pk=cast.teammate_customer.pk).update(overdue_amount=5)
        Customer.objects.filter(pk=cast.rep_customer.pk).update(overdue_amount=50)
        response = client_for(cast.manager).get(reverse("customer-list"), {"sort": "-overdue"})
        assert listed_names(response) == ["上海锦江酒店", "杭州联华超市"]

    def test_bad_filter_values_are_ignored_with_a_message_not_an_error(self, cast, client_for):
        response = client_for(cast.rep).get(
            reverse("customer-list"),
            {"owner": "abc", "tag": "999999", "sort": "password", "page": "-3", "kind": "x"},
        )
        assert response.status_code == 200
        assert "were not understood" in response.content.decode()

    def test_paginates_and_caps_the_count(self, cast, client_for, settings):
        settings.CUSTOMER_LIST_PAGE_SIZE = 2
        settings.LIST_COUNT_CAP = 3
        CustomerFactory.create_batch(4, owner=cast.rep, team=cast.east)
        response = client_for(cast.rep).get(reverse("customer-list"), {"page": 99})
        assert response.context["paginator"].is_capped
        assert response.context["page"].number == 2
        assert "More than 3 customers" in response.content.decode()

    def test_list_query_count_does_not_grow_with_rows(
        self, cast, client_for, django_assert_num_queries
    ):
        tags = [TagFactory(name="连锁"), TagFactory(name="新开店")]
        for customer in CustomerFactory.create_batch(60, owner=cast.rep, team=cast.east):
            customer.tags.add(*tags)
        client = client_for(cast.manager)
        client.get(reverse("customer-list"))
        # session, user, the user's permissions and group permissions (may they see
        # all?), capped count, current run, is-manager check, owner choices, team
        # choices, tag choices, the page's customers (owner and team joined), their tags.
        with django_assert_num_queries(12):
            response = client.get(reverse("customer-list"), {"sort": "name"})
        assert len(response.context["page"].object_list) == 50


def follow_up(customer, *, due_in, contacted_days_ago=3, staff=None):
    """A contact with the customer some days ago that set a follow-up `due_in` days away."""
    return InteractionFactory(
        customer=customer,
        staff=staff or customer.owner,
        occurred_at=timezone.now() - dt.timedelta(days=contacted_days_ago),
        next_follow_up=timezone.localdate() + dt.timedelta(days=due_in),
    )


class TestFollowUps:
    def test_start_page_counts_my_open_follow_ups_and_lists_them_soonest_first(
        self, cast, client_for
    ):
        def customer(name):
            return CustomerFactory(owner=cast.rep, team=cast.east, name=name)

        follow_up(customer("本周客户"), due_in=5)
        follow_up(customer("逾期客户"), due_in=-2)
        follow_up(customer("下月客户"), due_in=30)
        follow_up(customer("久远客户"), due_in=-90, contacted_days_ago=120)
        called_again = customer("已回访客户")
        follow_up(called_again, due_in=-1, contacted_days_ago=10)
        InteractionFactory(customer=called_again, occurred_at=timezone.now())
        follow_up(cast.teammate_customer, due_in=1)
        response = client_for(cast.rep).get(reverse("home"))
        counts = response.context["follow_ups"]
        assert (counts["overdue"], counts["soon"]) == (1, 1)
        html = response.content.decode()
        assert "1 follow-up is overdue." in html
        assert "1 follow-up is due in the next 14 days." in html
        listed = html[html.index('id="follow-ups"') :]
        listed = listed[: listed.index("</ul>")]
        assert listed.index("逾期客户") < listed.index("本周客户")
        for name in ("下月客户", "久远客户", "已回访客户", "杭州联华超市"):
            assert name not in listed
        assert reverse("follow-up-list") + "?due=overdue" in html

    def test_follow_up_list_shows_only_my_own_on_customers_i_may_see(self, cast, client_for):
        follow_up(cast.rep_customer, due_in=-1)
        follow_up(cast.teammate_customer, due_in=2)
        follow_up(cast.outsider_customer, due_in=3)
        # A customer handed to another team takes its follow-ups along.
        moved = CustomerFactory(owner=cast.rep, team=cast.east, name="已移交客户")
        follow_up(moved, due_in=4)
        moved.owner, moved.team = cast.outsider, cast.west
        moved.save()

        def listed(user, **params):
            response = client_for(user).get(reverse("follow-up-list"), params)
            assert response.status_code == 200
            return [i.customer.name for i in response.context["page"].object_list]

        assert listed(cast.rep) == ["上海锦江酒店"]
        assert listed(cast.rep, due="overdue") == ["上海锦江酒店"]
        assert listed(cast.rep, due="soon") == []
        assert listed(cast.teammate, due="soon") == ["杭州联华超市"]
        assert listed(cast.outsider) == ["成都红旗连锁"]
        # The manager sees the team's customers, but only the follow-ups they set.
        assert listed(cast.manager) == []
        assert listed(cast.rep, due="whenever") == ["上海锦江酒店"]
        # An admin sees their own follow-ups on any customer.
        follow_up(cast.outsider_customer, due_in=5, contacted_days_ago=1, staff=cast.admin)
        assert listed(cast.admin) == ["成都红旗连锁"]


class TestCustomerFile:
    def test_shows_every_section_and_the_records(self, cast, client_for):
        customer = cast.rep_customer
        ComplaintFactory(customer=customer, subject="包装破损")
        OpenIssueFactory(customer=customer, title="发票抬头错误")
        page = client_for(cast.rep).get(reverse("customer-detail", args=[customer.pk]))
        content = page.content.decode()
        for key in (
            "interactions",
            "receivables",
            "orders",
            "complaints",
            "contacts",
            "issues",
            "documents",
            "history",
        ):
            assert f'id="panel-{key}"' in content
        assert "包装破损" in content and "发票抬头错误" in content

    def add_history(self, customer, count):
        from tests.factories import InteractionFactory, OrderFactory, PaymentFactory

        for _ in range(count):
            OrderFactory(customer=customer)
            PaymentFactory(invoice__customer=customer)
            InteractionFactory(customer=customer)
            ComplaintFactory(customer=customer)
            OpenIssueFactory(customer=customer)

    def test_file_query_count_of_the_core_panels_is_fixed(
        self, cast, client_for, django_assert_num_queries, monkeypatch
    ):
        from customers import panels

        core = {
            "interactions",
            "receivables",
            "orders",
            "complaints",
            "credit",
            "contacts",
            "issues",
            "documents",
            "history",
        }
        monkeypatch.setattr(
            panels, "_registry", {k: v for k, v in panels._registry.items() if k in core}
        )
        customer = cast.rep_customer
        client = client_for(cast.rep)
        url = reverse("customer-detail", args=[customer.pk])
        self.add_history(customer, 2)
        # session, user, the user's permissions and group permissions, the customer
        # (owner, team, parent joined); panels: grade policies, grade changes,
        # contacts, interactions, issues, invoices with paid sums, payments,
        # documents, order totals, orders, complaints, history; then the managed
        # teams (is-manager check), current run, tags.
        with django_assert_num_queries(20):
            client.get(url)
        self.add_history(customer, 30)
        with django_assert_num_queries(20):
            client.get(url)

    def test_file_query_count_with_every_panel_does_not_grow_with_history(self, cast, client_for):
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        customer = cast.rep_customer
        client = client_for(cast.rep)
        url = reverse("customer-detail", args=[customer.pk])
        self.add_history(customer, 2)
        with CaptureQueriesContext(connection) as small:
            client.get(url)
        self.add_history(customer, 30)
        with CaptureQueriesContext(connection) as large:
            client.get(url)
        assert len(large) == len(small)

    def test_other_apps_can_add_a_panel(self, cast, client_for):
        from customers import panels

        panels.register(
            key="test-extra",
            title="Extra",
            template="customers/_panel_contacts.html",
            load=lambda customer, user: {"contacts": []},
            order=5,
            column="side",
        )
        try:
            page = client_for(cast.rep).get(reverse("customer-detail", args=[cast.rep_customer.pk]))
            assert 'id="panel-test-extra"' in page.content.decode()
        finally:
            panels._registry.pop("test-extra")


class TestCustomerForms:
    def test_rep_creates_a_customer_they_own_in_their_team(self, cast, client_for):
        response = client_for(cast.rep).post(
            reverse("customer-create"),
            {
                "name": "苏州好又多超市",
                "kind": "company",
                "channel_role": "terminal",
                "terminal_type": "supermarket",
                "region": "苏州",
                "phone": "0512-6688 1234",
            },
        )
        customer = Customer.objects.get(name="苏州好又多超市")
        assert response.status_code == 302
        assert (customer.owner, customer.team) == (cast.rep, cast.east)
        assert numbering.is_customer_number(customer.external_ref)

    def test_invalid_customer_form_rerenders_with_field_errors(self, cast, client_for):
        response = client_for(cast.rep).post(
            reverse("customer-create"),
            {
                "name": " ",
                "kind": "company",
                "channel_role": "wholesaler",
                "terminal_type": "hotel",
                "phone": "call me",
                "email": "nope",
                "parent_ref": cast.outsider_customer.external_ref,
            },
        )
        assert response.status_code == 200
        errors = response.context["form"].errors
        assert set(errors) >= {"name", "terminal_type", "phone", "email", "parent_ref"}
        assert Customer.objects.count() == 3

    def test_parent_must_be_further_up_the_network(self, cast, client_for):
        wholesaler = CustomerFactory(
            owner=cast.rep, team=cast.east, channel_role=Customer.ChannelRole.WHOLESALER
        )
        client = client_for(cast.rep)
        url = reverse("customer-edit", args=[wholesaler.pk])
        data = {
            "name": wholesaler.name,
            "external_ref": wholesaler.external_ref,
            "kind": "company",
            "channel_role": "wholesaler",
            "parent_ref": cast.rep_customer.external_ref,
        }
        response = client.post(url, data)
        assert "cannot be supplied by" in str(response.context["form"].errors["parent_ref"])
        distributor = CustomerFactory(
            owner=cast.rep,
            team=cast.east,
            channel_role=Customer.ChannelRole.GENERAL_DISTRIBUTOR,
        )
        data["parent_ref"] = distributor.external_ref
        assert client.post(url, data).status_code == 302
        wholesaler.refresh_from_db()
        assert wholesaler.parent == distributor

    def _supplied_by_another_team(self, cast):
        supplier = CustomerFactory(
            owner=cast.outsider,
            team=cast.west,
            name="成都糖酒总经销",
            external_ref="KH001441",
            channel_role=Customer.ChannelRole.GENERAL_DISTRIBUTOR,
        )
        customer = cast.rep_customer
        customer.parent = supplier
        customer.save()
        data = {
            "name": customer.name,
            "external_ref": customer.external_ref,
            "kind": "company",
            "channel_role": "terminal",
            "region": "上海",
        }
        return customer, supplier, data

    def test_supplier_of_another_team_is_named_without_its_reference(self, cast, client_for):
        customer, _supplier, _data = self._supplied_by_another_team(cast)
        page = client_for(cast.rep).get(reverse("customer-edit", args=[customer.pk]))
        content = page.content.decode()
        assert page.status_code == 200
        assert "成都糖酒总经销" in content and "KH001441" not in content
        assert page.context["form"]["current_parent"].field.disabled

    def test_editing_keeps_a_supplier_of_another_team(self, cast, client_for):
        customer, supplier, data = self._supplied_by_another_team(cast)
        response = client_for(cast.rep).post(
            reverse("customer-edit", args=[customer.pk]), {**data, "phone": "021-6666 8888"}
        )
        assert response.status_code == 302
        customer.refresh_from_db()
        assert (customer.parent, customer.phone) == (supplier, "021-6666 8888")

    def test_supplier_of_another_team_is_changed_only_for_one_the_rep_can_see(
        self, cast, client_for
    ):
        customer, _supplier, data = self._supplied_by_another_team(cast)
        client = client_for(cast.rep)
        url = reverse("customer-edit", args=[customer.pk])
        CustomerFactory(owner=cast.outsider, team=cast.west, external_ref="KH009999")
        response = client.post(url, {**data, "parent_ref": "KH009999"})
        assert "No customer you can see has the reference" in str(
            response.context["form"].errors["parent_ref"]
        )
        wholesaler = CustomerFactory(
            owner=cast.rep, team=cast.east, channel_role=Customer.ChannelRole.WHOLESALER
        )
        assert client.post(url, {**data, "parent_ref": wholesaler.external_ref}).status_code == 302
        customer.refresh_from_db()
        assert customer.parent == wholesaler

    def test_supplier_of_another_team_is_removed_only_when_asked(self, cast, client_for):
        customer, _supplier, data = self._supplied_by_another_team(cast)
        response = client_for(cast.rep).post(
            reverse("customer-edit", args=[customer.pk]), {**data, "remove_parent": "on"}
        )
        assert response.status_code == 302
        customer.refresh_from_db()
        assert customer.parent is None

    def test_role_change_against_a_hidden_supplier_names_it_only(self, cast, client_for):
        customer, _supplier, data = self._supplied_by_another_team(cast)
        response = client_for(cast.rep).post(
            reverse("customer-edit", args=[customer.pk]),
            {**data, "channel_role": "general_distributor"},
        )
        errors = str(response.context["form"].errors["parent_ref"])
        assert "成都糖酒总经销" in errors and "KH001441" not in errors

    def test_manager_reassigns_and_the_history_keeps_it(self, cast, client_for):
        customer = cast.rep_customer
        client = client_for(cast.manager)
        response = client.post(
            reverse("customer-reassign", args=[customer.pk]),
            {"owner": cast.teammate.pk, "reason": "王伟调岗"},
        )
        assert response.status_code == 302
        customer.refresh_from_db()
        assert customer.owner == cast.teammate and customer.team == cast.east
        latest = customer.history.first()
        assert latest.history_change_reason == "王伟调岗"
        assert latest.history_user == cast.manager
        page = client.get(reverse("customer-detail", args=[customer.pk])).content.decode()
        assert "王伟调岗" in page

    def test_reassign_refuses_people_outside_the_managers_teams(self, cast, client_for):
        response = client_for(cast.manager).post(
            reverse("customer-reassign", args=[cast.rep_customer.pk]),
            {"owner": cast.outsider.pk, "reason": "x"},
        )
        assert response.status_code == 200
        assert "owner" in response.context["form"].errors


class TestRecords:
    def test_log_an_interaction_and_see_it_on_the_file(self, cast, client_for):
        client = client_for(cast.rep)
        customer = cast.rep_customer
        response = client.post(
            reverse("interaction-create", args=[customer.pk]),
            {
                "channel": "wechat",
                "occurred_at": "2026-03-02T10:30",
                "summary": "微信沟通春节备货",
                "outcome": "下周下单",
                "next_follow_up": "2026-03-09",
            },
            follow=True,
        )
        interaction = Interaction.objects.get()
        assert (interaction.staff, interaction.customer) == (cast.rep, customer)
        assert "微信沟通春节备货" in response.content.decode()

    def test_interaction_in_the_future_or_follow_up_before_it_is_refused(self, cast, client_for):
        future = (timezone.localtime() + dt.timedelta(days=2)).strftime("%Y-%m-%dT%H:%M")
        response = client_for(cast.rep).post(
            reverse("interaction-create", args=[cast.rep_customer.pk]),
            {"channel": "phone", "occurred_at": future, "summary": "  "},
        )
        assert set(response.context["form"].errors) == {"occurred_at", "summary"}
        response = client_for(cast.rep).post(
            reverse("interaction-create", args=[cast.rep_customer.pk]),
            {
                "channel": "phone",
                "occurred_at": "2026-03-02T10:30",
                "summary": "回访",
                "next_follow_up": "2026-03-01",
            },
        )
        assert set(response.context["form"].errors) == {"next_follow_up"}
        assert not Interaction.objects.exists()

    def test_complaint_workflow_resolve_needs_resolution_then_records_satisfaction(
        self, cast, client_for
    ):
        client = client_for(cast.rep)
        customer = cast.rep_customer
        client.post(reverse("complaint-create", args=[customer.pk]), {"subject": "送货晚了两天"})
        complaint = Complaint.objects.get()
        url = reverse("complaint-update", args=[customer.pk, complaint.pk])
        response = client.post(url, {"status": "resolved", "resolution": "", "satisfaction": 4})
        assert "resolution" in response.context["form"].errors
        response = client.post(
            url, {"status": "resolved", "resolution": "补发并致歉", "satisfaction": 4}
        )
        complaint.refresh_from_db()
        assert complaint.status == "resolved" and complaint.satisfaction == 4
        assert complaint.resolved_by == cast.rep and complaint.resolved_at is not None

    def test_satisfaction_is_refused_before_resolution(self, cast, client_for):
        complaint = ComplaintFactory(customer=cast.rep_customer)
        response = client_for(cast.rep).post(
            reverse("complaint-update", args=[cast.rep_customer.pk, complaint.pk]),
            {"status": "in_progress", "satisfaction": 9},
        )
        assert "satisfaction" in response.context["form"].errors

    def test_issue_is_added_and_closed_with_a_resolution(self, cast, client_for):
        client = client_for(cast.rep)
        customer = cast.rep_customer
        client.post(reverse("issue-create", args=[customer.pk]), {"title": "退货款未结清"})
        issue = OpenIssue.objects.get()
        url = reverse("issue-close", args=[customer.pk, issue.pk])
        assert "resolution" in client.post(url, {"resolution": ""}).context["form"].errors
        client.post(url, {"resolution": "已冲抵下批货款"})
        issue.refresh_from_db()
        assert issue.status == "closed" and issue.closed_by == cast.rep
        assert client.get(url).status_code == 404

    def test_contact_person_is_added(self, cast, client_for):
        client_for(cast.rep).post(
            reverse("contact-create", args=[cast.rep_customer.pk]),
            {"name": "陈静", "title": "采购经理", "phone": "139 1234 5678", "is_primary": "on"},
        )
        assert cast.rep_customer.contacts.get().is_primary


PDF = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF"


class TestDocuments:
    def upload(self, client, customer, name, content, **extra):
        return client.post(
            reverse("document-upload", args=[customer.pk]),
            {"doc_type": "business_licence", "file": SimpleUploadedFile(name, content), **extra},
        )

    def test_upload_then_download_through_the_checked_view(self, cast, client_for, private_media):
        client = client_for(cast.rep)
        response = self.upload(
            client, cast.rep_customer, "营业执照.pdf", PDF, expires_on="2030-12-31"
        )
        assert response.status_code == 302
        document = cast.rep_customer.documents.get()
        assert document.original_name == "营业执照.pdf" and document.size == len(PDF)
        assert "营业执照" not in document.file.name
        download = client.get(
            reverse("document-download", args=[cast.rep_customer.pk, document.pk])
        )
        assert b"".join(download.streaming_content) == PDF
        outsider = client_for(cast.outsider)
        url = reverse("document-download", args=[cast.rep_customer.pk, document.pk])
        assert outsider.get(url).status_code == 404

    def test_wrong_type_disguised_content_and_oversize_are_refused(
        self, cast, client_for, private_media, settings
    ):
        client = client_for(cast.rep)
        assert (
            "file" in self.upload(client, cast.rep_customer, "x.exe", b"MZ").context["form"].errors
        )
        assert (
            "file"
            in self.upload(client, cast.rep_customer, "x.pdf", b"MZ\x90").context["form"].errors
        )
        settings.DOCUMENT_MAX_BYTES = 10
        assert "file" in self.upload(client, cast.rep_customer, "x.pdf", PDF).context["form"].errors
        assert not cast.rep_customer.documents.exists()


class TestExport:
    def test_csv_neutralises_formulas(self, cast, client_for):
        CustomerFactory(owner=cast.rep, team=cast.east, name='=HYPERLINK("http://x")')
        response = client_for(cast.rep).get(reverse("customer-export"))
        body = b"".join(response.streaming_content).decode("utf-8-sig")
        assert "'=HYPERLINK" in body
        assert body.splitlines()[0].startswith("customer_ref,name")

    def test_xlsx_export_opens_and_lists_visible_customers(self, cast, client_for):
        import io

        from openpyxl import load_workbook

        response = client_for(cast.manager).get(reverse("customer-export"), {"format": "xlsx"})
        sheet = load_workbook(io.BytesIO(response.content)).active
        names = {row[1] for row in sheet.iter_rows(min_row=2, values_only=True)}
        assert names == {"上海锦江酒店", "杭州联华超市"}


def test_site_speaks_chinese_by_default_and_english_on_request(cast, client, settings):
    settings.LANGUAGE_CODE = "zh-hans"
    client.force_login(cast.rep)
    assert "客户" in client.get(reverse("customer-list")).content.decode()
    client.post(reverse("set_language"), {"language": "en", "next": "/"})
    assert "Customers" in client.get(reverse("customer-list")).content.decode()


def test_other_apps_can_add_list_filters_and_sort_keys(cast, client_for):
    import django_filters
    from django.db.models.functions import Length

    from customers import filters

    CustomerFactory(owner=cast.rep, team=cast.east, name="长号码客户", phone="021-5555-12345")
    filters.register_list_filter(
        "phone_prefix",
        lambda: django_filters.CharFilter(field_name="phone", lookup_expr="startswith"),
    )
    filters.register_list_ordering(
        "phone_length",
        label="Phone length",
        field="phone_length",
        prepare=lambda queryset: queryset.annotate(phone_length=Length("phone")),
    )
    try:
        client = client_for(cast.rep)
        url = reverse("customer-list")
        assert listed_names(client.get(url, {"phone_prefix": "021"})) == ["长号码客户"]
        assert listed_names(client.get(url, {"sort": "-phone_length"}))[0] == "长号码客户"
    finally:
        filters._extra_filters.pop("phone_prefix")
        filters._extra_orderings.pop("phone_length")


def test_file_of_a_customer_without_recorded_history_opens(cast, client_for):
    from customers.models import Customer

    Customer.objects.bulk_create(
        [Customer(external_ref="BULK1", name="批量导入客户", owner=cast.rep, team=cast.east)]
    )
    customer = Customer.objects.get(external_ref="BULK1")
    response = client_for(cast.rep).get(reverse("customer-detail", args=[customer.pk]))
    assert response.status_code == 200
    assert "No changes recorded." in response.content.decode()


def test_people_are_named_family_name_first_in_chinese(cast, client_for):
    response = client_for(cast.manager).get(reverse("customer-detail", args=[cast.rep_customer.pk]))
    assert "王伟" in response.content.decode()


@pytest.mark.parametrize("query", ["锦江", "锦江酒店", "JINJIANG", "jinjiang", "江"])
def test_search_finds_substrings_of_any_length_and_case(cast, client_for, query):
    CustomerFactory(owner=cast.rep, team=cast.east, name="锦江酒店 Jinjiang Hotel")
    names = listed_names(client_for(cast.rep).get(reverse("customer-list"), {"q": query}))
    assert "锦江酒店 Jinjiang Hotel" in names


@pytest.mark.parametrize("query", ["'", "\\", "%", "_", "a'b\\c", "'; DROP TABLE x; --", "&|!"])
def test_search_with_special_characters_is_answered_not_an_error(cast, client_for, query):
    response = client_for(cast.rep).get(reverse("customer-list"), {"q": query})
    assert response.status_code == 200
    assert listed_names(response) == []
