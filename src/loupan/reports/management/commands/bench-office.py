"""``loupan bench-office``: add a large sales office's history to a project, fast, for
the report benchmarks (issue 15: "On 1,000,000 customers, 5,000,000 follow-ups, 50,000
deals and their payments on PostgreSQL, each report answers in under one second").

    loupan bench-office                              # CHW: 1,000,000 customers … (minutes)
    loupan bench-office --customers 20000 --follow-ups 100000 --deals 2000

What it adds to the project (``--project``, the demo's CHW by default), spread over the
last ``--months`` months, consistent with the rules the services keep:

* consultants: the team is topped up to ``--consultants`` (bench accounts that cannot log
  in), so that one consultant's figures are a realistic share of the office's;
* customers with distinct E.164 numbers (+8613…), ``phone_tail``, name and pinyin
  initials, a channel of the project, the registering consultant, the buyer-analysis
  answers from small vocabularies (some left blank); ownership runs
  ``LOUPAN_OWNERSHIP_DAYS`` after the last follow-up, so a customer nobody followed up
  is in the public pool (no owner), as ``pool_expire`` would have left them;
* follow-ups (most soon after registration), first and returning visits, calls (one per
  customer registered by phone, the rest anonymous, a few peer research calls);
* buildings and units enough for the deals (one deal per unit, the rest available or not
  released), with their status history;
* deals: expired and released reservations, live reservations of the last day, deals
  waiting for the deposit, subscriptions, contracts (filed, scanned) and cancellations
  with their ``Cancellation``, approved request and ``DealChange``; numbers (BL, RG, HT,
  SJ) continue the project's gapless counters; ``DealUnit`` rows are live exactly for
  the live deals (the one-live-deal-per-unit index), ``DealBuyer`` rows (some with a
  co-buyer) and the discount step;
* money: the schedule of each confirmed deal by its payment method, receipts and ledger
  entries (deposits, down payments, instalments, loan disbursements, refunds of
  cancellations, a few red entries), mortgages with their stage history, open and
  settled arrears with collection records, and every past day closed (``DayClose``), so
  the ledger is as an office that closes its days leaves it (a day already closed is
  reopened for the added history and closed again with its sheet recomputed);
* the monthly targets and channel spend of the reports.

It writes with ``INSERT … SELECT`` over ``generate_series`` (ids are reserved from the
sequences so that rows can name each other without a lookup), in one transaction, then
``VACUUM ANALYZE``s what it touched. As a superuser (``scripts/pg.sh``'s role) it loads
with the triggers off for that transaction (``session_replication_role = replica``: the
row-by-row foreign-key checks Django defers to the commit take minutes at this size) and
checks every foreign key of the tables it wrote with one anti-join each before it
commits; as another role it leaves the triggers on and waits for the commit. Closed days
are reopened for the added history and closed again (the ledger's trigger would refuse
the entries). PostgreSQL only: on SQLite it refuses (use ``loupan demo`` for a small
office there). Nothing here is a business action: no audit entries are written for the
generated rows.
"""

from __future__ import annotations

import datetime
import json
import math
import re
import time
from contextlib import contextmanager

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.core.management.base import BaseCommand, CommandError
from django.db import connection, models, transaction
from django.db.models import F
from django.utils import timezone

from loupan.accounts.models import Membership, Role, User
from loupan.approvals.models import ApprovalRequest
from loupan.core.identity import pinyin_initials
from loupan.core.models import DocumentCounter
from loupan.customers import numbers, traffic, visitors
from loupan.customers.demo import DEMO_CHANNELS, GIVEN, SURNAMES
from loupan.customers.models import (
    CallRecord,
    Channel,
    Customer,
    DailyTraffic,
    FollowUp,
    Visit,
    VisitorPeriod,
    VisitorProfile,
)
from loupan.deals.models import (
    Cancellation,
    CancelReason,
    Deal,
    DealBuyer,
    DealChange,
    DealDiscount,
    DealUnit,
    DiscountType,
)
from loupan.inventory.models import (
    Building,
    Phase,
    PresalePermit,
    Project,
    Unit,
    UnitStatusChange,
)
from loupan.payments.models import (
    Arrear,
    CollectionRecord,
    DayClose,
    EntryKind,
    LedgerEntry,
    Method,
    Mortgage,
    MortgageEvent,
    PaymentSettings,
    Receipt,
    ScheduleItem,
)
from loupan.payments.mortgages import default_documents
from loupan.reports.models import ChannelSpend, Target

# --- vocabularies (weighted by repetition) ------------------------------------------------

OCCUPATIONS = ["企业职员"] * 4 + ["公务员", "教师", "医生", "私营业主", "私营业主", "IT 工程师"]
OCCUPATIONS += ["金融从业", "自由职业", "退休", ""]
INCOME_BANDS = ["10万以下", "10-20万", "10-20万", "20-50万", "20-50万", "50万以上", ""]
EDUCATIONS = ["junior", "senior", "college", "bachelor", "bachelor", "bachelor", "master", ""]
DISTRICTS = ["高新区", "武侯区", "锦江区", "青羊区", "成华区", "金牛区", "双流区", "天府新区"]
DISTRICTS += ["郫都区", "温江区", ""]
MOTIVES = ["首次置业", "改善居住", "改善居住", "子女教育", "投资保值", "父母养老", "结婚用房", ""]
AGE_BANDS = ["25岁以下", "25-30岁", "30-40岁", "30-40岁", "40-50岁", "50岁以上", ""]
PURPOSES = ["home", "home", "home", "upgrade", "upgrade", "investment", ""]
TIMINGS = ["一个月内", "三个月内", "半年内", "一年内", "不确定", ""]
WANTED_AREAS = ["90㎡左右", "100-120㎡", "120-140㎡", "140㎡以上", ""]
FLOORS = ["低层", "中层", "高层", "不限", ""]
FOLLOW_WAYS = ["phone"] * 9 + ["wechat"] * 6 + ["visit"] * 3 + ["sms", "home"]
FOLLOW_CONTENTS = [
    "介绍二期洋房",
    "约周末看样板间",
    "客户关注学区",
    "询问首付比例",
    "比较竞品价格",
    "推荐高楼层景观房",
    "告知开盘优惠",
    "解答贷款政策",
    "邀请参加暖场活动",
    "回访看房感受",
]
REACTIONS = ["有兴趣", "考虑中", "嫌价格高", "等开盘", "需与家人商量", "暂无需求", ""]
NEXT_STEPS = ["再次邀约到访", "发送户型图", "电话回访", "约签认购", "推荐特价房", ""]
QUESTIONS = [
    "价格多少",
    "首付比例",
    "有没有优惠",
    "什么时候交房",
    "学区划分",
    "车位配比",
    "物业费多少",
    "得房率",
    "周边配套",
    "",
]
COMPANIONS = ["", "", "", "配偶", "父母", "朋友", "子女"]
COMPETITORS = ["万科·城市花园", "龙湖·天街", "保利·和光", "华润·置地"]
BANKS = ["中国工商银行", "中国建设银行", "招商银行", "中国农业银行", "中国银行", "交通银行"]
COLLECTION_NOTES = [
    "客户称下周补齐",
    "资金周转中，月底前付清",
    "已发催款函",
    "电话未接通，短信提醒",
]
CANCEL_DETAILS = {
    "loan": "银行拒贷，客户无力一次性付款",
    "funds": "客户资金周转困难",
    "price": "客户认为价格偏高",
    "product": "对楼层与户型不满意",
    "personal": "工作调动离开本市",
    "policy": "受限购政策影响",
    "competitor": "客户选择其他楼盘",
    "seller": "交付时间延后，出卖人同意解约",
    "other": "其他原因",
}
# payment methods and how often each is chosen
METHODS = ["commercial"] * 9 + ["combined"] * 2 + ["provident"] * 2 + ["one_off"] * 4
METHODS += ["instalments"] * 3
RECEIVED = ["transfer"] * 5 + ["pos"] * 3 + ["cheque", "cash"]
DEPOSIT_METHODS = ["pos", "pos", "transfer", "transfer", "cash"]
# units: a tower of 33 floors, 2 stairs, 4 homes per floor per stair
FLOORS_ABOVE, STAIRS, PER_FLOOR = 33, 2, 4
FALLBACK_AREAS = [
    ("89.36", "71.20"),
    ("118.52", "95.10"),
    ("128.70", "103.00"),
    ("143.20", "115.40"),
]

MULTIPLIER = 387_420_489  # 3**18: coprime with 10**9, spreads the generated numbers


