"""Fixtures for the restaurant dashboard: a branch, its staff, and staff of another branch."""

from typing import Any

import pytest
from rest_framework.test import APIClient

from delivery.models import Branch
from tests.factories import BranchFactory, UserFactory


@pytest.fixture(autouse=True)
def fast_password_hashing(settings: Any) -> None:
    # Factories create a user per order and driver; the production hasher would dominate the run time.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def branch(db: None) -> Branch:
    return BranchFactory.create()


@pytest.fixture
def staff(branch: Branch) -> Any:
    user = UserFactory.create()
    branch.staff.add(user)
    return user


@pytest.fixture
def other_staff(db: None) -> Any:
    user = UserFactory.create()
    BranchFactory.create().staff.add(user)
    return user


@pytest.fixture
def staff_api(staff: Any) -> APIClient:
    client = APIClient()
    client.force_authenticate(user=staff)
    return client
