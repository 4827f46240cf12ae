import pytest
from django.db import IntegrityError, transaction

from delivery.models import Delivery, DeliveryStatus
from tests.factories import DriverFactory, order_for


@pytest.mark.django_db
def test_database_rejects_a_second_active_delivery_for_one_order():
    order = order_for()

    Delivery.objects.create(order=order, driver=DriverFactory.create())
    with pytest.raises(IntegrityError), transaction.atomic():
        Delivery.objects.create(order=order, driver=DriverFactory.create())


@pytest.mark.django_db
def test_an_inactive_delivery_does_not_block_reassignment():

    order = order_for()
    Delivery.objects.create(order=order, driver=DriverFactory.create(), is_active=False)
    assert Delivery.objects.create(order=order, driver=DriverFactory.create()).is_active


@pytest.mark.django_db
def test_database_rejects_two_open_trips_for_one_driver():

    driver = DriverFactory.create()
    Delivery.objects.create(order=order_for(), driver=driver)
    with pytest.raises(IntegrityError), transaction.atomic():
        Delivery.objects.create(order=order_for(), driver=driver)


@pytest.mark.django_db
def test_a_finished_trip_does_not_block_the_next():

    driver = DriverFactory.create()
    Delivery.objects.create(order=order_for(), driver=driver, status=DeliveryStatus.DELIVERED)
    assert Delivery.objects.create(order=order_for(), driver=driver).status == DeliveryStatus.ASSIGNED