class Command(BaseCommand):
    help = (
        "为报表基准测试生成大型售楼处历史数据（仅 PostgreSQL）Add a large office's history "
        "(customers, follow-ups, visits, calls, units, deals, money) to a project, in bulk."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--project", default="CHW", help="project code (default CHW, the demo's)"
        )
        parser.add_argument("--customers", type=int, default=1_000_000)
        parser.add_argument("--follow-ups", type=int, default=5_000_000, dest="follow_ups")
        parser.add_argument("--deals", type=int, default=50_000)
        parser.add_argument("--calls", type=int, default=None, help="default: customers / 2")
        parser.add_argument("--visits", type=int, default=None, help="default: = customers")
        parser.add_argument("--months", type=int, default=24)
        parser.add_argument(
            "--consultants",
            type=int,
            default=20,
            help="top the project's consultants up to this many (0: keep the team as it is)",
        )
        parser.add_argument("--seed", type=float, default=0.2026, help="random seed, -1..1")
        parser.add_argument(
            "--no-vacuum", action="store_true", help="skip VACUUM ANALYZE at the end"
        )

    def handle(self, *args, **options):
        if connection.vendor != "postgresql":
            raise CommandError(
                "bench-office 只支持 PostgreSQL：请设置 DATABASE_URL。"
                "bench-office needs PostgreSQL (set DATABASE_URL); on SQLite use `loupan demo`."
            )
        project = Project.objects.filter(code=options["project"]).first()
        if project is None:
            raise CommandError(
                f"没有项目 {options['project']}（先运行 loupan demo）"
                f" / no project {options['project']!r}: run `loupan demo` first"
            )
        customers = options["customers"]
        if customers < 1 or options["deals"] < 0 or options["follow_ups"] < 0:
            raise CommandError("--customers must be positive, the other sizes not negative")
        if options["deals"] < 1:
            raise CommandError("--deals must be at least 1")
        if options["deals"] > customers:
            raise CommandError("--deals cannot exceed --customers (one buyer per deal)")
        if not 1 <= options["months"] <= 36:
            raise CommandError("--months must be 1 to 36")
        if customers > 14_000_000:
            raise CommandError("--customers: at most 14,000,000")
        generator = OfficeGenerator(
            project,
            customers=customers,
            follow_ups=options["follow_ups"],
            deals=options["deals"],
            calls=customers // 2 if options["calls"] is None else options["calls"],
            visits=customers if options["visits"] is None else options["visits"],
            months=options["months"],
            consultants=options["consultants"],
            seed=options["seed"],
            out=self.stdout,
        )
        started = time.perf_counter()
        counts = generator.run(vacuum=not options["no_vacuum"])
        seconds = time.perf_counter() - started
        summary = ", ".join(f"{k} {v:,}" for k, v in counts.items())
        self.stdout.write(f"bench-office {project.code}: {summary}")
        self.stdout.write(f"bench-office total {seconds:.1f} s")


class OfficeGenerator:
    """One run: plans the rows in temporary tables, then inserts them table by table."""

    def __init__(
        self,
        project,
        *,
        customers,
        follow_ups,
        deals,
        calls,
        visits,
        months,
        consultants,
        seed,
        out,
    ):
        self.project = project
        self.n = customers
        self.f = follow_ups
        self.d = deals
        self.calls = calls
        self.visits = visits
        self.months = months
        self.consultants_wanted = consultants
        self.seed = max(-1.0, min(1.0, seed))
        self.out = out
        self.now = timezone.now()
        self.today = timezone.localdate()
        self.start = self.today - datetime.timedelta(days=round(months * 30.44))
        self.counts: dict[str, int] = {}
        self.inserted: list = []
        tz = settings.TIME_ZONE
        if not re.fullmatch(r"[A-Za-z0-9_/+\-]+", tz):
            raise CommandError(f"unexpected TIME_ZONE {tz!r}")
        self.tz = tz

    # --- plumbing -------------------------------------------------------------------------

    @contextmanager
    def step(self, label):
        started = time.perf_counter()
        yield
        self.out.write(f"  {label:<44}{time.perf_counter() - started:>7.1f} s")

    def sql(self, sql, params=None):
        with connection.cursor() as cur:
            cur.execute(sql, self.params(params))
            return cur.rowcount

    def value(self, sql, params=None):
        with connection.cursor() as cur:
            cur.execute(sql, self.params(params))
            return cur.fetchone()[0]

    def params(self, extra=None):
        return {
            "project": self.project.pk,
            "code": self.project.code,
            "now": self.now,
            "today": self.today,
            "start": self.start,
            **(extra or {}),
        }

    def reserve(self, model, count: int) -> int:
        """The first of ``count`` ids taken from ``model``'s sequence (the rows are then
        inserted with ids base … base + count - 1)."""
        table = model._meta.db_table
        with connection.cursor() as cur:
            cur.execute("SELECT pg_get_serial_sequence(%s, 'id')", [table])
            seq = cur.fetchone()[0]
            cur.execute("SELECT nextval(%s)", [seq])
            base = cur.fetchone()[0]
            if count > 1:
                cur.execute("SELECT setval(%s, %s)", [seq, base + count - 1])
        return base

    def counter(self, kind: str, count: int) -> int:
        """Take ``count`` numbers of the project's gapless counter ``kind``; the last one
        before them (the rows get last + 1 … last + count)."""
        row, _created = DocumentCounter.objects.get_or_create(scope=self.project.pk, kind=kind)
        row = DocumentCounter.objects.select_for_update().get(pk=row.pk)
        last = row.last
        DocumentCounter.objects.filter(pk=row.pk).update(last=F("last") + count)
        return last

    def insert(self, model, values: dict[str, str], tail: str, params=None, label=None) -> int:
        """``INSERT INTO <model> (…) SELECT <values> <tail>``: ``values`` maps columns to
        SQL expressions; every other column gets its field's default (``now`` for
        ``auto_now``, '' for a blank text, NULL when nullable). A column without any of
        them is an error, so a new required field is noticed here, not in the data."""
        params = dict(params or {})
        columns, exprs = [], []
        known = set()
        for field in model._meta.concrete_fields:
            column = field.column
            known.add(column)
            if column in values:
                expr = values[column]
            elif field.primary_key:
                continue
            elif getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
                expr = "%(now)s" if isinstance(field, models.DateTimeField) else "%(today)s"
            elif field.has_default():
                key = f"_default_{column}"
                default = field.get_default()
                if isinstance(field, models.JSONField):
                    params[key] = json.dumps(default)
                    expr = f"%({key})s::jsonb"
                else:
                    params[key] = default
                    expr = f"%({key})s"
            elif field.null:
                expr = "NULL"
            elif field.blank and isinstance(field, (models.CharField, models.TextField)):
                expr = "''"
            elif isinstance(field, models.FileField) and field.blank:
                expr = "''"
            else:
                raise CommandError(f"{model.__name__}.{field.name}: no value for a required column")
            columns.append(column)
            exprs.append(expr)
        unknown = set(values) - known
        if unknown:
            raise CommandError(f"{model.__name__}: unknown columns {sorted(unknown)}")
        sql = (
            f"INSERT INTO {model._meta.db_table} ({', '.join(columns)})\n"
            f"SELECT {', '.join(exprs)}\n{tail}"
        )
        rows = self.sql(sql, params)
        if model not in self.inserted:
            self.inserted.append(model)
        name = label or model._meta.db_table
        self.counts[name] = self.counts.get(name, 0) + rows
        return rows

    # --- the run --------------------------------------------------------------------------

    def run(self, *, vacuum=True) -> dict:
        self.out.write(
            f"bench-office {self.project.code}: {self.n:,} customers, {self.f:,} follow-ups, "
            f"{self.visits:,} visits, {self.calls:,} calls, {self.d:,} deals over "
            f"{self.months} months ({self.start} – {self.today})"
        )
        with transaction.atomic():
            self.sql("SET LOCAL work_mem = '256MB'")
            self.sql("SET LOCAL synchronous_commit = off")
            self.sql("SELECT setseed(%(seed)s)", {"seed": self.seed})
            # Django's foreign keys are checked at the commit, row by row: two minutes on
            # ten million rows. A superuser loads with the triggers off (replica mode, this
            # transaction only) and checks every reference afterwards in one anti-join per
            # foreign key (verify); anyone else waits for the commit.
            bulk = self.value("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
            if bulk:
                self.sql("SET LOCAL session_replication_role = replica")
            with self.step("people, channels, layouts"):
                self.setup()
            with self.step("plan: customers"):
                self.plan_customers()
            with self.step("plan: follow-ups"):
                self.plan_follow_ups()
            with self.step("buildings and units"):
                self.plan_units()
                self.plan_deals()
                self.insert_units()
            with self.step("customers"):
                self.insert_customers()
            with self.step("deals, buyers, cancellations"):
                self.insert_deals()
            with self.step("schedules, receipts, ledger"):
                self.plan_money()
                self.insert_money()
            with self.step("mortgages, arrears, day closes"):
                self.insert_mortgages()
                self.insert_arrears()
                self.insert_day_closes()
            with self.step("follow-ups"):
                self.insert_follow_ups()
            with self.step("visits and calls"):
                self.insert_visits()
                self.insert_calls()
            with self.step("targets and channel spend"):
                self.insert_targets()
            if bulk:
                # the triggers that keep the daily traffic and the numbers were off
                with self.step("daily traffic, first contacts, visitors, numbers"):
                    traffic.rebuild(self.project.pk)
                    visitors.rebuild(self.project.pk)
                    numbers.rebuild(self.project.pk)
            if bulk:
                with self.step("verify the foreign keys"):
                    self.verify()
            committing = time.perf_counter()
        label = "commit" if bulk else "commit (foreign-key checks)"
        self.out.write(f"  {label:<44}{time.perf_counter() - committing:>7.1f} s")
        if vacuum:
            with self.step("VACUUM ANALYZE"):
                self.vacuum()
        return self.counts

    # --- people ---------------------------------------------------------------------------

    def setup(self):
        project = self.project
        self.sql(
            f"""
            CREATE OR REPLACE FUNCTION pg_temp.office(d date) RETURNS timestamptz LANGUAGE sql VOLATILE AS
            $$ SELECT ((d + time '09:00') + random() * interval '9 hours')
                      AT TIME ZONE '{self.tz}' $$;
            CREATE OR REPLACE FUNCTION pg_temp.lday(t timestamptz) RETURNS date LANGUAGE sql STABLE AS
            $$ SELECT (t AT TIME ZONE '{self.tz}')::date $$;
            CREATE OR REPLACE FUNCTION pg_temp.pick(a text[]) RETURNS text LANGUAGE sql VOLATILE AS
            $$ SELECT a[1 + floor(random() * cardinality(a))::int] $$;
            CREATE OR REPLACE FUNCTION pg_temp.docno(prefix text, code text, n bigint) RETURNS text
            LANGUAGE sql IMMUTABLE AS
            $$ SELECT prefix || '-' || code || '-'
                      || CASE WHEN n < 1000000 THEN lpad(n::text, 6, '0') ELSE n::text END $$;
            CREATE OR REPLACE FUNCTION pg_temp.gb11643(body text) RETURNS text LANGUAGE sql IMMUTABLE AS
            $$ SELECT body || substr('10X98765432', 1 + mod(sum(substr(body, k, 1)::int
                      * (ARRAY[7,9,10,5,8,4,2,1,6,3,7,9,10,5,8,4,2])[k]), 11)::int, 1)
               FROM generate_series(1, 17) k $$;
            """
        )
        consultant_role = Role.objects.filter(code="consultant").first()
        if consultant_role is None:
            raise CommandError("no consultant role: run `loupan migrate` first")

        def members(code):
            return list(
                User.objects.filter(
                    memberships__project=project, memberships__role__code=code, is_active=True
                )
                .distinct()
                .order_by("pk")
            )

        consultants = members("consultant")
        missing = self.consultants_wanted - len(consultants)
        if missing > 0:
            taken = set(User.objects.values_list("username", flat=True))
            new = []
            i = 0
            while len(new) < missing:
                i += 1
                username = f"bench_{project.code.lower()}_{i:02d}"
                if username in taken:
                    continue
                user = User(
                    username=username,
                    real_name=SURNAMES[i % len(SURNAMES)] + "顾问" + f"{i:02d}",
                    employee_no=f"BX{i:04d}",
                    must_change_password=False,
                )
                user.set_unusable_password()
                new.append(user)
            User.objects.bulk_create(new)
            new = list(User.objects.filter(username__in=[u.username for u in new]))
            Membership.objects.bulk_create(
                [Membership(user=u, project=project, role=consultant_role) for u in new]
            )
            self.counts["consultants added"] = len(new)
            consultants = members("consultant")
        if not consultants:
            raise CommandError(f"项目 {project.code} 没有置业顾问 / the project has no consultant")
        lead = members("manager") or members("director") or consultants
        finance = members("finance") or lead
        admin = members("sales_admin") or lead
        self.consultant_ids = [u.pk for u in consultants]
        self.manager_id, self.finance_id, self.admin_id = lead[0].pk, finance[0].pk, admin[0].pk
        planner = members("planner") or lead
        self.planner_id = planner[0].pk

        channels = list(Channel.objects.filter(project=project, is_active=True).order_by("pk"))
        if not channels:
            Channel.objects.bulk_create(
                [
                    Channel(project=project, name=n, sort_order=i)
                    for i, n in enumerate(DEMO_CHANNELS)
                ]
            )
            channels = list(Channel.objects.filter(project=project).order_by("pk"))
        self.channel_ids = [c.pk for c in channels]
        names, initials = [], []
        for surname in SURNAMES:
            for given in GIVEN:
                names.append(surname + given)
                initials.append(pinyin_initials(surname + given))
        self.names, self.initials = names, initials
        self.surnames = list(SURNAMES)
        types = dict(DiscountType.objects.filter(project=project).values_list("name", "pk"))
        self.discount_loan = types.get("按揭付款")
        self.discount_full = types.get("一次性付款")
        self.payment_settings = PaymentSettings.objects.filter(project=project).first()
        # the project's layouts with the areas its homes have
        self.layouts = list(
            Unit.objects.filter(project=project, use="residential", layout__isnull=False)
            .values("layout_id", "layout__name")
            .annotate(
                gross=models.Avg("gross_area"),
                internal=models.Avg("internal_area"),
            )
            .order_by("layout__name")
        )

    # --- customers ------------------------------------------------------------------------

    def plan_customers(self):
        """``bench_cust``: who the customers are (i = 1 … n), when they registered and with
        whom; ``visited`` ones (7 in 10, registered at their first visit) are those with
        mod(i - 1, 10) < 7, the others registered after a call."""
        existing = Customer.objects.filter(project=self.project).count()
        self.cust_offset = existing
        self.cust_base = self.reserve(Customer, self.n)
        span = (self.today - self.start).days
        self.sql(
            """
            CREATE TEMP TABLE bench_cust ON COMMIT DROP AS
            SELECT i, %(base)s + i - 1 AS id, phone, name, initials,
                   (%(consultants)s::bigint[])[1 + mod(i, %(k)s)] AS owner,
                   CASE WHEN random() < 0.04 THEN NULL
                        ELSE (%(channels)s::bigint[])[1 + floor(random() * %(nch)s)::int] END
                        AS channel,
                   reg
            FROM (
                SELECT i, phone, name, initials,
                       CASE WHEN r > %(now)s THEN r - interval '1 day' ELSE r END AS reg
                FROM (
                    SELECT row_number() OVER () AS i, phone,
                           (%(names)s::text[])[1 + x] AS name,
                           (%(initials)s::text[])[1 + x] AS initials,
                           pg_temp.office(%(today)s::date - floor(random() * %(span)s)::int) AS r
                    FROM (
                        SELECT '+8613' || lpad(mod(g * %(mult)s, 1000000000)::text, 9, '0')
                                   AS phone,
                               floor(random() * %(nnames)s)::int AS x
                        FROM generate_series(%(g0)s::bigint, %(g1)s::bigint) g
                    ) cand
                    WHERE NOT EXISTS (
                        SELECT 1 FROM customers_customer c
                        WHERE c.project_id = %(project)s AND c.phone = cand.phone)
                ) numbered
                WHERE i <= %(n)s
            ) timed;
            ALTER TABLE bench_cust ADD PRIMARY KEY (i);
            ANALYZE bench_cust;
            """,
            {
                "base": self.cust_base,
                "consultants": self.consultant_ids,
                "k": len(self.consultant_ids),
                "channels": self.channel_ids,
                "nch": len(self.channel_ids),
                "names": self.names,
                "initials": self.initials,
                "nnames": len(self.names),
                "span": span,
                "mult": MULTIPLIER,
                # past every number an earlier run used, and a few spare for collisions
                "g0": existing + 1,
                "g1": existing + self.n + 1000,
                "n": self.n,
            },
        )
        planned = self.value("SELECT count(*) FROM bench_cust")
        if planned != self.n:
            raise CommandError(f"planned {planned} customers, wanted {self.n}")
        self.visited = 7 * (self.n // 10) + min(self.n % 10, 7)

    def plan_follow_ups(self):
        """``bench_fu``: the follow-ups, by the registering consultant, most within weeks
        of the registration (at most half a year after it); ``bench_last`` the last one
        of each customer (their ``last_follow_up_at``)."""
        self.sql(
            """
            CREATE TEMP TABLE bench_fu ON COMMIT DROP AS
            SELECT c.id AS customer_id, c.owner AS consultant_id,
                   LEAST(%(now)s, GREATEST(c.reg + interval '10 minutes', pg_temp.office(
                       pg_temp.lday(c.reg) + floor(power(random(), 2)
                           * LEAST(180, %(today)s::date - pg_temp.lday(c.reg) + 1))::int)))
                       AS at
            FROM (SELECT 1 + floor(random() * %(n)s)::int AS i
                  FROM generate_series(1, %(f)s)) pick
            JOIN bench_cust c USING (i);
            CREATE TEMP TABLE bench_last ON COMMIT DROP AS
            SELECT customer_id, max(at) AS last FROM bench_fu GROUP BY customer_id;
            ALTER TABLE bench_last ADD PRIMARY KEY (customer_id);
            """,
            {"n": self.n, "f": self.f},
        )

    # --- units and deals ------------------------------------------------------------------

    def plan_units(self):
        """Buildings (towers of 33 floors × 2 stairs × 4 homes) for the deals and a tenth
        more; ``bench_unit`` their homes, u = 1 … units (deal d takes unit d)."""
        per = FLOORS_ABOVE * STAIRS * PER_FLOOR
        units = math.ceil(self.d * 1.1) if self.d else 0
        self.units = units
        self.unit_base = None
        if not units:
            self.sql("CREATE TEMP TABLE bench_unit (u int, id bigint) ON COMMIT DROP")
            return
        count = math.ceil(units / per)
        project = self.project
        phase, _c = Phase.objects.get_or_create(
            project=project, name="扩展期", defaults={"sort_order": 90}
        )
        run = Building.objects.filter(project=project, phase=phase).count() + 1
        permit = PresalePermit.objects.create(
            project=project,
            number=f"蓉预售字第BENCH{project.pk:04d}{run:06d}号",
            issued_on=self.start,
            authority="成都市住房和城乡建设局",
            buildings=f"扩展期 {count} 栋",
        )
        taken = set(Building.objects.filter(project=project).values_list("name", flat=True))
        names, k = [], 0
        while len(names) < count:
            k += 1
            name = f"{k}号楼"
            if name not in taken:
                names.append(name)
        Building.objects.bulk_create(
            [
                Building(
                    project=project,
                    phase=phase,
                    name=name,
                    floors_above=FLOORS_ABOVE,
                    floors_below=2,
                    stairs=STAIRS,
                    units_per_floor=PER_FLOOR,
                    permit=permit,
                    sort_order=100 + i,
                )
                for i, name in enumerate(names)
            ]
        )
        ids = dict(
            Building.objects.filter(project=project, name__in=names).values_list("name", "pk")
        )
        layouts = self.layouts or [
            {"layout_id": None, "layout__name": "", "gross": g, "internal": i}
            for g, i in FALLBACK_AREAS
        ]
        self.unit_base = self.reserve(Unit, units)
        self.sql(
            """
            CREATE TEMP TABLE bench_unit ON COMMIT DROP AS
            SELECT u, %(base)s + u - 1 AS id, building_id, bname, stair, floor, room, layout_id,
                   gross, internal, price, round(gross * price) AS list_price,
                   round(gross * price * 0.95) AS floor_price
            FROM (
                SELECT u, (%(bids)s::bigint[])[1 + b] AS building_id,
                       (%(bnames)s::text[])[1 + b] AS bname,
                       1 + p / %(per_stair)s AS stair,
                       1 + mod(p, %(per_stair)s) / %(per_floor)s AS floor,
                       1 + mod(p, %(per_floor)s) AS room,
                       (%(lids)s::bigint[])[1 + mod(mod(p, %(per_floor)s), %(nl)s)] AS layout_id,
                       (%(gross)s::numeric[])[1 + mod(mod(p, %(per_floor)s), %(nl)s)] AS gross,
                       (%(internal)s::numeric[])[1 + mod(mod(p, %(per_floor)s), %(nl)s)]
                           AS internal,
                       15000 + mod(b * 37, 40) * 100 + (1 + mod(p, %(per_stair)s) / %(per_floor)s)
                           * 50 AS price
                FROM (SELECT u, (u - 1) / %(per)s AS b, mod(u - 1, %(per)s) AS p
                      FROM generate_series(1, %(units)s) u) pos
            ) placed;
            ALTER TABLE bench_unit ADD PRIMARY KEY (u);
            """,
            {
                "base": self.unit_base,
                "bids": [ids[n] for n in names],
                "bnames": names,
                "per": per,
                "per_stair": FLOORS_ABOVE * PER_FLOOR,
                "per_floor": PER_FLOOR,
                "lids": [x["layout_id"] for x in layouts],
                "gross": [round(float(x["gross"]), 2) for x in layouts],
                "internal": [
                    round(float(x["internal"] or float(x["gross"]) * 0.8), 2) for x in layouts
                ],
                "nl": len(layouts),
                "units": units,
            },
        )

    def plan_deals(self):
        """``bench_deal``: deal d takes unit d and a distinct customer (ci), is made by the
        customer's consultant within two months of the registration, and lives its path:
        4% of reservations expire, 4% are released, 7% of subscriptions are cancelled, a
        reservation of the last day is still one (or waits for the deposit), a deal signs
        5–40 days after subscribing unless that is still ahead (8% never sign)."""
        self.deal_base = self.reserve(Deal, self.d) if self.d else 0
        mult = 7_919
        while math.gcd(mult, self.n) != 1:
            mult += 2
        self.sql(
            """
            CREATE TEMP TABLE bench_deal ON COMMIT DROP AS
            SELECT d, %(base)s + d - 1 AS id, u.id AS unit_id, u.bname, u.stair, u.floor, u.room,
                   c.i AS ci, c.id AS customer_id, c.owner AS consultant_id, c.name AS buyer,
                   LEAST(%(now)s - interval '10 minutes', GREATEST(c.reg + interval '30 minutes',
                       pg_temp.office(pg_temp.lday(c.reg) + floor(random()
                           * LEAST(60, %(today)s::date - pg_temp.lday(c.reg) + 1))::int)))
                       AS reserved_at,
                   random() AS r_kind, random() AS r2, random() AS r3, random() AS r4,
                   pg_temp.pick(%(methods)s::text[]) AS payment_method,
                   u.gross AS area, u.price AS unit_price, u.list_price AS list_total,
                   u.floor_price AS floor_total,
                   (ARRAY[0.005, 0.01, 0.01, 0.015, 0.02, 0.03])[1 + floor(random() * 6)::int]
                       AS discount_pct,
                   NULL::text AS status, NULL::timestamptz AS subscribed_at,
                   NULL::timestamptz AS deposit_confirmed_at, NULL::date AS signed_on,
                   NULL::timestamptz AS cancelled_at, NULL::timestamptz AS ended_at,
                   NULL::text AS reservation_number, NULL::text AS number,
                   NULL::text AS contract_number
            FROM generate_series(1, %(d)s) d
            JOIN bench_unit u ON u.u = d
            JOIN bench_cust c ON c.i = 1 + mod((d - 1)::bigint * %(mult)s, %(n)s);
            ALTER TABLE bench_deal ADD PRIMARY KEY (d);
            -- reservations that expired or were released
            UPDATE bench_deal SET
                status = CASE WHEN r_kind < 0.04 THEN 'expired' ELSE 'released' END,
                ended_at = reserved_at + CASE WHEN r_kind < 0.04 THEN interval '24 hours'
                                              ELSE r2 * interval '20 hours' END
            WHERE r_kind < 0.08 AND reserved_at < %(now)s - interval '1 day';
            -- the last day's reservations, some waiting for finance to confirm the deposit
            UPDATE bench_deal SET
                status = CASE WHEN r2 < 0.7 THEN 'reserved' ELSE 'pending' END,
                subscribed_at = CASE WHEN r2 >= 0.7
                    THEN LEAST(%(now)s, reserved_at + r3 * interval '3 hours') END
            WHERE status IS NULL AND reserved_at >= %(now)s - interval '1 day';
            UPDATE bench_deal SET
                subscribed_at = LEAST(%(now)s - interval '5 minutes',
                                      reserved_at + r2 * interval '30 hours')
            WHERE status IS NULL;
            UPDATE bench_deal SET
                deposit_confirmed_at = LEAST(%(now)s, subscribed_at + r3 * interval '4 hours'),
                signed_on = pg_temp.lday(subscribed_at) + 5 + floor(r2 * 35)::int,
                cancelled_at = CASE WHEN r_kind >= 0.08 AND r_kind < 0.15
                    THEN pg_temp.office(pg_temp.lday(subscribed_at) + 7 + floor(r3 * 113)::int)
                    END
            WHERE status IS NULL;
            UPDATE bench_deal SET cancelled_at = NULL
            WHERE cancelled_at > %(now)s - interval '1 hour';
            UPDATE bench_deal SET signed_on = NULL
            WHERE status IS NULL
              AND (signed_on >= %(today)s OR r_kind > 0.92
                   OR (cancelled_at IS NOT NULL AND signed_on >= pg_temp.lday(cancelled_at)));
            UPDATE bench_deal SET
                status = CASE WHEN cancelled_at IS NOT NULL THEN 'cancelled'
                              WHEN signed_on IS NOT NULL THEN 'contracted'
                              ELSE 'subscribed' END,
                ended_at = cancelled_at
            WHERE status IS NULL;
            """,
            {
                "base": self.deal_base,
                "methods": METHODS,
                "d": self.d,
                "mult": mult,
                "n": self.n,
            },
        )
        # the gapless numbers, continuing the project's counters, in the order of events
        for column, kind, prefix, when, order in (
            ("reservation_number", "reservation", "BL", "TRUE", "reserved_at"),
            ("number", "subscription", "RG", "subscribed_at IS NOT NULL", "subscribed_at"),
            ("contract_number", "contract", "HT", "signed_on IS NOT NULL", "signed_on"),
        ):
            count = self.value(f"SELECT count(*) FROM bench_deal WHERE {when}")
            last = self.counter(kind, count)
            self.sql(
                f"""
                UPDATE bench_deal b SET {column} = pg_temp.docno(%(prefix)s, %(code)s,
                                                                 %(last)s + x.rn)
                FROM (SELECT d, row_number() OVER (ORDER BY {order}, d) AS rn
                      FROM bench_deal WHERE {when}) x
                WHERE x.d = b.d
                """,
                {"prefix": prefix, "last": last},
            )
        # money terms: discount, total, deposit and the schedule's amounts and dates
        ps = self.payment_settings
        self.sql(
            """
            ALTER TABLE bench_deal
                ADD COLUMN discount_amount numeric(14, 2), ADD COLUMN total numeric(14, 2),
                ADD COLUMN deposit numeric(14, 2), ADD COLUMN loan_c numeric(14, 2),
                ADD COLUMN loan_p numeric(14, 2), ADD COLUMN sub_day date,
                ADD COLUMN two_buyers boolean;
            UPDATE bench_deal SET
                discount_amount = round(list_total * discount_pct, 2),
                total = list_total - round(list_total * discount_pct, 2),
                deposit = greatest(1000, round(list_total * 0.05 / 1000) * 1000),
                sub_day = pg_temp.lday(subscribed_at),
                two_buyers = r4 < 0.1;
            UPDATE bench_deal SET
                loan_c = CASE payment_method
                    WHEN 'commercial' THEN round(total * 0.65, -4)
                    WHEN 'combined' THEN round(total * 0.65, -4)
                        - LEAST(800000, round(total * 0.3, -4)) END,
                loan_p = CASE payment_method
                    WHEN 'provident' THEN LEAST(1200000, round(total * 0.5, -4))
                    WHEN 'combined' THEN LEAST(800000, round(total * 0.3, -4)) END;
            CREATE TEMP TABLE bench_item ON COMMIT DROP AS
            SELECT %(ibase)s + (b.d - 1) * 3 + s.seq - 1 AS id, b.d, b.id AS deal_id, s.seq,
                   s.kind, s.name, s.amount, s.due
            FROM bench_deal b CROSS JOIN LATERAL (VALUES
                (1, CASE b.payment_method WHEN 'one_off' THEN 'full' ELSE 'down_payment' END,
                    CASE b.payment_method WHEN 'one_off' THEN '全款'
                         WHEN 'instalments' THEN '首期款' ELSE '首付款' END,
                    CASE b.payment_method
                        WHEN 'one_off' THEN b.total
                        WHEN 'instalments' THEN round(b.total * 0.4, 2)
                        ELSE b.total - coalesce(b.loan_c, 0) - coalesce(b.loan_p, 0) END,
                    b.sub_day + CASE b.payment_method WHEN 'one_off' THEN %(full_days)s
                                     ELSE %(down_days)s END),
                (2, CASE b.payment_method WHEN 'instalments' THEN 'instalment'
                         WHEN 'provident' THEN 'provident_loan' ELSE 'commercial_loan' END,
                    CASE b.payment_method WHEN 'instalments' THEN '第2期'
                         WHEN 'provident' THEN '公积金贷款' ELSE '商业贷款' END,
                    CASE b.payment_method
                        WHEN 'instalments' THEN round(b.total * 0.3, 2)
                        WHEN 'provident' THEN b.loan_p
                        ELSE b.loan_c END,
                    b.sub_day + CASE b.payment_method WHEN 'instalments' THEN 120
                                     ELSE %(loan_days)s END),
                (3, CASE b.payment_method WHEN 'instalments' THEN 'instalment'
                         ELSE 'provident_loan' END,
                    CASE b.payment_method WHEN 'instalments' THEN '第3期' ELSE '公积金贷款' END,
                    CASE b.payment_method
                        WHEN 'instalments' THEN b.total - round(b.total * 0.4, 2)
                                                - round(b.total * 0.3, 2)
                        WHEN 'combined' THEN b.loan_p END,
                    b.sub_day + CASE b.payment_method WHEN 'instalments' THEN 240
                                     ELSE %(loan_days)s END)
            ) AS s(seq, kind, name, amount, due)
            WHERE b.deposit_confirmed_at IS NOT NULL AND s.amount IS NOT NULL;
            ALTER TABLE bench_item ADD PRIMARY KEY (id);
            """,
            {
                "ibase": self.reserve(ScheduleItem, 3 * self.d) if self.d else 0,
                "full_days": ps.full_payment_days if ps else 30,
                "down_days": ps.down_payment_days if ps else 30,
                "loan_days": ps.loan_days if ps else 90,
            },
        )

    def insert_units(self):
        if not self.units:
            return
        self.insert(
            Unit,
            {
                "id": "u.id",
                "project_id": "%(project)s",
                "building_id": "u.building_id",
                "stair": "u.stair",
                "floor": "u.floor",
                "room": "lpad(u.room::text, 2, '0')",
                "number": "u.bname || u.stair || '单元' || u.floor || lpad(u.room::text, 2, '0')",
                "layout_id": "u.layout_id",
                "use": "'residential'",
                "gross_area": "u.gross",
                "internal_area": "u.internal",
                "shared_area": "u.gross - u.internal",
                "orientation": "(ARRAY['S', 'SN', 'SN', 'S'])[u.room]",
                "fit_out": "'fine'",
                "pricing_basis": "'gross_area'",
                "unit_price": "u.price",
                "list_price": "u.list_price",
                "floor_price": "u.floor_price",
                "status": """CASE
                    WHEN b.status IN ('reserved', 'pending') THEN 'reserved'
                    WHEN b.status IN ('subscribed', 'contracted') THEN b.status
                    WHEN b.status IS NOT NULL OR mod(u.u, 10) < 7 THEN 'available'
                    ELSE 'not_released' END""",
                "hold_until": """CASE WHEN b.status = 'reserved'
                    THEN b.reserved_at + interval '24 hours' END""",
                "held_by_id": "CASE WHEN b.status = 'reserved' THEN b.consultant_id END",
                "updated_at": "coalesce(b.ended_at, b.deposit_confirmed_at, b.reserved_at, %(now)s)",
            },
            "FROM bench_unit u LEFT JOIN bench_deal b ON b.d = u.u",
        )
        # the status history: released at the start, then each step of the unit's deal
        self.insert(
            UnitStatusChange,
            {
                "unit_id": "x.unit_id",
                "from_status": "x.from_status",
                "to_status": "x.to_status",
                "actor_id": "x.actor",
                "reason": "x.reason",
                "created_at": "x.at",
            },
            """
            FROM (
                SELECT u.id AS unit_id, 'not_released' AS from_status, 'available' AS to_status,
                       %(admin)s::bigint AS actor, '开盘推售' AS reason,
                       pg_temp.office(%(start)s::date) AS at
                FROM bench_unit u LEFT JOIN bench_deal b ON b.d = u.u
                WHERE b.d IS NOT NULL OR mod(u.u, 10) < 7
                UNION ALL
                SELECT b.unit_id, s.f, s.t, s.actor, s.reason, s.at
                FROM bench_deal b CROSS JOIN LATERAL (VALUES
                    ('available', 'reserved', b.consultant_id, '预留', b.reserved_at),
                    ('reserved', 'subscribed', %(finance)s::bigint, '确认定金',
                     b.deposit_confirmed_at),
                    ('subscribed', 'contracted', %(admin)s::bigint, '签约',
                     pg_temp.office(b.signed_on)),
                    ('reserved', 'available', b.consultant_id, '保留单到期或撤销',
                     CASE WHEN b.status IN ('expired', 'released') THEN b.ended_at END),
                    (CASE WHEN b.signed_on IS NULL THEN 'subscribed' ELSE 'contracted' END,
                     'available', %(manager)s::bigint, '退房', b.cancelled_at)
                ) AS s(f, t, actor, reason, at)
                WHERE s.at IS NOT NULL
            ) x
            """,
            {"admin": self.admin_id, "finance": self.finance_id, "manager": self.manager_id},
        )

    def insert_customers(self):
        days = settings.LOUPAN_OWNERSHIP_DAYS
        self.insert(
            Customer,
            {
                "id": "c.id",
                "project_id": "%(project)s",
                "owner_id": "CASE WHEN x.pool THEN NULL ELSE c.owner END",
                "name": "c.name",
                "name_initials": "c.initials",
                # a buyer's as their ID number says (its 17th digit odd: a man)
                "gender": """CASE WHEN x.id_number IS NOT NULL THEN
                        CASE WHEN mod(c.i + %(offset)s, 2) = 1 THEN 'M' ELSE 'F' END
                    ELSE pg_temp.pick(ARRAY['M', 'F', 'M', 'F', '']) END""",
                "age_band": "pg_temp.pick(%(ages)s::text[])",
                "phone": "c.phone",
                "phone_tail": "right(c.phone, 4)",
                "id_number": "coalesce(x.id_number, '')",
                "birth_date": "x.birth",
                "occupation": "pg_temp.pick(%(occupations)s::text[])",
                "income_band": "pg_temp.pick(%(incomes)s::text[])",
                "education": "pg_temp.pick(%(educations)s::text[])",
                "residence_district": "pg_temp.pick(%(districts)s::text[])",
                "work_district": "pg_temp.pick(%(districts)s::text[])",
                "family_size": "CASE WHEN random() < 0.7 THEN 2 + floor(random() * 4)::int END",
                "budget_max": "(ARRAY[120, 150, 180, 220, 300])[1 + floor(random() * 5)::int]",
                "wanted_layout": "pg_temp.pick(%(layouts)s::text[])",
                "wanted_area": "pg_temp.pick(%(areas)s::text[])",
                "floor_preference": "pg_temp.pick(%(floors)s::text[])",
                "purpose": "pg_temp.pick(%(purposes)s::text[])",
                "timing": "pg_temp.pick(%(timings)s::text[])",
                "motive": "pg_temp.pick(%(motives)s::text[])",
                "channel_id": "c.channel",
                "grade": "pg_temp.pick(ARRAY['A', 'B', 'B', 'C', 'C', 'C', 'D', 'D'])",
                "stage": """CASE WHEN x.buyer THEN 'deal'
                    WHEN x.dealt OR mod(c.i - 1, 10) < 7 THEN 'intent' ELSE 'potential' END""",
                "registered_at": "c.reg",
                "registered_by_id": "c.owner",
                "last_follow_up_at": "x.last",
                "ownership_expires_at": "x.last + %(days)s * interval '1 day'",
                "in_pool": "x.pool",
                "consent_at": "c.reg",
                "consent_version": "%(consent)s",
                "updated_at": "x.last",
            },
            """
            FROM bench_cust c
            LEFT JOIN bench_last l ON l.customer_id = c.id
            LEFT JOIN bench_deal b ON b.ci = c.i
            CROSS JOIN LATERAL (
                SELECT coalesce(l.last, c.reg) AS last,
                       coalesce(b.status IN ('subscribed', 'contracted'), false) AS buyer,
                       b.d IS NOT NULL AS dealt,
                       NOT coalesce(b.status IN ('subscribed', 'contracted'), false)
                           AND coalesce(l.last, c.reg) + %(days)s * interval '1 day' <= %(now)s
                           AS pool,
                       CASE WHEN b.deposit_confirmed_at IS NOT NULL THEN
                           pg_temp.gb11643((ARRAY['510104', '510105', '510107', '510108',
                                                  '510112', '510116'])[1 + mod(c.i, 6)]
                               || to_char(date '1960-01-01'
                                          + mod(((c.i + %(offset)s) / 1000) * 7919, 14600)::int, 'YYYYMMDD')
                               || lpad(mod(c.i + %(offset)s, 1000)::text, 3, '0')) END AS id_number,
                       CASE WHEN b.deposit_confirmed_at IS NOT NULL THEN
                           date '1960-01-01' + mod(((c.i + %(offset)s) / 1000) * 7919, 14600)::int END AS birth
            ) x
            """,
            {
                "days": days,
                "offset": self.cust_offset,
                "consent": getattr(settings, "LOUPAN_CONSENT_VERSION", ""),
                "ages": AGE_BANDS,
                "occupations": OCCUPATIONS,
                "incomes": INCOME_BANDS,
                "educations": EDUCATIONS,
                "districts": DISTRICTS,
                "layouts": [x["layout__name"] for x in self.layouts] or ["两室", "三室", "四室"],
                "areas": WANTED_AREAS,
                "floors": FLOORS,
                "purposes": PURPOSES,
                "timings": TIMINGS,
                "motives": MOTIVES,
            },
        )

    def insert_deals(self):
        if not self.d:
            return
        subscribed = "b.subscribed_at IS NOT NULL"
        self.insert(
            Deal,
            {
                "id": "b.id",
                "project_id": "%(project)s",
                "unit_id": "b.unit_id",
                "customer_id": "b.customer_id",
                "consultant_id": "b.consultant_id",
                "status": "b.status",
                "reservation_number": "b.reservation_number",
                "reserved_at": "b.reserved_at",
                "reservation_expires_at": "b.reserved_at + interval '24 hours'",
                "number": "coalesce(b.number, '')",
                "subscribed_at": "b.subscribed_at",
                "pricing_basis": f"CASE WHEN {subscribed} THEN 'gross_area' ELSE '' END",
                "area": f"CASE WHEN {subscribed} THEN b.area END",
                "unit_price": f"CASE WHEN {subscribed} THEN b.unit_price END",
                "list_total": f"CASE WHEN {subscribed} THEN b.list_total END",
                "floor_total": f"CASE WHEN {subscribed} THEN b.floor_total END",
                "discount_amount": f"CASE WHEN {subscribed} THEN b.discount_amount ELSE 0 END",
                "total": f"CASE WHEN {subscribed} THEN b.total END",
                "payment_method": f"CASE WHEN {subscribed} THEN b.payment_method ELSE '' END",
                "down_payment": f"""CASE WHEN {subscribed} AND b.payment_method IN
                    ('commercial', 'provident', 'combined')
                    THEN b.total - coalesce(b.loan_c, 0) - coalesce(b.loan_p, 0) END""",
                "deposit": f"CASE WHEN {subscribed} THEN b.deposit END",
                "signing_deadline": "b.sub_day + 7",
                "deposit_confirmed_at": "b.deposit_confirmed_at",
                "deposit_confirmed_by_id": """CASE WHEN b.deposit_confirmed_at IS NOT NULL
                    THEN %(finance)s::bigint END""",
                "contract_number": "coalesce(b.contract_number, '')",
                "signed_on": "b.signed_on",
                "filing_status": """CASE WHEN b.signed_on IS NULL THEN 'none'
                    WHEN b.r3 < 0.7 THEN 'filed' WHEN b.r3 < 0.9 THEN 'signed' ELSE 'none' END""",
                "filing_number": """CASE WHEN b.signed_on IS NOT NULL AND b.r3 < 0.9
                    THEN 'CD' || to_char(b.signed_on, 'YYYY') || lpad(b.d::text, 6, '0')
                    ELSE '' END""",
                "contract_scanned_at": """CASE WHEN b.signed_on IS NOT NULL AND b.r4 < 0.85
                    THEN LEAST(%(now)s, pg_temp.office(b.signed_on + floor(b.r2 * 5)::int))
                    END""",
                "ended_at": "b.ended_at",
                "end_reason": """CASE b.status WHEN 'expired' THEN '保留单到期'
                    WHEN 'released' THEN '客户改选其他房源'
                    WHEN 'cancelled' THEN '退房' ELSE '' END""",
                "created_by_id": "b.consultant_id",
                "updated_at": "coalesce(b.ended_at, b.deposit_confirmed_at, b.reserved_at)",
            },
            "FROM bench_deal b",
            {"finance": self.finance_id},
        )
        self.insert(
            DealUnit,
            {
                "deal_id": "b.id",
                "unit_id": "b.unit_id",
                "is_main": "true",
                "list_price": "b.list_total",
                "live": "b.status IN ('reserved', 'pending', 'subscribed', 'contracted')",
            },
            "FROM bench_deal b",
        )
        # buyers: the customer (half the home with a co-buyer, the next customer)
        self.insert(
            DealBuyer,
            {
                "deal_id": "b.id",
                "customer_id": "x.customer_id",
                "share": "CASE WHEN b.two_buyers THEN 50 ELSE 100 END",
                "sort_order": "x.pos",
            },
            """
            FROM bench_deal b CROSS JOIN LATERAL (
                SELECT b.customer_id, 0 AS pos
                UNION ALL
                SELECT c.id, 1 FROM bench_cust c
                WHERE b.two_buyers AND c.i = 1 + mod(b.ci, %(n)s) AND c.id <> b.customer_id
            ) x
            WHERE b.subscribed_at IS NOT NULL
            """,
            {"n": self.n},
        )
        self.insert(
            DealDiscount,
            {
                "deal_id": "b.id",
                "discount_type_id": """CASE WHEN b.payment_method = 'one_off'
                    THEN %(full)s::bigint ELSE %(loan)s::bigint END""",
                "name": "CASE WHEN b.payment_method = 'one_off' THEN '一次性付款' ELSE '按揭付款' END",
                "kind": "'percent'",
                "value": "b.discount_pct * 100",
                "amount": "b.discount_amount",
                "total_after": "b.total",
                "sort_order": "1",
            },
            "FROM bench_deal b WHERE b.subscribed_at IS NOT NULL",
            {"full": self.discount_full, "loan": self.discount_loan},
        )

    # --- money ----------------------------------------------------------------------------

    def plan_money(self):
        """``bench_pay``: what each confirmed deal paid: the deposit when confirmed; the
        other items on time (85%), late (8%), half (4%) or not yet (3%); loans disbursed
        3–10 weeks after signing; nothing after a cancellation but its refund; a few red
        entries."""
        self.sql(
            """
            CREATE TEMP TABLE bench_pay (
                k bigserial, deal_id bigint, d int, item_id bigint, kind text, purpose text,
                method text, amount numeric(14, 2), paid_on date, reverses bigint,
                id bigint, receipt_id bigint, rk bigint) ON COMMIT DROP;
            INSERT INTO bench_pay (deal_id, d, item_id, kind, purpose, method, amount, paid_on)
            SELECT b.id, b.d, i.id, 'receipt', 'deposit', pg_temp.pick(%(deposit_methods)s::text[]),
                   LEAST(b.deposit, i.amount), pg_temp.lday(b.deposit_confirmed_at)
            FROM bench_deal b JOIN bench_item i ON i.d = b.d AND i.seq = 1;
            INSERT INTO bench_pay (deal_id, d, item_id, kind, purpose, method, amount, paid_on)
            SELECT deal_id, d, item_id, 'receipt', 'price', method, amount, paid_on FROM (
                SELECT i.deal_id, i.d, i.id AS item_id,
                       CASE WHEN i.kind LIKE '%%loan' THEN 'mortgage'
                            ELSE pg_temp.pick(%(methods)s::text[]) END AS method,
                       CASE WHEN i.kind LIKE '%%loan' THEN i.amount
                            WHEN x.r < 0.93 THEN rest
                            WHEN x.r < 0.97 THEN round(rest / 2, 2) END AS amount,
                       CASE WHEN i.kind LIKE '%%loan' THEN
                                CASE WHEN x.r < 0.95 THEN b.signed_on + 20 + floor(x.r2 * 50)::int
                                END
                            WHEN x.r < 0.85 THEN GREATEST(b.sub_day, i.due - floor(x.r2 * 25)::int)
                            WHEN x.r < 0.93 THEN i.due + 3 + floor(x.r2 * 40)::int
                            ELSE GREATEST(b.sub_day, i.due - floor(x.r2 * 10)::int) END AS paid_on,
                       pg_temp.lday(b.cancelled_at) AS cancel_day
                FROM bench_item i JOIN bench_deal b ON b.d = i.d
                CROSS JOIN LATERAL (
                    SELECT random() AS r, random() AS r2,
                           i.amount - CASE WHEN i.seq = 1 THEN b.deposit ELSE 0 END AS rest
                ) x
            ) p
            WHERE amount > 0 AND paid_on <= %(today)s
              AND (cancel_day IS NULL OR paid_on < cancel_day);
            """,
            {"deposit_methods": DEPOSIT_METHODS, "methods": RECEIVED},
        )
        # cancellations: what was received, kept and refunded (民法典 587)
        self.sql(
            """
            CREATE TEMP TABLE bench_cancel ON COMMIT DROP AS
            SELECT b.d, b.id AS deal_id, b.cancelled_at, b.deposit, b.consultant_id,
                   b.reason, b.treatment, coalesce(p.received, 0) AS received,
                   CASE b.treatment WHEN 'part' THEN LEAST(10000, coalesce(p.received, 0))
                        WHEN 'forfeit' THEN LEAST(b.deposit, coalesce(p.received, 0))
                        ELSE 0 END AS forfeited,
                   CASE b.treatment WHEN 'double' THEN b.deposit ELSE 0 END AS compensation,
                   CASE WHEN b.r2 < 0.9 AND b.cancelled_at + interval '20 days' < %(now)s
                        THEN b.cancelled_at + (3 + floor(b.r3 * 17)) * interval '1 day'
                        END AS refund_paid_at
            FROM (SELECT b.*, x.reason,
                         CASE WHEN x.reason = 'seller' THEN 'double'
                              ELSE pg_temp.pick(ARRAY['refund', 'part', 'forfeit', 'forfeit'])
                              END AS treatment
                  FROM bench_deal b
                  CROSS JOIN LATERAL (SELECT pg_temp.pick(%(reasons)s::text[]) || '' AS reason
                                      WHERE b.d > 0) x
                  WHERE b.status = 'cancelled') b
            LEFT JOIN (SELECT d, sum(amount) AS received FROM bench_pay GROUP BY d) p
                ON p.d = b.d;
            INSERT INTO bench_pay (deal_id, d, kind, purpose, method, amount, paid_on)
            SELECT deal_id, d, 'refund', 'price', 'transfer',
                   -(received - forfeited + compensation), pg_temp.lday(refund_paid_at)
            FROM bench_cancel
            WHERE refund_paid_at IS NOT NULL AND received - forfeited + compensation > 0;
            """,
            {"reasons": list(CancelReason.values)},
        )
        # a few receipts reversed the same day (红冲)
        self.sql(
            """
            INSERT INTO bench_pay (deal_id, d, item_id, kind, purpose, method, amount, paid_on,
                                   reverses)
            SELECT deal_id, d, item_id, 'reversal', purpose, method, -amount, paid_on, k
            FROM bench_pay WHERE kind = 'receipt' AND purpose = 'price' AND random() < 0.004;
            """
        )
        self.entries = self.value("SELECT count(*) FROM bench_pay")
        receipts = self.value("SELECT count(*) FROM bench_pay WHERE kind = 'receipt'")
        ledger_base = self.reserve(LedgerEntry, self.entries) if self.entries else 0
        receipt_base = self.reserve(Receipt, receipts) if receipts else 0
        self.receipt_last = self.counter("receipt", receipts)
        self.sql(
            """
            UPDATE bench_pay p SET id = %(lbase)s + x.n - 1,
                   rk = CASE WHEN p.kind = 'receipt' THEN x.rn END,
                   receipt_id = CASE WHEN p.kind = 'receipt' THEN %(rbase)s + x.rn - 1 END
            FROM (SELECT k, row_number() OVER (ORDER BY paid_on, k) AS n,
                         row_number() OVER (PARTITION BY kind = 'receipt'
                                            ORDER BY paid_on, k) AS rn
                  FROM bench_pay) x
            WHERE x.k = p.k;
            UPDATE bench_pay p SET receipt_id = o.receipt_id, reverses = o.id
            FROM bench_pay o WHERE p.kind = 'reversal' AND o.k = p.reverses;
            CREATE INDEX ON bench_pay (d);
            ANALYZE bench_pay;
            """,
            {"lbase": ledger_base, "rbase": receipt_base},
        )

    def insert_money(self):
        if not self.d:
            return
        self.insert(
            ScheduleItem,
            {
                "id": "i.id",
                "project_id": "%(project)s",
                "deal_id": "i.deal_id",
                "seq": "i.seq",
                "kind": "i.kind",
                "name": "i.name",
                "amount": "i.amount",
                "due_date": "i.due",
                "original_due_date": "i.due",
                "live": "true",
                "created_at": "b.deposit_confirmed_at",
            },
            "FROM bench_item i JOIN bench_deal b ON b.d = i.d",
        )
        self.insert(
            Receipt,
            {
                "id": "p.receipt_id",
                "project_id": "%(project)s",
                "deal_id": "p.deal_id",
                "number": "pg_temp.docno('SJ', %(code)s, %(last)s + p.rk)",
                "amount": "p.amount",
                "method": "p.method",
                "paid_on": "p.paid_on",
                "payer": "b.buyer",
                "cashier_id": "%(finance)s",
                "issued_at": "LEAST(%(now)s, pg_temp.office(p.paid_on))",
                "invoice_number": """CASE WHEN p.purpose = 'price' AND random() < 0.3
                    THEN '5100' || lpad(p.rk::text, 10, '0') ELSE '' END""",
            },
            "FROM bench_pay p JOIN bench_deal b ON b.d = p.d WHERE p.kind = 'receipt'",
            {"last": self.receipt_last, "finance": self.finance_id},
        )
        # the ledger refuses an entry dated in a closed day: those days are reopened for
        # the history and closed again with their sheets recomputed (insert_day_closes)
        self.sql(
            """
            CREATE TEMP TABLE bench_reopened ON COMMIT DROP AS
            SELECT id, status FROM payments_dayclose
            WHERE project_id = %(project)s AND status IN ('pending', 'closed')
              AND day IN (SELECT DISTINCT paid_on FROM bench_pay);
            UPDATE payments_dayclose SET status = 'reopened'
            WHERE id IN (SELECT id FROM bench_reopened);
            """
        )
        self.insert(
            LedgerEntry,
            {
                "id": "p.id",
                "project_id": "%(project)s",
                "deal_id": "p.deal_id",
                "item_id": "p.item_id",
                "kind": "p.kind",
                "purpose": "p.purpose",
                "method": "p.method",
                "amount": "p.amount",
                "paid_on": "p.paid_on",
                "payer": "b.buyer",
                "bank": """CASE WHEN p.method IN ('transfer', 'mortgage')
                    THEN pg_temp.pick(%(banks)s::text[]) ELSE '' END""",
                "bank_reference": """CASE WHEN p.method = 'mortgage'
                        THEN 'FK' || to_char(p.paid_on, 'YYYYMM') || lpad(p.d::text, 6, '0')
                    WHEN p.method = 'transfer' THEN 'TR' || p.k ELSE '' END""",
                "receipt_id": "p.receipt_id",
                "reverses_id": "p.reverses",
                "reason": """CASE p.kind WHEN 'reversal' THEN '款项误记，红冲'
                    WHEN 'refund' THEN '退房退款' ELSE '' END""",
                "created_by_id": "%(finance)s",
                "created_at": "LEAST(%(now)s, pg_temp.office(p.paid_on))",
            },
            # the originals before their red entries (the reversal points back)
            "FROM bench_pay p JOIN bench_deal b ON b.d = p.d ORDER BY p.id",
            {"banks": BANKS, "finance": self.finance_id},
        )
        self.insert_cancellations()

    def insert_cancellations(self):
        count = self.value("SELECT count(*) FROM bench_cancel")
        if not count:
            return
        self.insert(
            Cancellation,
            {
                "deal_id": "c.deal_id",
                "reason": "c.reason",
                "detail": "(%(details)s::jsonb) ->> c.reason",
                "deposit_treatment": "c.treatment",
                "received": "c.received",
                "forfeited": "c.forfeited",
                "compensation": "c.compensation",
                "refund": "c.received - c.forfeited + c.compensation",
                "voided_documents": """'认购书 ' || b.number
                    || CASE WHEN b.contract_number IS NOT NULL
                            THEN '；合同 ' || b.contract_number ELSE '' END""",
                "originals_returned": "b.r4 < 0.8",
                "cancelled_at": "c.cancelled_at",
                "refund_paid_at": "c.refund_paid_at",
                "refund_paid_by_id": """CASE WHEN c.refund_paid_at IS NOT NULL
                    THEN %(finance)s::bigint END""",
                "dispute": """CASE WHEN b.r2 < 0.05 THEN 'negotiating'
                    WHEN b.r2 < 0.07 THEN 'arbitration' ELSE 'none' END""",
                "dispute_note": "CASE WHEN b.r2 < 0.07 THEN '客户要求退还定金' ELSE '' END",
            },
            "FROM bench_cancel c JOIN bench_deal b ON b.d = c.d",
            {"details": json.dumps(CANCEL_DETAILS, ensure_ascii=False), "finance": self.finance_id},
        )
        # the approved request and the change record the 退房 lists read
        base = self.reserve(ApprovalRequest, count)
        deal_type = ContentType.objects.get_for_model(Deal).pk
        labels = {value: str(label) for value, label in CancelReason.choices}
        terms = """jsonb_build_object(
            'deal', b.id, 'number', b.number, 'contract_number', coalesce(b.contract_number, ''),
            'status', CASE WHEN b.signed_on IS NULL THEN 'subscribed' ELSE 'contracted' END,
            'unit', b.unit_id,
            'unit_number', b.bname || b.stair || '单元' || b.floor || lpad(b.room::text, 2, '0'),
            'area', b.area::text, 'list_total', b.list_total::text, 'total', b.total::text)"""
        after = """jsonb_build_object('status', 'cancelled', 'reason', c.reason,
            'received', c.received::text, 'forfeited', c.forfeited::text,
            'compensation', c.compensation::text,
            'refund', (c.received - c.forfeited + c.compensation)::text)"""
        tail = """FROM (SELECT c.*, row_number() OVER (ORDER BY c.d) AS j FROM bench_cancel c) c
                  JOIN bench_deal b ON b.d = c.d"""
        params = {
            "base": base,
            "type": deal_type,
            "labels": json.dumps(labels, ensure_ascii=False),
            "details": json.dumps(CANCEL_DETAILS, ensure_ascii=False),
            "manager": self.manager_id,
        }
        self.insert(
            ApprovalRequest,
            {
                "id": "%(base)s + c.j - 1",
                "project_id": "%(project)s",
                "subject_type_id": "%(type)s",
                "subject_id": "b.id",
                "kind": "'cancel'",
                "payload": f"""{after} || jsonb_build_object('old', {terms},
                    'detail', (%(details)s::jsonb) ->> c.reason,
                    'reason_label', (%(labels)s::jsonb) ->> c.reason,
                    'deposit_treatment', c.treatment, 'originals_returned', b.r4 < 0.8)""",
                "reason": "(%(details)s::jsonb) ->> c.reason",
                "requested_by_id": "c.consultant_id",
                "requested_at": "c.cancelled_at - interval '1 day'",
                "level": "'manager'",
                "final_level": "'manager'",
                "status": "'approved'",
                "decided_by_id": "%(manager)s",
                "decided_at": "c.cancelled_at",
            },
            tail,
            params,
        )
        self.insert(
            DealChange,
            {
                "project_id": "%(project)s",
                "deal_id": "b.id",
                "kind": "'cancel'",
                "request_id": "%(base)s + c.j - 1",
                "before": terms,
                "after": after,
                "at": "c.cancelled_at",
            },
            tail,
            params,
        )

    def insert_mortgages(self):
        """A mortgage for each live loan deal subscribed more than two days ago: 已放款 when
        the bank's money is in, else 审批通过 once signed, 已递交银行 or 资料收集 before;
        3% refused 拒贷 (to another bank). Each with its stage history."""
        docs = {}
        for loan_type in ("commercial", "provident", "combined"):
            names = default_documents(loan_type)
            docs[loan_type] = json.dumps([{**x, "done": True} for x in names], ensure_ascii=False)
            docs[loan_type + "_open"] = json.dumps(names, ensure_ascii=False)
        count = self.value(
            """SELECT count(*) FROM bench_deal WHERE status IN ('subscribed', 'contracted')
               AND payment_method IN ('commercial', 'provident', 'combined')
               AND sub_day <= %(today)s - 2"""
        )
        if not count:
            return
        base = self.reserve(Mortgage, count)
        self.sql(
            """
            CREATE TEMP TABLE bench_mort ON COMMIT DROP AS
            SELECT *, CASE WHEN disbursed_on IS NOT NULL THEN 'disbursed'
                           WHEN rejected_on IS NOT NULL THEN 'rejected'
                           WHEN approved_on IS NOT NULL THEN 'approved'
                           WHEN submitted_on IS NOT NULL THEN 'submitted'
                           ELSE 'collecting' END AS stage
            FROM (
                SELECT %(base)s + row_number() OVER (ORDER BY b.d) - 1 AS id, b.d,
                       b.id AS deal_id, b.payment_method AS loan_type, b.loan_c, b.loan_p,
                       b.consultant_id, b.sub_day + 2 AS opened_on,
                       CASE WHEN b.sub_day + 10 <= %(today)s THEN b.sub_day + 10 END
                           AS submitted_on,
                       CASE WHEN b.signed_on IS NOT NULL
                            THEN LEAST(%(today)s, GREATEST(b.sub_day + 15, b.signed_on + 5))
                            END AS approved_on,
                       CASE WHEN b.signed_on IS NULL AND b.r2 < 0.03
                                 AND b.sub_day + 25 <= %(today)s
                            THEN b.sub_day + 25 END AS rejected_on,
                       (SELECT min(p.paid_on) FROM bench_pay p
                        WHERE p.d = b.d AND p.method = 'mortgage' AND p.kind = 'receipt')
                           AS disbursed_on
                FROM bench_deal b
                WHERE b.status IN ('subscribed', 'contracted')
                  AND b.payment_method IN ('commercial', 'provident', 'combined')
                  AND b.sub_day <= %(today)s - 2
            ) m;
            """,
            {"base": base},
        )
        self.insert(
            Mortgage,
            {
                "id": "m.id",
                "project_id": "%(project)s",
                "deal_id": "m.deal_id",
                "bank": "pg_temp.pick(%(banks)s::text[])",
                "loan_type": "m.loan_type",
                "commercial_amount": "coalesce(m.loan_c, 0)",
                "provident_amount": "coalesce(m.loan_p, 0)",
                "years": "(ARRAY[20, 25, 30, 30])[1 + floor(random() * 4)::int]",
                "commercial_rate": "CASE WHEN m.loan_c IS NOT NULL THEN 3.45 END",
                "provident_rate": "CASE WHEN m.loan_p IS NOT NULL THEN 2.85 END",
                "stage": "m.stage",
                "stage_since": """LEAST(%(now)s, pg_temp.office(coalesce(m.disbursed_on,
                    m.rejected_on, m.approved_on, m.submitted_on, m.opened_on)))""",
                "documents": """(%(docs)s::jsonb) -> (m.loan_type
                    || CASE WHEN m.stage = 'collecting' THEN '_open' ELSE '' END)""",
                "follower_id": "%(admin)s",
                "submitted_on": "m.submitted_on",
                "approved_on": "m.approved_on",
                "disbursed_on": "m.disbursed_on",
                "rejected_on": "m.rejected_on",
                "rejection_next": "CASE WHEN m.rejected_on IS NOT NULL THEN 'other_bank' ELSE '' END",
                "created_at": "LEAST(%(now)s, pg_temp.office(m.opened_on))",
            },
            "FROM bench_mort m",
            {"banks": BANKS, "docs": json.dumps(docs), "admin": self.admin_id},
        )
        self.insert(
            MortgageEvent,
            {
                "mortgage_id": "m.id",
                "from_stage": "s.f",
                "to_stage": "s.t",
                "note": "s.note",
                "by_id": "%(admin)s",
                "at": "LEAST(%(now)s, pg_temp.office(s.on_day))",
            },
            """
            FROM bench_mort m CROSS JOIN LATERAL (VALUES
                ('', 'collecting', '建档', m.opened_on),
                ('collecting', 'submitted', '资料齐全，已递交银行', m.submitted_on),
                ('submitted', 'approved', '银行审批通过', m.approved_on),
                ('submitted', 'rejected', '银行拒贷', m.rejected_on),
                ('approved', 'disbursed', '银行放款', m.disbursed_on)
            ) AS s(f, t, note, on_day)
            WHERE s.on_day IS NOT NULL
            """,
            {"admin": self.admin_id},
        )

    def insert_arrears(self):
        """Arrears as the daily job leaves them: open for each item of a paying deal past
        due and not paid in full; settled for those paid late. Collection records on
        six in ten of the open ones."""
        if not self.d:
            return
        self.sql(
            """
            CREATE TEMP TABLE bench_owed ON COMMIT DROP AS
            SELECT i.id AS item_id, i.d, i.deal_id, i.due, i.amount,
                   coalesce(sum(p.amount), 0) AS paid, max(p.paid_on) AS last_paid
            FROM bench_item i JOIN bench_deal b ON b.d = i.d
            LEFT JOIN bench_pay p ON p.item_id = i.id
            WHERE b.status IN ('subscribed', 'contracted') AND i.due < %(today)s
            GROUP BY i.id, i.d, i.deal_id, i.due, i.amount
            """
        )
        self.insert(
            Arrear,
            {
                "project_id": "%(project)s",
                "deal_id": "o.deal_id",
                "item_id": "o.item_id",
                "found_on": "o.due + 1",
                "settled_on": "CASE WHEN o.paid >= o.amount THEN o.last_paid END",
            },
            "FROM bench_owed o WHERE o.paid < o.amount OR o.last_paid > o.due",
        )
        self.insert(
            CollectionRecord,
            {
                "project_id": "%(project)s",
                "deal_id": "o.deal_id",
                "item_id": "o.item_id",
                "channel": "pg_temp.pick(ARRAY['phone', 'phone', 'sms', 'wechat', 'visit'])",
                "contact": "b.buyer",
                "note": "pg_temp.pick(%(notes)s::text[])",
                "promised_amount": "CASE WHEN random() < 0.5 THEN o.amount - o.paid END",
                "promised_on": "o.due + 8 + floor(random() * 30)::int",
                "by_id": "b.consultant_id",
                "at": "LEAST(%(now)s, pg_temp.office(LEAST(%(today)s, o.due + 2)))",
            },
            "FROM bench_owed o JOIN bench_deal b ON b.d = o.d "
            "WHERE o.paid < o.amount AND random() < 0.6",
            {"notes": COLLECTION_NOTES},
        )

    def insert_day_closes(self):
        """Every past day with money closed 日清日结 (by finance, reviewed by the manager),
        with the sheet's lines as ``closing.day_sheet`` writes them; yesterday and today
        stay open. A day closed before and reopened for the history is closed again with
        its sheet recomputed."""
        kinds = {value: str(label) for value, label in EntryKind.choices}
        methods = {value: str(label) for value, label in Method.choices}
        self.sql(
            """
            CREATE TEMP TABLE bench_sheet ON COMMIT DROP AS
            SELECT day, sum(total) AS total,
                   coalesce(sum(total) FILTER (WHERE method = 'cash'), 0) AS cash,
                   jsonb_build_object('lines', jsonb_agg(jsonb_build_object(
                       'kind', kind, 'kind_label', (%(kinds)s::jsonb) ->> kind,
                       'method', method, 'method_label', (%(methods)s::jsonb) ->> method,
                       'count', n, 'total', total::text) ORDER BY kind, method)) AS lines
            FROM (
                SELECT e.paid_on AS day, e.kind, e.method, count(*) AS n,
                       sum(e.amount) AS total
                FROM payments_ledgerentry e
                WHERE e.project_id = %(project)s AND e.method <> 'carry'
                  AND e.paid_on IN (SELECT DISTINCT paid_on FROM bench_pay)
                GROUP BY 1, 2, 3
            ) g
            GROUP BY day;
            UPDATE payments_dayclose c SET status = r.status, totals = s.lines,
                   entries_total = s.total, cash_expected = s.cash, cash_counted = s.cash
            FROM bench_reopened r, bench_sheet s
            WHERE c.id = r.id AND s.day = c.day;
            """,
            {
                "kinds": json.dumps(kinds, ensure_ascii=False),
                "methods": json.dumps(methods, ensure_ascii=False),
            },
        )
        self.insert(
            DayClose,
            {
                "project_id": "%(project)s",
                "day": "s.day",
                "status": "'closed'",
                "totals": "s.lines",
                "entries_total": "s.total",
                "cash_expected": "s.cash",
                "cash_counted": "s.cash",
                "prepared_by_id": "%(finance)s",
                "prepared_at": "(s.day + time '17:40') AT TIME ZONE %(tz)s",
                "reviewed_by_id": "%(manager)s",
                "closed_at": "(s.day + time '18:10') AT TIME ZONE %(tz)s",
            },
            """
            FROM bench_sheet s
            WHERE s.day < %(today)s::date - 1
              AND NOT EXISTS (SELECT 1 FROM payments_dayclose c
                              WHERE c.project_id = %(project)s AND c.day = s.day)
            """,
            {"finance": self.finance_id, "manager": self.manager_id, "tz": self.tz},
        )

    # --- customer activity ------------------------------------------------------------

    def insert_follow_ups(self):
        self.insert(
            FollowUp,
            {
                "customer_id": "f.customer_id",
                "consultant_id": "f.consultant_id",
                "at": "f.at",
                "way": "pg_temp.pick(%(ways)s::text[])",
                "content": "pg_temp.pick(%(contents)s::text[])",
                "reaction": "pg_temp.pick(%(reactions)s::text[])",
                "next_step": "pg_temp.pick(%(steps)s::text[])",
                "next_date": "pg_temp.lday(f.at) + 1 + floor(random() * 14)::int",
                "done": "f.at < %(now)s - interval '14 days' OR random() < 0.5",
            },
            "FROM bench_fu f",
            {
                "ways": FOLLOW_WAYS,
                "contents": FOLLOW_CONTENTS,
                "reactions": REACTIONS,
                "steps": NEXT_STEPS,
            },
        )

    def insert_visits(self):
        """The first visit of each visiting customer (when they registered), then the
        returning visits, most within four months."""
        first = min(self.visits, self.visited)
        values = {
            "customer_id": "c.id",
            "consultant_id": "c.owner",
            "visited_at": "v.at",
            "is_first": "v.first",
            "companions": "pg_temp.pick(%(companions)s::text[])",
            "note": "pg_temp.pick(%(questions)s::text[])",
        }
        params = {"companions": COMPANIONS, "questions": QUESTIONS}
        self.insert(
            Visit,
            values,
            """
            FROM bench_cust c CROSS JOIN LATERAL (SELECT c.reg AS at, true AS first) v
            WHERE mod(c.i - 1, 10) < 7 AND c.i <= %(last)s
            """,
            {**params, "last": self._visited_i(first)},
        )
        returning = self.visits - first
        if returning > 0:
            self.insert(
                Visit,
                values,
                """
                FROM (SELECT 1 + floor(random() * %(visited)s)::int AS j
                      FROM generate_series(1, %(returning)s)) pick
                JOIN bench_cust c ON c.i = 10 * ((pick.j - 1) / 7) + mod(pick.j - 1, 7) + 1
                CROSS JOIN LATERAL (
                    SELECT LEAST(%(now)s, GREATEST(c.reg + interval '1 day',
                               pg_temp.office(pg_temp.lday(c.reg) + 1 + floor(power(random(), 2)
                                   * LEAST(120, %(today)s::date - pg_temp.lday(c.reg)))::int)))
                               AS at,
                           false AS first) v
                """,
                {**params, "visited": self.visited, "returning": returning},
            )

    def _visited_i(self, j: int) -> int:
        """The customer index of the j-th visiting customer."""
        return 10 * ((j - 1) // 7) + (j - 1) % 7 + 1 if j else 0

    def insert_calls(self):
        """A call before each customer who registered by phone (linked, with their
        number), the rest anonymous callers; 3% of those are peer research calls."""
        phoned = self.n - self.visited
        linked = min(self.calls, phoned)
        values = {
            "project_id": "%(project)s",
            "received_by_id": "x.taker",
            "called_at": "x.at",
            "phone": "x.phone",
            "name": "x.name",
            "question": "pg_temp.pick(%(questions)s::text[])",
            "channel_id": "x.channel",
            "is_research": "x.research",
            "competitor": "CASE WHEN x.research THEN pg_temp.pick(%(competitors)s::text[]) ELSE '' END",
            "customer_id": "x.customer",
        }
        params = {"questions": QUESTIONS, "competitors": COMPETITORS}
        self.insert(
            CallRecord,
            values,
            """
            FROM (
                SELECT c.owner AS taker, c.reg - random() * interval '3 days' AS at, c.phone,
                       left(c.name, 1) || CASE WHEN mod(c.i, 2) = 0 THEN '先生' ELSE '女士' END
                           AS name,
                       c.channel, false AS research, c.id AS customer
                FROM bench_cust c WHERE mod(c.i - 1, 10) >= 7
                LIMIT %(linked)s
            ) x
            """,
            {**params, "linked": linked},
        )
        anonymous = self.calls - linked
        if anonymous > 0:
            span = (self.today - self.start).days
            self.insert(
                CallRecord,
                values,
                """
                FROM (
                    SELECT (%(consultants)s::bigint[])[1 + floor(random() * %(k)s)::int] AS taker,
                           LEAST(%(now)s, pg_temp.office(%(today)s::date
                                                         - floor(random() * %(span)s)::int)) AS at,
                           '+861' || (ARRAY['3', '5', '8', '9'])[1 + floor(random() * 4)::int]
                               || lpad(floor(random() * 1000000000)::text, 9, '0') AS phone,
                           pg_temp.pick(%(surnames)s::text[]) || pg_temp.pick(ARRAY['先生', '女士'])
                               AS name,
                           CASE WHEN random() < 0.1 THEN NULL ELSE
                               (%(channels)s::bigint[])[1 + floor(random() * %(nch)s)::int]
                               END AS channel,
                           random() < 0.03 AS research, NULL::bigint AS customer
                    FROM generate_series(1, %(anonymous)s)
                ) x
                """,
                {
                    **params,
                    "consultants": self.consultant_ids,
                    "k": len(self.consultant_ids),
                    "span": span,
                    "surnames": self.surnames,
                    "channels": self.channel_ids,
                    "nch": len(self.channel_ids),
                    "anonymous": anonymous,
                },
            )

    def insert_targets(self):
        """Each month's targets (the project's and each consultant's) and what each
        channel cost, where the office has not entered them."""
        k = len(self.consultant_ids)
        per_month = max(1, self.d // max(1, self.months))
        self.insert(
            Target,
            {
                "project_id": "%(project)s",
                "month": "m.month",
                "consultant_id": "u.id",
                "amount": "CASE WHEN u.id IS NULL THEN %(units)s ELSE %(units_c)s END * 2000000.0",
                "units": "CASE WHEN u.id IS NULL THEN %(units)s ELSE %(units_c)s END",
                "collections": "CASE WHEN u.id IS NULL THEN %(units)s ELSE %(units_c)s END "
                "* 1500000.0",
                "updated_by_id": "%(manager)s",
            },
            """
            FROM (SELECT date_trunc('month', g)::date AS month
                  FROM generate_series(date_trunc('month', %(start)s::date),
                                        %(today)s::date, interval '1 month') g)
                 m
            CROSS JOIN (SELECT unnest(%(consultants)s::bigint[]) AS id
                        UNION ALL SELECT NULL) u
            ON CONFLICT DO NOTHING
            """,
            {
                "units": per_month,
                "units_c": max(1, per_month // k),
                "consultants": self.consultant_ids,
                "manager": self.manager_id,
            },
        )
        self.insert(
            ChannelSpend,
            {
                "project_id": "%(project)s",
                "channel_id": "c.id",
                "month": "m.month",
                "amount": "round((5000 + random() * 45000)::numeric, -2)",
                "updated_by_id": "%(planner)s",
            },
            """
            FROM (SELECT date_trunc('month', g)::date AS month
                  FROM generate_series(date_trunc('month', %(start)s::date),
                                        %(today)s::date, interval '1 month') g)
                 m
            CROSS JOIN (SELECT unnest(%(channels)s::bigint[]) AS id) c
            ON CONFLICT DO NOTHING
            """,
            {"channels": self.channel_ids, "planner": self.planner_id},
        )

    def verify(self):
        """Every reference of the tables written points at a row (what the foreign-key
        triggers would have checked at the commit), one anti-join per foreign key."""
        broken = []
        for model in self.inserted:
            table = model._meta.db_table
            for field in model._meta.concrete_fields:
                if not (field.many_to_one or field.one_to_one):
                    continue
                parent = field.related_model._meta.db_table
                target = field.target_field.column
                count = self.value(
                    f"""SELECT count(*) FROM {table} c
                        WHERE c.{field.column} IS NOT NULL AND NOT EXISTS (
                            SELECT 1 FROM {parent} p WHERE p.{target} = c.{field.column})"""
                )
                if count:
                    broken.append(f"{table}.{field.column}: {count}")
        if broken:
            raise CommandError("references to missing rows: " + "; ".join(broken))

    def vacuum(self):
        """What autovacuum would do for a steady office: the visibility map (index-only
        scans) and the planner's statistics of every table written."""
        tables = [
            m._meta.db_table
            for m in (
                Customer,
                FollowUp,
                Visit,
                CallRecord,
                DailyTraffic,
                VisitorPeriod,
                VisitorProfile,
                Unit,
                UnitStatusChange,
                Deal,
                DealUnit,
                DealBuyer,
                DealDiscount,
                Cancellation,
                DealChange,
                ApprovalRequest,
                ScheduleItem,
                Receipt,
                LedgerEntry,
                Mortgage,
                MortgageEvent,
                Arrear,
                CollectionRecord,
                DayClose,
                Target,
                ChannelSpend,
            )
        ]
        with connection.cursor() as cur:
            for table in tables:
                cur.execute(f"VACUUM ANALYZE {table}")
