"""Paging that stays fast at a million rows.

A full `count(*)` and a deep OFFSET both grow with the table. Lists count up to
a cap (shown as "more than N") and page no further than the cap; a search or
filter narrows a longer list.
"""

from django.conf import settings
from django.core.paginator import Paginator
from django.utils.functional import cached_property


class CappedPaginator(Paginator):
    def __init__(self, object_list, per_page, *args, cap=None, **kwargs):
        # Positional extras as Django's admin passes them (orphans, allow_empty_first_page).
        super().__init__(object_list, per_page, *args, **kwargs)
        self.cap = cap or settings.LIST_COUNT_CAP

    @cached_property
    def count(self):
        # COUNT over a LIMITed subquery stops at the cap instead of scanning everything;
        # without ORDER BY the planner may count from any index that fits the filter.
        return self.object_list.order_by()[: self.cap + 1].count()

    @property
    def is_capped(self):
        return self.count > self.cap

    @cached_property
    def num_pages(self):
        return max(1, -(-min(self.count, self.cap) // self.per_page))


def paginate(request, queryset, per_page=None):
    paginator = CappedPaginator(queryset, per_page or settings.CUSTOMER_LIST_PAGE_SIZE)
    page = paginator.get_page(request.GET.get("page"))
    return paginator, page


def query_without(request, *keys):
    """The request's query string without `keys` (and without the page number), for
    links that change those."""
    query = request.GET.copy()
    for key in ("page", *keys):
        query.pop(key, None)
    return query.urlencode()
