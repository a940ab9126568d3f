"""Settings for the test suite: the hub's own, with test-only secrets and plain HTTP.

Against the embedded services when no DATABASE_URL is set; in CI against the machine's
PostgreSQL and Redis. The Celery queue is unique per run so that a demo worker on the same
Redis never takes the tests' tasks.
"""

import os
import tempfile
import uuid

os.environ.setdefault("HUB_HTTPS", "false")
os.environ.setdefault("HUB_DEMO", "false")
# Files the tests store go to a folder of this run's, shared with its worker processes.
os.environ.setdefault("HUB_FILES_DIR", tempfile.mkdtemp(prefix="hub-test-files-"))
os.environ.setdefault("HUB_CELERY_QUEUE", f"hub-test-{uuid.uuid4().hex[:12]}")
# Audit checkpoints likewise; a test that verifies the trail reads a folder of its own.
os.environ.setdefault("HUB_AUDIT_ANCHOR_DIR", tempfile.mkdtemp(prefix="hub-test-anchor-"))
if os.environ.get("DATABASE_URL"):
    os.environ.setdefault("DJANGO_SECRET_KEY", "test-secret-key-not-for-production-" + "x" * 20)
    os.environ.setdefault("HUB_MASTER_KEY", "dGVzdC1vbmx5LW1hc3Rlci1rZXktMzItYnl0ZXMtISE=")
    os.environ.setdefault("HUB_PERTURBATION_KEY", "dGVzdC1vbmx5LXBlcnR1cmJhdGlvbi1rZXktMzJiISE=")
    os.environ.setdefault("HUB_AUDIT_SIGNING_KEY", "dGVzdC1vbmx5LWF1ZGl0LXNpZ25pbmcta2V5LTMyYiE=")
    os.environ.setdefault("HUB_SITE_URL", "http://testserver")

from hub.settings import *  # noqa: E402, F403

# Two runs of the suite on one server (a developer's and a hook's) need databases of their own.
DATABASES["default"]["TEST"] = {  # noqa: F405
    "NAME": os.environ.get("HUB_TEST_DATABASE", f"test_{DATABASES['default']['NAME']}")  # noqa: F405
}
# Mail goes to files, so that tests can read what a worker process sent.
EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
EMAIL_FILE_PATH = HUB_FILES_DIR / "mail"  # noqa: F405
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
# Counters kept in the cache (password-reset limits) start afresh with each run.
CACHES["default"]["KEY_PREFIX"] = os.environ["HUB_CELERY_QUEUE"]  # noqa: F405
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
