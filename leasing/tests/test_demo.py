import pytest

from leasing.demo import leasing_demo_data_load
from leasing.models import LeaseProduct, MileageBand, ServicePackage

pytestmark = pytest.mark.django_db


def test_demo_data_loads_once():
    leasing_demo_data_load()
    leasing_demo_data_load()

    assert sorted(LeaseProduct.objects.values_list("code", flat=True)) == [
        "balloon-financing",
        "business-residual-lease",
        "private-mileage-lease",
    ]
    assert (MileageBand.objects.count(), ServicePackage.objects.count()) == (6, 2)
