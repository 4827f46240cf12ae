import os
import subprocess
import sys
import time

import pytest
from django.contrib.auth.models import User
from waffle.models import Flag

from side_effects.flags import FlagName, flag_active_for, percent_bucket
from tests.factories import UserFactory
from tests.processes import BASE_DIR, test_database_url, wait_for


@pytest.mark.django_db
def test_a_flag_can_be_on_for_one_driver_only():
    chosen, other = UserFactory.create(), UserFactory.create()
    flag = Flag.objects.create(name=FlagName.KAFKA_WASEAT_CLOSE.value)
    flag.users.add(chosen)  # type: ignore[attr-defined]
    assert flag_active_for(FlagName.KAFKA_WASEAT_CLOSE, chosen) is True
    assert flag_active_for(FlagName.KAFKA_WASEAT_CLOSE, other) is False


@pytest.mark.django_db
def test_an_unknown_flag_is_off():
    assert flag_active_for(FlagName.KAFKA_DRIVER_STATUS, UserFactory.create()) is False


@pytest.mark.django_db
def test_everyone_overrides_the_user_list():
    user = UserFactory.create()
    flag = Flag.objects.create(name=FlagName.KAFKA_WASEAT_CLOSE.value, everyone=False)
    flag.users.add(user)  # type: ignore[attr-defined]
    assert flag_active_for(FlagName.KAFKA_WASEAT_CLOSE, user) is False


@pytest.mark.django_db
def test_percentage_rollout_is_stable_per_driver_and_close_to_the_percentage():
    Flag.objects.create(name=FlagName.KAFKA_DASHBOARD_BROADCAST.value, percent=30)
    users = [User(pk=pk) for pk in range(1, 2001)]
    first = [flag_active_for(FlagName.KAFKA_DASHBOARD_BROADCAST, user) for user in users]
    again = [flag_active_for(FlagName.KAFKA_DASHBOARD_BROADCAST, user) for user in users]
    assert first == again
    assert 0.25 < sum(first) / len(first) < 0.35


def test_buckets_differ_between_flags():
    flags = [percent_bucket("a", user_id) < 5000 for user_id in range(1000)]
    others = [percent_bucket("b", user_id) < 5000 for user_id in range(1000)]
    assert flags != others


@pytest.mark.django_db(transaction=True)
def test_an_operators_change_reaches_another_process_within_five_seconds():
    user = UserFactory.create()
    assert flag_active_for(FlagName.KAFKA_WASEAT_CLOSE, user) is False  # cached as off here
    env = {**os.environ, "DATABASE_URL": test_database_url()}
    subprocess.run(
        [sys.executable, "manage.py", "waffle_flag", "kafka_waseat_close", "--everyone", "--create"],
        cwd=BASE_DIR,
        env=env,
        check=True,
        capture_output=True,
    )
    changed = time.monotonic()
    wait_for(lambda: flag_active_for(FlagName.KAFKA_WASEAT_CLOSE, user), timeout=10, interval=0.1, what="the flag")
    assert time.monotonic() - changed <= 5.5
