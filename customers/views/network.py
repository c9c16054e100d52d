"""The network pages: the tree below a distributor, and distributors and cross-region
customers by region."""

from django.conf import settings
from django.http import Http404
from django.shortcuts import render

from customers import network, network_page
from customers.models import Customer, PipelineRun
from customers.paging import paginate, query_without
from customers.selectors import customer_for

DISTRIBUTORS_SHOWN = 50


def network_tree(request, pk):
    """The tree of wholesalers and terminals below a customer the viewer may see, one level
    at a time: `?under=ID` the level below a customer of its network (`&fragment=1`: that
    level alone, as the page fetches it when a node is opened), `?page=N` its N-th part."""
    customer = customer_for(request.user, pk)
    under = _under(request, customer)
    tree = network_page.network_tree(
        customer, request.user, under=under, page=_page_number(request)
    )
    fragment = under is not None and request.GET.get("fragment") == "1"
    return render(
        request,
        "customers/_network_level.html" if fragment else "customers/network_tree.html",
        {"customer": customer, "tree": tree},
    )


def _under(request, customer):
    """The id of the customer whose level is asked for: one of `customer`'s network (one
    query), else 404; None for the customer's own level."""
    raw = request.GET.get("under", "").strip()
    if not raw:
        return None
    if not raw.isdigit() or len(raw) > 18:
        raise Http404
    under = int(raw)
    if under == customer.pk:
        return None
    if not network.creates_cycle(customer.pk, under):  # i.e. `under` is below `customer`
        raise Http404
    return under


def _page_number(request):
    raw = request.GET.get("page", "")
    return int(raw) if raw.isdigit() and len(raw) < 7 else 1


def network_index(request):
    """The general distributors the viewer may see, and the customers supplied across a
    region's border, for one region or all."""
    region = request.GET.get("region", "").strip()[:50]
    visible = Customer.objects.visible_to(request.user)
    distributors = visible.filter(channel_role=Customer.ChannelRole.GENERAL_DISTRIBUTOR)
    if region:
        distributors = distributors.filter(region=region)
    current_run = PipelineRun.objects.current()
    paginator, page = paginate(
        request,
        network_page.cross_region(visible, current_run, region).select_related("parent", "owner"),
        per_page=settings.CUSTOMER_LIST_PAGE_SIZE,
    )
    network_page.hide_unseen_suppliers(page.object_list, request.user)
    return render(
        request,
        "customers/network_index.html",
        {
            "region": region,
            "current_run": current_run,
            "distributors": list(distributors.order_by("name", "id")[: DISTRIBUTORS_SHOWN + 1]),
            "shown": DISTRIBUTORS_SHOWN,
            "paginator": paginator,
            "page": page,
            "query": query_without(request),
        },
    )
