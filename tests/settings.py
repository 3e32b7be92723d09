"""Test settings: the real settings, with Redis on a database of its own per test process.

Each pytest-xdist worker (gw0, gw1, …) gets its own Redis database counting down from 15 (or
from TDP_TEST_REDIS_DB), so parallel tests never see each other's queues, and the development
database 0 is never touched.
"""

import os

from tdp.settings import *  # noqa: F403
from tdp.settings import REDIS_URL

_worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
# TDP_TEST_REDIS_DB moves the range (e.g. 7 → databases 7, 6, …) so two test runs on one
# machine don't flush each other's queues.
_base = int(os.environ.get("TDP_TEST_REDIS_DB", "15"))
_db = _base - int(_worker.removeprefix("gw") or 0) % 8
REDIS_URL = REDIS_URL.rsplit("/", 1)[0] + f"/{_db}"
RQ_QUEUES = {
    name: {**config, "URL": REDIS_URL}
    for name, config in RQ_QUEUES.items()  # noqa: F405
}
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # fast logins in tests
SECURE_SSL_REDIRECT = False
SESSION_COOKIE_SECURE = False
CSRF_COOKIE_SECURE = False
STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # noqa: F405  WhiteNoise warns when it is missing
