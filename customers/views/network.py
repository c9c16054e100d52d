"""The network pages: the tree below a distributor, and distributors and cross-region
customers by region."""

from django.conf import settings
from django.shortcuts import render

from customers import network_page
from customers.models import Customer
from customers.paging import paginate, query_without
from customers.selectors import customer_for

DISTRIBUTORS_SHOWN = 50


def network_tree(request, pk):
    """The tree of wholesalers and terminals below a customer the viewer may see."""
    customer = customer_for(request.user, pk)
    return render(
        request,
        "customers/network_tree.html",
        {"customer": customer, "tree": network_page.network_tree(customer, request.user)},
    )


def network_index(request):
    """The general distributors the viewer may see, and the customers supplied across a
    region's border, for one region or all."""
    region = request.GET.get("region", "").strip()[:50]
    visible = Customer.objects.visible_to(request.user)
    distributors = visible.filter(channel_role=Customer.ChannelRole.GENERAL_DISTRIBUTOR)
    if region:
        distributors = distributors.filter(region=region)
    paginator, page = paginate(
        request,
        network_page.cross_region(visible, region).select_related("parent", "owner"),
        per_page=settings.CUSTOMER_LIST_PAGE_SIZE,
    )
    network_page.hide_unseen_suppliers(page.object_list, request.user)
    return render(
        request,
        "customers/network_index.html",
        {
            "region": region,
            "distributors": list(distributors.order_by("name", "id")[: DISTRIBUTORS_SHOWN + 1]),
            "shown": DISTRIBUTORS_SHOWN,
            "paginator": paginator,
            "page": page,
            "query": query_without(request),
        },
    )
