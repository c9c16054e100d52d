import csv
import io

import pytest
from django.core.management import call_command

from loyalty import services
from loyalty.models import Membership

pytestmark = pytest.mark.django_db


def test_export_scores_gains_the_member_tier_and_balance(cast, capsys):
    membership = services.membership_enrol(customer=cast.rep_customer, by=None)
    services.points_adjust(membership=membership, points=120, by=cast.admin, reason="开户礼")
    Membership.objects.filter(pk=membership.pk).update(tier="gold")
    call_command("export_scores", "--user", "manager")
    rows = list(csv.reader(io.StringIO(capsys.readouterr().out)))
    header = rows[0]
    start = header.index("member_tier")
    assert header[start : start + 2] == ["member_tier", "points_balance"]
    assert header.index("churn_reasons") < start < header.index("credit_history")
    cells = {row[0]: row[start : start + 2] for row in rows[1:]}
    assert cells[cast.rep_customer.external_ref] == ["gold", "120"]
    assert cells[cast.teammate_customer.external_ref] == ["", ""]
    assert cast.outsider_customer.external_ref not in cells
