import pytest
from django.contrib import admin

from tests.factories import order_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client_logged_in(client, django_user_model):
    user = django_user_model.objects.create_superuser("root", "root@example.com", "pw-123456")
    client.force_login(user)
    return client


def test_every_registered_model_has_a_working_changelist(admin_client_logged_in):
    order_for()
    for model in admin.site._registry:
        url = f"/admin/{model._meta.app_label}/{model._meta.model_name}/"
        assert admin_client_logged_in.get(url).status_code == 200, url


def test_orders_are_searchable_by_albaik_identifier(admin_client_logged_in):
    order = order_for()
    other = order_for()
    response = admin_client_logged_in.get("/admin/delivery/order/", {"q": order.albaik_identifier})
    assert order.albaik_identifier in response.content.decode()
    assert other.albaik_identifier not in response.content.decode()


def test_every_normal_data_model_is_registered():
    from django.apps import apps

    missing = [m.__name__ for m in apps.get_app_config("delivery").get_models() if m not in admin.site._registry]
    assert missing == []
