"""The dashboard pages: login, the branch page, its static files, Arabic and English."""

import json
from typing import Any

import pytest
from django.test import Client

from delivery.models import Branch
from tests.factories import PASSWORD, BranchFactory, PreparationFactory, UserFactory

pytestmark = pytest.mark.django_db


def dashboard_config(response: Any) -> dict[str, Any]:
    html = response.content.decode()
    start = html.index('id="dashboard-config"')
    start = html.index(">", start) + 1
    return json.loads(html[start : html.index("</script>", start)])


def test_staff_log_in_and_land_on_their_branch(client: Client, branch: Branch, staff: Any) -> None:
    response = client.post("/restaurant/login/", {"username": staff.username, "password": PASSWORD}, follow=True)
    assert response.redirect_chain[-1][0] == f"/restaurant/branches/{branch.pk}/"
    assert response.status_code == 200


def test_wrong_password_stays_on_the_login_page(client: Client, staff: Any) -> None:
    response = client.post("/restaurant/login/", {"username": staff.username, "password": "wrong"})
    assert response.status_code == 200
    assert "_auth_user_id" not in client.session


def test_anonymous_visitors_are_sent_to_log_in(client: Client, branch: Branch) -> None:
    response = client.get(f"/restaurant/branches/{branch.pk}/")
    assert response.status_code == 302
    assert response["Location"].startswith(f"/restaurant/login/?next=/restaurant/branches/{branch.pk}/")


def test_dashboard_embeds_the_active_preparations(client: Client, branch: Branch, staff: Any) -> None:
    preparation = PreparationFactory.create(order__branch=branch)
    PreparationFactory.create(order__branch=branch, status="handed_over")
    client.force_login(staff)

    response = client.get(f"/restaurant/branches/{branch.pk}/")

    assert response.status_code == 200
    config = dashboard_config(response)
    assert [p["id"] for p in config["preparations"]] == [preparation.pk]
    assert config["socketPath"] == f"/ws/restaurant/branches/{branch.pk}/"
    assert config["listUrl"] == f"/restaurant/branches/{branch.pk}/preparations/"
    assert set(config["labels"]["status"]) == {"received", "collecting", "ready", "handed_over"}


def test_other_branch_staff_get_403(client: Client, branch: Branch, other_staff: Any) -> None:
    client.force_login(other_staff)
    assert client.get(f"/restaurant/branches/{branch.pk}/").status_code == 403


def test_users_without_a_branch_get_403_from_the_index(client: Client) -> None:
    client.force_login(UserFactory.create())
    assert client.get("/restaurant/").status_code == 403


def test_staff_of_two_branches_can_open_both(client: Client, branch: Branch, staff: Any) -> None:
    second = BranchFactory.create()
    second.staff.add(staff)
    client.force_login(staff)
    assert client.get(f"/restaurant/branches/{second.pk}/").status_code == 200
    assert client.get("/restaurant/").status_code == 302


def test_arabic_pages_are_right_to_left(client: Client, branch: Branch, staff: Any) -> None:
    login = client.get("/restaurant/login/", HTTP_ACCEPT_LANGUAGE="ar")
    assert 'lang="ar" dir="rtl"' in login.content.decode()
    assert "تسجيل دخول الموظفين" in login.content.decode()

    client.force_login(staff)
    config = dashboard_config(client.get(f"/restaurant/branches/{branch.pk}/", HTTP_ACCEPT_LANGUAGE="ar"))
    assert config["labels"]["cookTogether"] == "اطبخها معًا"
    assert config["labels"]["status"]["collecting"] == "قيد التجميع"


def test_english_is_the_default(client: Client) -> None:
    page = client.get("/restaurant/login/").content.decode()
    assert 'lang="en" dir="ltr"' in page
    assert "Staff log in" in page


def test_the_language_switch_remembers_arabic(client: Client) -> None:
    response = client.post("/restaurant/language/", {"language": "ar", "next": "/restaurant/login/"})
    assert response.status_code == 302
    assert 'dir="rtl"' in client.get("/restaurant/login/").content.decode()


def test_log_out(client: Client, branch: Branch, staff: Any) -> None:
    client.force_login(staff)
    assert client.post("/restaurant/logout/").status_code == 302
    assert client.get(f"/restaurant/branches/{branch.pk}/").status_code == 302


@pytest.mark.parametrize("name", ["dashboard.js", "dashboard.css"])
def test_static_files_are_served(client: Client, name: str) -> None:
    response = client.get(f"/static/restaurant/{name}")
    assert response.status_code == 200
