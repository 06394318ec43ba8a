"""Django settings for Loupan.

Every setting that differs between a developer's laptop, the test run and a production
sales office comes from an environment variable with a safe development default
(see `.env.example`). Production (`LOUPAN_ENV=production`) refuses to start on the
default secret key.
"""

import os
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

PACKAGE_DIR = Path(__file__).resolve().parent
# The working directory holds var/ (SQLite file, uploads) unless LOUPAN_VAR_DIR says otherwise.
VAR_DIR = Path(os.environ.get("LOUPAN_VAR_DIR", Path.cwd() / "var")).resolve()


def env_bool(name: str, default: bool = False) -> bool:
    return os.environ.get(name, str(default)).strip().lower() in {"1", "true", "yes", "on"}


def env_int(name: str, default: int) -> int:
    return int(os.environ.get(name, default))


LOUPAN_ENV = os.environ.get("LOUPAN_ENV", "development")
PRODUCTION = LOUPAN_ENV == "production"
DEFAULT_SECRET_KEY = "dev-insecure-loupan-secret-key-change-me-in-production-0123456789"
SECRET_KEY = os.environ.get("SECRET_KEY", DEFAULT_SECRET_KEY)
if PRODUCTION and SECRET_KEY == DEFAULT_SECRET_KEY:
    raise ImproperlyConfigured(
        "生产环境必须设置 SECRET_KEY 环境变量 (SECRET_KEY must be set in production)"
    )

# Django's debug pages (the URL list on a 404, tracebacks on a 500) only when asked for:
# everyone else, the demo too, sees the application's own Chinese error pages.
DEBUG = env_bool("LOUPAN_DEBUG", False)
ALLOWED_HOSTS = [
    h for h in os.environ.get("ALLOWED_HOSTS", "127.0.0.1,localhost,testserver").split(",") if h
]
CSRF_TRUSTED_ORIGINS = [o for o in os.environ.get("CSRF_TRUSTED_ORIGINS", "").split(",") if o]

# Demo mode: the demo accounts skip the forced first-login password change only here.
LOUPAN_DEMO = env_bool("LOUPAN_DEMO", False)
LOUPAN_DEMO_PASSWORD = os.environ.get("LOUPAN_DEMO_PASSWORD", "Loupan@2026")

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_htmx",
    "django_bootstrap5",
    "bootstrap",  # django-bootstrap-static: Bootstrap's CSS/JS served from the package
    "axes",
    "loupan.core",
    "loupan.audit",
    "loupan.accounts",
    "loupan.approvals",
    "loupan.signoffs",
    "loupan.inventory",
    "loupan.customers",
    "loupan.deals",
    "loupan.payments",
    "loupan.aftersales",
    "loupan.opening",
    "loupan.reports",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "loupan.core.middleware.RequestContextMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "loupan.accounts.middleware.IdleTimeoutMiddleware",
    "loupan.accounts.middleware.UserLanguageMiddleware",
    "loupan.accounts.middleware.PasswordChangeRequiredMiddleware",
    "loupan.accounts.middleware.CurrentProjectMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "axes.middleware.AxesMiddleware",
    # Last, so that a refused input is answered with everything a page needs (the user,
    # the project, the language) and before any view reads it.
    "loupan.core.middleware.RequestInputMiddleware",
]

ROOT_URLCONF = "loupan.urls"
WSGI_APPLICATION = "loupan.wsgi.application"
ASGI_APPLICATION = "loupan.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [PACKAGE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "loupan.accounts.context_processors.loupan",
            ],
        },
    },
]

# --- database -------------------------------------------------------------------------
# SQLite under var/ by default; DATABASE_URL=postgres://user:pass@host:5432/name for
# PostgreSQL 15+.
DATABASE_URL = os.environ.get("DATABASE_URL", "")
if DATABASE_URL:
    DATABASES = {
        "default": dj_database_url.parse(DATABASE_URL, conn_max_age=env_int("DB_CONN_MAX_AGE", 0))
    }
else:
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": VAR_DIR / "loupan.sqlite3",
            "OPTIONS": {
                # Writers wait for each other instead of failing at once.
                "timeout": 20,
                "transaction_mode": "IMMEDIATE",
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            },
            # In memory unless named: scripts/mutate.sh keeps one test database file
            # between its many pytest runs (``--reuse-db``).
            "TEST": {"NAME": os.environ.get("TEST_DATABASE_NAME") or None},
        }
    }
if DATABASES["default"]["ENGINE"].endswith("postgresql"):
    DATABASES["default"].setdefault("TEST", {})["NAME"] = (
        os.environ.get("TEST_DATABASE_NAME") or None
    )
    # Reports group hundreds of thousands of rows: JIT compiling cost 0.5–1.5 s a query
    # and bought nothing (bench/reports.py); 32 MB keeps their aggregates in memory.
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault(
        "options",
        os.environ.get("LOUPAN_PG_OPTIONS", "-c jit=off -c work_mem=32MB"),
    )

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "accounts.User"

# --- authentication and login security (seed 004 四(三)) ------------------------------
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "loupan.accounts.backends.ProjectRoleBackend",
]
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {
        "NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator",
        "OPTIONS": {"user_attributes": ("username", "real_name", "mobile", "employee_no", "email")},
    },
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": env_int("LOUPAN_PASSWORD_MIN_LENGTH", 10)},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "loupan.accounts.validators.LettersAndDigitsValidator"},
]
# Passwords expire after this many days (0 = never).
LOUPAN_PASSWORD_MAX_AGE_DAYS = env_int("LOUPAN_PASSWORD_MAX_AGE_DAYS", 90)
# Idle sessions end after this many minutes without a request.
LOUPAN_IDLE_TIMEOUT_MINUTES = env_int("LOUPAN_IDLE_TIMEOUT_MINUTES", 30)

# Price lists (issue Inventory): the sales manager may approve a list whose largest price
# change is within this many percent; beyond it only the director may.
LOUPAN_PRICE_MANAGER_MAX_CHANGE_PCT = Decimal(
    os.environ.get("LOUPAN_PRICE_MANAGER_MAX_CHANGE_PCT", "5")
)

# Customers (seed 002): ownership lasts this many days after the owner's last follow-up;
# the owner is warned this many days before; at least this many follow-ups after a visit.
LOUPAN_OWNERSHIP_DAYS = env_int("LOUPAN_OWNERSHIP_DAYS", 30)
LOUPAN_OWNERSHIP_WARN_DAYS = env_int("LOUPAN_OWNERSHIP_WARN_DAYS", 5)
LOUPAN_MIN_FOLLOW_UPS = env_int("LOUPAN_MIN_FOLLOW_UPS", 3)
# A prospect who never bought is anonymized this many days after their last contact
# (PIPL: keep personal data no longer than needed); 0 keeps them until erased on request.
LOUPAN_RETENTION_DAYS = env_int("LOUPAN_RETENTION_DAYS", 1095)

# Deals (seed 002 万科 1(5)): approvals climb this chain of role codes one level at a
# time; each role may grant this total discount (% of the list price) on its own unless
# the project sets its own (DiscountAuthority). Selling below the floor price needs the
# top of the chain.
# The model every page and permission is scoped by (core names no app; see core.pages).
LOUPAN_PROJECT_MODEL = "inventory.Project"
# the company a project belongs to (its ``company``): the scope of company-wide code-list
# entries (core.CodeEntry)
LOUPAN_COMPANY_MODEL = "inventory.Company"
LOUPAN_APPROVAL_CHAIN = ["consultant", "supervisor", "manager", "director"]
LOUPAN_DISCOUNT_AUTHORITY = {"consultant": 1, "supervisor": 2, "manager": 3, "director": 5}
# Exchange, rename and cancellation are approved by the site manager or above (seed 000).
LOUPAN_CHANGE_APPROVER = "manager"
# The version of the personal-data consent text shown at registration (PIPL).
LOUPAN_CONSENT_VERSION = os.environ.get("LOUPAN_CONSENT_VERSION", "2026-01")

# Unit import (xlsx): size, rows and the uncompressed size of the zip (zip-bomb guard).
LOUPAN_IMPORT_MAX_BYTES = env_int("LOUPAN_IMPORT_MAX_BYTES", 10 * 1024 * 1024)
LOUPAN_IMPORT_MAX_ROWS = env_int("LOUPAN_IMPORT_MAX_ROWS", 20000)
LOUPAN_IMPORT_MAX_UNCOMPRESSED = env_int("LOUPAN_IMPORT_MAX_UNCOMPRESSED", 200 * 1024 * 1024)
# The check and commit of an import page run in a background thread of the server process
# and report their progress (core.import_jobs); off: they run in the request.
LOUPAN_IMPORT_BACKGROUND = env_bool("LOUPAN_IMPORT_BACKGROUND", True)
# A running import job that has not reported for this many seconds died with its process.
LOUPAN_IMPORT_LOST_AFTER = env_int("LOUPAN_IMPORT_LOST_AFTER", 300)
# Uploaded documents (layout plans, contract scans): maximum size in MB.
LOUPAN_UPLOAD_MAX_MB = env_int("LOUPAN_UPLOAD_MAX_MB", 10)

# django-axes: lock an account after N failures from anywhere, an address alone only after
# many more across accounts (an office behind one NAT survives one person's typos);
# accounts.lockout weighs each against its limit.
AXES_FAILURE_LIMIT = env_int("LOUPAN_LOCKOUT_FAILURES", 5)
LOUPAN_LOCKOUT_ADDRESS_FAILURES = env_int("LOUPAN_LOCKOUT_ADDRESS_FAILURES", 50)
AXES_HANDLER = "loupan.accounts.lockout.OfficeLockoutHandler"
AXES_COOLOFF_TIME = timedelta(minutes=env_int("LOUPAN_LOCKOUT_MINUTES", 15))
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "loupan.accounts.views.lockout_response"
AXES_USERNAME_FORM_FIELD = "username"
AXES_ENABLE_ACCESS_FAILURE_LOG = False
AXES_VERBOSE = False
# One notion of "the client's address" for lockout and the audit trail.
AXES_CLIENT_IP_CALLABLE = "loupan.core.context.client_ip"
# Behind a reverse proxy that sets X-Forwarded-For: LOUPAN_TRUSTED_PROXIES names the
# proxies' addresses or networks (comma-separated, e.g. "127.0.0.1,10.0.0.0/8"); the
# header is read only on a request that comes from one of them, and the client is the
# last address in it that is not a proxy (core.context.client_ip).
LOUPAN_TRUSTED_PROXIES = [
    p.strip() for p in os.environ.get("LOUPAN_TRUSTED_PROXIES", "").split(",") if p.strip()
]
if "LOUPAN_TRUST_X_FORWARDED_FOR" in os.environ:
    # retired: it believed the header's first address from anyone, which any client writes
    raise ImproperlyConfigured(
        "LOUPAN_TRUST_X_FORWARDED_FOR is retired: name the reverse proxies in "
        "LOUPAN_TRUSTED_PROXIES (e.g. LOUPAN_TRUSTED_PROXIES=127.0.0.1) instead."
    )
# Opening day (issue 16): one pick request per buyer, and one per client address without
# an account, per interval (milliseconds; 0 turns the limit off).
LOUPAN_PICK_MIN_INTERVAL_MS = env_int("LOUPAN_PICK_MIN_INTERVAL_MS", 1000)
LOUPAN_PICK_ADDRESS_INTERVAL_MS = env_int("LOUPAN_PICK_ADDRESS_INTERVAL_MS", 1000)
# How old (ms) the picks a worker serves to the phones' live view, and the event a
# buyer's pick is in (live.event_to_pick), may be (0 = read for every request).
LOUPAN_LIVE_CACHE_MS = env_int("LOUPAN_LIVE_CACHE_MS", 250)
# opening day's phones held by push (opening/push.py): the hub's tick, the streams a process holds
LOUPAN_LIVE_PUSH_MS = env_int("LOUPAN_LIVE_PUSH_MS", 500)
LOUPAN_LIVE_STREAMS = env_int("LOUPAN_LIVE_STREAMS", 64)
# who writes a pick's reservation (opening/sealer.py): "inline", the request that picked;
# "background", the process's sealer thread; "process", `loupan seal-picks`, a process of
# its own at a lower CPU priority (opening day: the pick answers at its claim)
LOUPAN_PICK_SEAL = os.environ.get("LOUPAN_PICK_SEAL", "inline")
if LOUPAN_PICK_SEAL not in ("inline", "background", "process"):
    raise ImproperlyConfigured("LOUPAN_PICK_SEAL: inline, background or process")

LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "accounts:login"

SESSION_COOKIE_AGE = 60 * 60 * 12
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_HTTPONLY = False

# --- i18n: Chinese by default, English per user ----------------------------------------
LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
LOCALE_PATHS = [PACKAGE_DIR / "locale"]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

# --- static files: everything served locally (closed networks) ------------------------
STATIC_URL = "/static/"
STATIC_ROOT = Path(os.environ.get("STATIC_ROOT", VAR_DIR / "static"))
if not PRODUCTION:
    STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # whitenoise warns about a missing root
STATICFILES_DIRS = [PACKAGE_DIR / "static"]
# Outside production whitenoise serves the files where they lie (no collectstatic for the
# demo), whether or not DEBUG is on.
WHITENOISE_USE_FINDERS = not PRODUCTION
WHITENOISE_AUTOREFRESH = not PRODUCTION
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if PRODUCTION
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}
# Uploads (contract scans, plans) live outside the web root and are served by views
# that check permission.
MEDIA_ROOT = Path(os.environ.get("MEDIA_ROOT", VAR_DIR / "media"))

# Mail: the scheduled reports go to the recipients a manager sets, when an SMTP server is
# named (EMAIL_HOST); without one they are only written to LOUPAN_REPORTS_DIR.
EMAIL_HOST = os.environ.get("EMAIL_HOST", "")
EMAIL_PORT = env_int("EMAIL_PORT", 25)
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS")
EMAIL_USE_SSL = env_bool("EMAIL_USE_SSL")
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 30)
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "loupan@localhost")
LOUPAN_REPORTS_DIR = Path(os.environ.get("LOUPAN_REPORTS_DIR", VAR_DIR / "reports"))
LOUPAN_REPORTS_MAIL = (
    env_bool("LOUPAN_REPORTS_MAIL") if "LOUPAN_REPORTS_MAIL" in os.environ else None
)

# --- REST API --------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": [
        "loupan.core.api_permissions.IsAuthenticatedWithCurrentPassword"
    ],
    "DEFAULT_FILTER_BACKENDS": ["loupan.core.api_classes.FilterBackend"],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_SCHEMA_CLASS": "loupan.core.api.AutoSchema",
    "EXCEPTION_HANDLER": "loupan.core.api.exception_handler",
    "DEFAULT_METADATA_CLASS": "loupan.core.api_classes.Metadata",
    "COERCE_DECIMAL_TO_STRING": True,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Loupan 楼盘 API",
    "DESCRIPTION": "售楼处销售管理系统 REST API。认证：POST /api/v1/auth/token/ 取得 token，"
    "请求头 `Authorization: Token <token>`。错误统一为 "
    '`{"code": "...", "message": "中文说明", "fields": {"字段": ["原因"]}}`。',
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {
        "PricingBasisEnum": "loupan.inventory.models.PricingBasis",
        "UnitStatusEnum": "loupan.inventory.models.UnitStatus",
        "PriceListStatusEnum": "loupan.inventory.models.PriceListStatus",
        "ProjectStatusEnum": "loupan.inventory.models.ProjectStatus",
        "DealStatusEnum": "loupan.deals.models.DealStatus",
        "ApprovalStatusEnum": "loupan.approvals.models.ApprovalStatus",
        "ApprovalKindEnum": "loupan.deals.models.ApprovalKind",
        "DiscountKindEnum": "loupan.deals.models.DiscountKind",
        "PaymentMethodEnum": "loupan.deals.models.PaymentMethod",
        "FilingStatusEnum": "loupan.deals.models.FilingStatus",
        "ChangeKindEnum": "loupan.deals.models.ChangeKind",
        "PriceListKindEnum": "loupan.inventory.models.PriceListKind",
        "HandoverModeEnum": "loupan.customers.models.HandoverMode",
        "PostEnum": "loupan.customers.models.Post",
        "CancelReasonEnum": "loupan.deals.models.CancelReason",
        "DepositTreatmentEnum": "loupan.deals.models.DepositTreatment",
        "DisputeStatusEnum": "loupan.deals.models.DisputeStatus",
        "LedgerEntryKindEnum": "loupan.payments.models.EntryKind",
        "ScheduleItemKindEnum": "loupan.payments.models.ItemKind",
        "MoneyMethodEnum": "loupan.payments.models.Method",
        "ReceivedMethodEnum": "loupan.payments.models.RECEIVED_METHOD_CHOICES",
        "CollectionChannelEnum": "loupan.payments.models.Channel",
    },
}

# --- production hardening (check --deploy clean when LOUPAN_ENV=production) -----------
if PRODUCTION:
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "WARNING")},
    "loggers": {"axes": {"level": "ERROR"}},
}

MESSAGE_TAGS = {40: "danger"}
DATE_FORMAT = "Y-m-d"
DATETIME_FORMAT = "Y-m-d H:i"
SHORT_DATETIME_FORMAT = "Y-m-d H:i"
BOOTSTRAP5 = {"set_placeholder": False, "success_css_class": "", "server_side_validation": True}
