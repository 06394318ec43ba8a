"""Payments 收款: the money that flows on a deal (issue 13; seeds 000 出纳 and 催交欠款,
001 按揭办理 and 结佣, 002 二.5 资金回笼管理, 003 款项跟进 and 按揭协办).

* One append-only ledger per project (``LedgerEntry``): every yuan received, refunded,
  carried over on an exchange or reversed is one row; what a deal has received, its
  balance and what is overdue are derived from it and stored nowhere else. The database
  refuses an UPDATE or DELETE of an entry, and an entry dated in a closed day
  (migration ``0002``).
* A payment schedule per deal (``ScheduleItem``), generated from its payment method.
* Receipts 收据 with gapless numbers, paper receipt books and spoiled forms 票据管理.
* The daily close 日清日结 (``DayClose``), arrears found by the daily job (``Arrear``),
  collection records 催款记录, deferred payments 延期付款.
* Mortgages 按揭 with their stage history; fee rate tables for the purchase plan 置业计划;
  commission rules, entries and monthly statements 结佣.
"""

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from loupan.accounts import access
from loupan.core.querysets import RestrictedManager

MONEY = {"max_digits": 14, "decimal_places": 2}


def money_held_q(user, action: str) -> Q:
    """Who sees a row of money that may belong to a deal or, before there is a deal, to a
    customer (a sincerity deposit 诚意金): ``payment.<action>`` the project's rows;
    ``payment.<action>_own`` the rows of the consultant's own deals and the money held
    for the customers they own."""
    q = Q(project_id__in=access.projects_with(user, f"payment.{action}"))
    own = access.projects_with(user, f"payment.{action}_own")
    if own:
        q |= Q(project_id__in=own) & (
            Q(deal__consultant=user) | Q(deal__isnull=True, customer__owner=user)
        )
    return q


class Scoped(models.Model):
    """Money rows of a project: ``payment.view`` shows a project's, ``payment.view_own``
    a consultant's own deals' (ENGINEERING.md: restricted querysets)."""

    objects = RestrictedManager()

    scope_project_field = "project"
    scope_perm = "payment"
    scope_owner_field = "deal__consultant"

    class Meta:
        abstract = True


# --- settings -----------------------------------------------------------------------------


class PaymentSettings(models.Model):
    """A project's payment settings: the minimum down payment for a first and a second
    home (national default 15% for both, a project setting because cities differ), when
    the down payment and the loan are due, and late fees (off by default; a daily rate on
    the overdue amount, computed, never typed)."""

    project = models.OneToOneField(
        "inventory.Project",
        verbose_name=_("项目"),
        on_delete=models.CASCADE,
        related_name="payment_settings",
    )
    min_down_pct_first = models.DecimalField(
        _("首套最低首付比例（%）"), max_digits=5, decimal_places=2, default=Decimal("15")
    )
    min_down_pct_second = models.DecimalField(
        _("二套最低首付比例（%）"), max_digits=5, decimal_places=2, default=Decimal("15")
    )
    down_payment_days = models.PositiveSmallIntegerField(_("首付款期限（认购后天数）"), default=30)
    full_payment_days = models.PositiveSmallIntegerField(
        _("一次性付款期限（认购后天数）"), default=30
    )
    loan_days = models.PositiveSmallIntegerField(_("贷款预计到账（认购后天数）"), default=90)
    late_fee_daily_pct = models.DecimalField(
        _("滞纳金日费率（%）"),
        max_digits=7,
        decimal_places=4,
        default=Decimal("0"),
        help_text=_("0 表示不收滞纳金；例如 0.05 表示每日按逾期金额的万分之五计"),
    )
    late_fee_grace_days = models.PositiveSmallIntegerField(_("滞纳金宽限天数"), default=0)

    class Meta:
        verbose_name = _("收款设置")
        verbose_name_plural = _("收款设置")
        constraints = [
            models.CheckConstraint(
                condition=Q(late_fee_daily_pct__gte=0) & Q(late_fee_daily_pct__lte=1),
                name="payments_late_fee_rate_range",
            ),
            models.CheckConstraint(
                condition=Q(min_down_pct_first__gte=0)
                & Q(min_down_pct_first__lte=100)
                & Q(min_down_pct_second__gte=0)
                & Q(min_down_pct_second__lte=100),
                name="payments_down_pct_range",
            ),
        ]

    def __str__(self):
        return str(self.project)


# --- schedule -----------------------------------------------------------------------------


class ItemKind(models.TextChoices):
    FULL = "full", _("全款")
    DOWN_PAYMENT = "down_payment", _("首付款")
    INSTALMENT = "instalment", _("分期款")
    COMMERCIAL_LOAN = "commercial_loan", _("商业贷款")
    PROVIDENT_LOAN = "provident_loan", _("公积金贷款")
    SETTLEMENT = "settlement", _("面积补差款")


LOAN_KINDS = (ItemKind.COMMERCIAL_LOAN, ItemKind.PROVIDENT_LOAN)


class ScheduleItem(Scoped):
    """One item of a deal's payment schedule 付款计划: what is due and by when. The
    items of a deal sum to its total to the fen; the deposit counts toward the first.
    What has been paid against an item is read from the ledger, never stored here. A
    deferral 延期付款 moves ``due_date``; ``original_due_date`` keeps the first one."""

    project = models.ForeignKey(
        "inventory.Project", verbose_name=_("项目"), on_delete=models.PROTECT, related_name="+"
    )
    deal = models.ForeignKey(
        "deals.Deal", verbose_name=_("交易"), on_delete=models.PROTECT, related_name="schedule"
    )
    seq = models.PositiveSmallIntegerField(_("期次"))
    kind = models.CharField(_("款项"), max_length=20, choices=ItemKind.choices)
    name = models.CharField(_("名称"), max_length=50)
    amount = models.DecimalField(_("应收金额（元）"), **MONEY)
    due_date = models.DateField(_("应付日期"))
    original_due_date = models.DateField(_("原应付日期"))
    live = models.BooleanField(_("有效"), default=True)
    created_at = models.DateTimeField(_("生成时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("付款计划")
        verbose_name_plural = _("付款计划")
        ordering = ["deal", "seq", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["deal", "seq"], condition=Q(live=True), name="payments_item_seq_unique"
            ),
            models.CheckConstraint(condition=Q(amount__gte=0), name="payments_item_amount_gte_0"),
        ]
        indexes = [models.Index(fields=["project", "live", "due_date"])]

    def __str__(self):
        return f"{self.name} {self.amount}"


# --- ledger -------------------------------------------------------------------------------


class EntryKind(models.TextChoices):
    RECEIPT = "receipt", _("收款")
    REFUND = "refund", _("退款")
    CARRY = "carry", _("换房结转")
    REVERSAL = "reversal", _("红冲")


class Purpose(models.TextChoices):
    DEPOSIT = "deposit", _("定金")
    PRICE = "price", _("房款")
    LATE_FEE = "late_fee", _("滞纳金")
    SINCERITY = "sincerity", _("诚意金")


class Method(models.TextChoices):
    CASH = "cash", _("现金")
    TRANSFER = "transfer", _("银行转账")
    POS = "pos", _("POS 刷卡")
    CHEQUE = "cheque", _("支票")
    MORTGAGE = "mortgage", _("按揭放款")
    CARRY = "carry", _("换房结转")


# What finance may choose when recording money received (a carry-over is the system's).
RECEIVED_METHODS = [m for m in Method if m != Method.CARRY]
RECEIVED_METHOD_CHOICES = [(m.value, m.label) for m in RECEIVED_METHODS]


class LedgerEntry(Scoped):
    """One movement of money on a deal, in the project's one append-only ledger.
    Received money is positive, refunds and carries out are negative, a red entry 红冲
    is the exact opposite of the entry it ``reverses`` (with the reason, approved through
    the approval engine). Never updated or deleted: the database refuses it (0002), and
    refuses an entry dated (``paid_on``) in a closed day.

    Money held for a customer before there is a deal — the sincerity deposit 诚意金 of an
    opening's registration (issue 16) — is in the same ledger: purpose ``sincerity``, no
    ``deal``, the ``customer`` and the ``reference`` it is held for; it leaves by a refund
    or by a carry into the deal (``payments.sincerity``). Every other entry has a deal,
    so what a deal has received never counts money held for a customer."""

    project = models.ForeignKey(
        "inventory.Project", verbose_name=_("项目"), on_delete=models.PROTECT, related_name="+"
    )
    deal = models.ForeignKey(
        "deals.Deal",
        verbose_name=_("交易"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="ledger",
    )
    customer = models.ForeignKey(
        "customers.Customer",
        verbose_name=_("客户"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    reference = models.CharField(
        _("款项用途"),
        max_length=40,
        blank=True,
        default="",
        db_default="",
        help_text=_("暂收款为何而收，如「认筹 一期开盘 0007」"),
    )
    item = models.ForeignKey(
        ScheduleItem,
        verbose_name=_("付款计划"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="entries",
    )
    kind = models.CharField(_("类型"), max_length=10, choices=EntryKind.choices)
    purpose = models.CharField(
        _("款项性质"), max_length=10, choices=Purpose.choices, default=Purpose.PRICE
    )
    method = models.CharField(_("收付方式"), max_length=10, choices=Method.choices)
    amount = models.DecimalField(_("金额（元）"), **MONEY)
    paid_on = models.DateField(_("入账日期"))
    payer = models.CharField(_("交款人"), max_length=100, blank=True)
    bank = models.CharField(_("银行"), max_length=50, blank=True)
    bank_reference = models.CharField(_("银行流水号"), max_length=60, blank=True)
    receipt = models.ForeignKey(
        "Receipt",
        verbose_name=_("收据"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="entries",
    )
    reverses = models.OneToOneField(
        "self",
        verbose_name=_("红冲原分录"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="reversed_by",
    )
    counterpart = models.OneToOneField(
        "self",
        verbose_name=_("结转对应分录"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    reason = models.CharField(_("说明"), max_length=200, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("经办人"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    created_at = models.DateTimeField(_("记账时间"), auto_now_add=True)

    restrict_distinct = False  # restrict_q follows foreign keys only (no duplicates)

    class Meta:
        verbose_name = _("收付款分录")
        verbose_name_plural = _("收付款分录")
        ordering = ["paid_on", "pk"]
        constraints = [
            models.CheckConstraint(condition=~Q(amount=0), name="payments_entry_amount_not_0"),
            models.CheckConstraint(
                condition=Q(kind="reversal", reverses__isnull=False)
                | (~Q(kind="reversal") & Q(reverses__isnull=True)),
                name="payments_entry_reversal_has_original",
            ),
            # money held for a customer (诚意金) has no deal; every other entry has one
            models.CheckConstraint(
                condition=(
                    Q(purpose="sincerity", deal__isnull=True, customer__isnull=False)
                    & ~Q(reference="")
                )
                | (~Q(purpose="sincerity") & Q(deal__isnull=False)),
                name="payments_entry_deal_or_customer",
            ),
        ]
        indexes = [
            models.Index(fields=["project", "paid_on"]),
            models.Index(fields=["deal", "item"]),
            # what each schedule item has received, summed from the index alone
            models.Index(fields=["item"], include=["amount"], name="payments_entry_item_amt_idx"),
            models.Index(
                fields=["customer", "reference"],
                condition=Q(customer__isnull=False),
                name="payments_entry_held_idx",
            ),
        ]

    def __str__(self):
        return f"{self.get_kind_display()} {self.amount}"

    @classmethod
    def restrict_q(cls, user, action):
        return money_held_q(user, action)


class ReceiptBook(models.Model):
    """A receipt book 收据本: a range of pre-printed form serials issued to a cashier
    (票据管理, seed 000 出纳). Each printed receipt uses the next serial; a spoiled form
    is kept with its reason (``SpoiledForm``), so every serial of a book is accounted
    for."""

    project = models.ForeignKey(
        "inventory.Project", verbose_name=_("项目"), on_delete=models.PROTECT, related_name="+"
    )
    cashier = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("领用人"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    first_serial = models.PositiveIntegerField(_("起始号"))
    last_serial = models.PositiveIntegerField(_("终止号"))
    next_serial = models.PositiveIntegerField(_("下一号"))
    issued_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("发放人"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    issued_at = models.DateTimeField(_("领用时间"))
    note = models.CharField(_("备注"), max_length=200, blank=True)

    objects = RestrictedManager()

    scope_project_field = "project"
    scope_perm = "payment"

    class Meta:
        verbose_name = _("收据本")
        verbose_name_plural = _("收据本")
        ordering = ["project", "first_serial"]
        constraints = [
            models.CheckConstraint(
                condition=Q(last_serial__gte=models.F("first_serial"))
                & Q(next_serial__gte=models.F("first_serial"))
                & Q(next_serial__lte=models.F("last_serial") + 1),
                name="payments_book_range",
            )
        ]

    def __str__(self):
        return f"{self.first_serial:08d}–{self.last_serial:08d}"

    @property
    def left(self) -> int:
        return self.last_serial + 1 - self.next_serial


class Receipt(Scoped):
    """A receipt 收据: the document the buyer keeps for money received. Its number is
    gapless per project (``SJ-<project>-000001``, allocated in the writing transaction);
    the printed form's serial comes from the cashier's receipt book. Its amount is the sum
    of its ledger entries. Reversed (红冲) it stays, marked; the VAT invoice 发票 issued
    outside Loupan is recorded against it (number and date). A sincerity deposit's
    receipt 诚意金收据 has no deal: it names the ``customer`` and the ``reference``."""

    project = models.ForeignKey(
        "inventory.Project", verbose_name=_("项目"), on_delete=models.PROTECT, related_name="+"
    )
    deal = models.ForeignKey(
        "deals.Deal",
        verbose_name=_("交易"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="receipts",
    )
    customer = models.ForeignKey(
        "customers.Customer",
        verbose_name=_("客户"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    reference = models.CharField(
        _("款项用途"), max_length=40, blank=True, default="", db_default=""
    )
    number = models.CharField(_("收据编号"), max_length=30)
    amount = models.DecimalField(_("金额（元）"), **MONEY)
    method = models.CharField(_("收款方式"), max_length=10, choices=Method.choices)
    paid_on = models.DateField(_("收款日期"))
    payer = models.CharField(_("交款人"), max_length=100)
    book = models.ForeignKey(
        ReceiptBook,
        verbose_name=_("收据本"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="receipts",
    )
    form_serial = models.PositiveIntegerField(_("票据号"), null=True, blank=True)
    cashier = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("收款人"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    issued_at = models.DateTimeField(_("开具时间"))
    invoice_number = models.CharField(_("发票号码"), max_length=40, blank=True)
    invoice_date = models.DateField(_("开票日期"), null=True, blank=True)

    restrict_distinct = False  # restrict_q follows foreign keys only (no duplicates)

    class Meta:
        verbose_name = _("收据")
        verbose_name_plural = _("收据")
        ordering = ["-issued_at", "-pk"]
        constraints = [
            models.UniqueConstraint(fields=["project", "number"], name="payments_receipt_number"),
            models.UniqueConstraint(
                fields=["book", "form_serial"],
                condition=Q(book__isnull=False),
                name="payments_receipt_serial",
            ),
            models.CheckConstraint(
                condition=Q(deal__isnull=False) | Q(customer__isnull=False),
                name="payments_receipt_deal_or_customer",
            ),
        ]
        indexes = [models.Index(fields=["project", "paid_on"])]

    def __str__(self):
        return self.number

    @classmethod
    def restrict_q(cls, user, action):
        return money_held_q(user, action)


class SpoiledForm(models.Model):
    """A spoiled receipt form 作废票据 (misprinted, torn): its serial is used up and kept
    with the reason, so the book's serials are all accounted for."""

    book = models.ForeignKey(
        ReceiptBook, verbose_name=_("收据本"), on_delete=models.PROTECT, related_name="spoiled"
    )
    serial = models.PositiveIntegerField(_("票据号"))
    reason = models.CharField(_("作废原因"), max_length=200)
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("经办人"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    at = models.DateTimeField(_("作废时间"))

    class Meta:
        verbose_name = _("作废票据")
        verbose_name_plural = _("作废票据")
        ordering = ["book", "serial"]
        constraints = [
            models.UniqueConstraint(fields=["book", "serial"], name="payments_spoiled_unique")
        ]

    def __str__(self):
        return f"{self.serial:08d}"


# --- daily close --------------------------------------------------------------------------


class CloseStatus(models.TextChoices):
    PENDING = "pending", _("待复核")
    CLOSED = "closed", _("已日结")
    REOPENED = "reopened", _("已重开")


# A day whose sheet waits for review or is closed takes no new entry (0002).
LOCKED_CLOSE_STATUSES = (CloseStatus.PENDING, CloseStatus.CLOSED)


class DayClose(models.Model):
    """日清日结 (seed 000 出纳): the cashier's day sheet — receipts and refunds by method
    with totals, and the cash counted against the cash expected — confirmed by a second
    person 双重复核. A day waiting for review or closed takes no new ledger entry dated
    in it (the database refuses it too); reopening a closed day is an approved, audited
    action (the approval engine, kind ``day_reopen``)."""

    project = models.ForeignKey(
        "inventory.Project", verbose_name=_("项目"), on_delete=models.PROTECT, related_name="+"
    )
    day = models.DateField(_("日期"))
    status = models.CharField(
        _("状态"), max_length=10, choices=CloseStatus.choices, default=CloseStatus.PENDING
    )
    totals = models.JSONField(_("分方式合计"), default=dict)
    entries_total = models.DecimalField(_("当日合计（元）"), **MONEY)
    cash_expected = models.DecimalField(_("应有现金（元）"), **MONEY)
    cash_counted = models.DecimalField(_("实点现金（元）"), **MONEY)
    note = models.CharField(_("备注"), max_length=200, blank=True)
    prepared_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("出纳"), on_delete=models.PROTECT, related_name="+"
    )
    prepared_at = models.DateTimeField(_("提交时间"))
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("复核人"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    closed_at = models.DateTimeField(_("日结时间"), null=True, blank=True)

    objects = RestrictedManager()

    scope_project_field = "project"
    scope_perm = "payment"

    class Meta:
        verbose_name = _("日结")
        verbose_name_plural = _("日结")
        ordering = ["-day"]
        constraints = [
            models.UniqueConstraint(fields=["project", "day"], name="payments_dayclose_unique")
        ]

    def __str__(self):
        return f"{self.day} {self.get_status_display()}"


# --- arrears and collection ---------------------------------------------------------------


class Arrear(Scoped):
    """An overdue schedule item as the daily job (``loupan run-due``) found it: open from
    the first day it was overdue until the job finds it paid (``settled_on``). The amount
    and days overdue are read from the ledger as of now; this row is the event."""

    project = models.ForeignKey(
        "inventory.Project", verbose_name=_("项目"), on_delete=models.PROTECT, related_name="+"
    )
    deal = models.ForeignKey(
        "deals.Deal", verbose_name=_("交易"), on_delete=models.PROTECT, related_name="arrears"
    )
    item = models.ForeignKey(
        ScheduleItem, verbose_name=_("付款计划"), on_delete=models.PROTECT, related_name="arrears"
    )
    found_on = models.DateField(_("发现日期"))
    settled_on = models.DateField(_("结清日期"), null=True, blank=True)

    class Meta:
        verbose_name = _("欠款")
        verbose_name_plural = _("欠款")
        ordering = ["found_on", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["item"], condition=Q(settled_on__isnull=True), name="payments_arrear_open"
            )
        ]

    def __str__(self):
        return f"{self.item} {self.found_on}"


class Channel(models.TextChoices):
    PHONE = "phone", _("电话")
    VISIT = "visit", _("上门/来访")
    SMS = "sms", _("短信")
    WECHAT = "wechat", _("微信")
    LETTER = "letter", _("催款函")


class CollectionRecord(Scoped):
    """A collection contact 催款记录 (seed 000 催交欠款, seed 003 款项跟进): who contacted
    whom, how, what was promised and by when."""

    project = models.ForeignKey(
        "inventory.Project", verbose_name=_("项目"), on_delete=models.PROTECT, related_name="+"
    )
    deal = models.ForeignKey(
        "deals.Deal", verbose_name=_("交易"), on_delete=models.PROTECT, related_name="collections"
    )
    item = models.ForeignKey(
        ScheduleItem,
        verbose_name=_("付款计划"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="collections",
    )
    channel = models.CharField(_("方式"), max_length=10, choices=Channel.choices)
    contact = models.CharField(_("联系对象"), max_length=50)
    note = models.CharField(_("沟通内容"), max_length=300)
    promised_amount = models.DecimalField(_("承诺金额（元）"), null=True, blank=True, **MONEY)
    promised_on = models.DateField(_("承诺付款日期"), null=True, blank=True)
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("催款人"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    at = models.DateTimeField(_("催款时间"))

    class Meta:
        verbose_name = _("催款记录")
        verbose_name_plural = _("催款记录")
        ordering = ["-at", "-pk"]

    def __str__(self):
        return f"{self.get_channel_display()} {self.contact}"


class Deferral(Scoped):
    """A deferred payment 延期付款 (seed 002 二.5(2)): an item's new due date with the
    reason, approved through the approval engine (kind ``deferral``); only an approved
    deferral moves the item's ``due_date``. The 延期付款客户一览表 reads these rows."""

    project = models.ForeignKey(
        "inventory.Project", verbose_name=_("项目"), on_delete=models.PROTECT, related_name="+"
    )
    deal = models.ForeignKey(
        "deals.Deal", verbose_name=_("交易"), on_delete=models.PROTECT, related_name="deferrals"
    )
    item = models.ForeignKey(
        ScheduleItem, verbose_name=_("付款计划"), on_delete=models.PROTECT, related_name="deferrals"
    )
    old_due_date = models.DateField(_("原应付日期"))
    new_due_date = models.DateField(_("延期至"))
    reason = models.CharField(_("延期原因"), max_length=300)
    request = models.OneToOneField(
        "approvals.ApprovalRequest",
        verbose_name=_("审批申请"),
        on_delete=models.PROTECT,
        related_name="deferral",
    )
    created_at = models.DateTimeField(_("申请时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("延期付款")
        verbose_name_plural = _("延期付款")
        ordering = ["-created_at", "-pk"]

    def __str__(self):
        return f"{self.item} → {self.new_due_date}"


# --- mortgages ----------------------------------------------------------------------------


class LoanType(models.TextChoices):
    COMMERCIAL = "commercial", _("商业贷款")
    PROVIDENT = "provident", _("公积金贷款")
    COMBINED = "combined", _("组合贷款")


class MortgageStage(models.TextChoices):
    COLLECTING = "collecting", _("资料收集")
    SUBMITTED = "submitted", _("已递交银行")
    APPROVED = "approved", _("审批通过")
    DISBURSED = "disbursed", _("已放款")
    REJECTED = "rejected", _("拒贷")


class RejectionNext(models.TextChoices):
    """What follows a refused loan 拒贷 (seed 003 按揭协办)."""

    OTHER_BANK = "other_bank", _("转其他银行")
    ONE_OFF = "one_off", _("改一次性付款")
    MORE_DOWN = "more_down", _("增加首付")
    CANCEL = "cancel", _("退房")
    UNDECIDED = "undecided", _("待定")


class Mortgage(Scoped):
    """A deal's mortgage 按揭 (seed 001 按揭办理, seed 003 按揭协办): bank, loan type,
    amounts, years and rates; the stage from 资料收集 to 已放款 (or 拒贷 with what
    happens next), the documents checklist, the dates and the colleague who follows it.
    Disbursements are ledger entries (method 按揭放款) against the loan items."""

    project = models.ForeignKey(
        "inventory.Project", verbose_name=_("项目"), on_delete=models.PROTECT, related_name="+"
    )
    deal = models.OneToOneField(
        "deals.Deal", verbose_name=_("交易"), on_delete=models.PROTECT, related_name="mortgage"
    )
    bank = models.CharField(_("贷款银行"), max_length=50)
    loan_type = models.CharField(_("贷款类型"), max_length=12, choices=LoanType.choices)
    commercial_amount = models.DecimalField(_("商贷金额（元）"), default=Decimal("0"), **MONEY)
    provident_amount = models.DecimalField(_("公积金贷款金额（元）"), default=Decimal("0"), **MONEY)
    years = models.PositiveSmallIntegerField(_("贷款年限"))
    commercial_rate = models.DecimalField(
        _("商贷年利率（%）"), max_digits=6, decimal_places=3, null=True, blank=True
    )
    provident_rate = models.DecimalField(
        _("公积金年利率（%）"), max_digits=6, decimal_places=3, null=True, blank=True
    )
    stage = models.CharField(
        _("办理阶段"),
        max_length=12,
        choices=MortgageStage.choices,
        default=MortgageStage.COLLECTING,
    )
    stage_since = models.DateTimeField(_("进入本阶段时间"))
    documents = models.JSONField(_("资料清单"), default=list)
    follower = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("按揭专员"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    submitted_on = models.DateField(_("递交银行日期"), null=True, blank=True)
    approved_on = models.DateField(_("审批通过日期"), null=True, blank=True)
    disbursed_on = models.DateField(_("放款日期"), null=True, blank=True)
    rejected_on = models.DateField(_("拒贷日期"), null=True, blank=True)
    rejection_next = models.CharField(
        _("拒贷后处理"), max_length=12, choices=RejectionNext.choices, blank=True
    )
    note = models.CharField(_("备注"), max_length=300, blank=True)
    created_at = models.DateTimeField(_("建档时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("按揭")
        verbose_name_plural = _("按揭")
        ordering = ["stage_since", "pk"]
        indexes = [models.Index(fields=["project", "stage"])]
        constraints = [
            models.CheckConstraint(
                condition=Q(commercial_amount__gte=0) & Q(provident_amount__gte=0),
                name="payments_mortgage_amounts_gte_0",
            )
        ]

    def __str__(self):
        return f"{self.bank} {self.get_stage_display()}"

    @property
    def loan_total(self) -> Decimal:
        return self.commercial_amount + self.provident_amount


class MortgageEvent(models.Model):
    """One move of a mortgage between stages, with who moved it and why (the pipeline's
    history; days in stage are read from it)."""

    mortgage = models.ForeignKey(
        Mortgage, verbose_name=_("按揭"), on_delete=models.CASCADE, related_name="events"
    )
    from_stage = models.CharField(_("原阶段"), max_length=12, blank=True)
    to_stage = models.CharField(_("新阶段"), max_length=12, choices=MortgageStage.choices)
    note = models.CharField(_("说明"), max_length=300, blank=True)
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("经办人"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    at = models.DateTimeField(_("时间"))

    class Meta:
        verbose_name = _("按揭进度")
        verbose_name_plural = _("按揭进度")
        ordering = ["mortgage", "at", "pk"]

    def __str__(self):
        return f"{self.from_stage} → {self.to_stage}"


# --- purchase plan fee tables -------------------------------------------------------------


class FeeKind(models.TextChoices):
    DEED_TAX = "deed_tax", _("契税")
    MAINTENANCE = "maintenance", _("维修资金")


class HomeOrder(models.TextChoices):
    FIRST = "first", _("首套")
    SECOND = "second", _("二套")
    ANY = "any", _("不限")


class FeeBasis(models.TextChoices):
    PERCENT = "percent", _("按成交总价（%）")
    PER_SQM = "per_sqm", _("按面积（元/㎡）")


class FeeRate(models.Model):
    """A row of a project's fee table for the purchase plan 置业计划: deed tax 契税 or the
    maintenance fund 维修资金, for a first or second home and an area band (from
    ``area_min`` inclusive to ``area_max`` exclusive; none: no upper bound), as a
    percentage of the price or yuan per square metre. The office edits it; nothing is
    hard-coded."""

    project = models.ForeignKey(
        "inventory.Project", verbose_name=_("项目"), on_delete=models.CASCADE, related_name="+"
    )
    kind = models.CharField(_("费用"), max_length=12, choices=FeeKind.choices)
    home = models.CharField(_("套数"), max_length=8, choices=HomeOrder.choices)
    area_min = models.DecimalField(_("面积下限（㎡）"), max_digits=10, decimal_places=2, default=0)
    area_max = models.DecimalField(
        _("面积上限（㎡）"), max_digits=10, decimal_places=2, null=True, blank=True
    )
    basis = models.CharField(_("计费方式"), max_length=8, choices=FeeBasis.choices)
    rate = models.DecimalField(_("费率"), max_digits=10, decimal_places=4)

    objects = RestrictedManager()

    scope_project_field = "project"
    scope_perm = "payment"

    class Meta:
        verbose_name = _("税费标准")
        verbose_name_plural = _("税费标准")
        ordering = ["project", "kind", "home", "area_min"]
        constraints = [
            models.CheckConstraint(condition=Q(rate__gte=0), name="payments_fee_rate_gte_0")
        ]

    def __str__(self):
        return f"{self.get_kind_display()} {self.get_home_display()} {self.rate}"


# --- commissions --------------------------------------------------------------------------


class CommissionPlan(models.Model):
    """A project's commission rule 佣金方案 (seed 001 篇3 二(六) 结佣函): a rate on the
    contract amount (‰), the share of an assisting colleague (seed 002: the first
    registration earns, a helper gets a team share); its stages say when which part is
    earned."""

    project = models.OneToOneField(
        "inventory.Project",
        verbose_name=_("项目"),
        on_delete=models.CASCADE,
        related_name="commission_plan",
    )
    rate_permille = models.DecimalField(
        _("佣金比例（‰）"), max_digits=6, decimal_places=3, default=Decimal("3")
    )
    assist_share_pct = models.DecimalField(
        _("协助人分成（%）"), max_digits=5, decimal_places=2, default=Decimal("0")
    )

    class Meta:
        verbose_name = _("佣金方案")
        verbose_name_plural = _("佣金方案")

    def __str__(self):
        return f"{self.project} {self.rate_permille}‰"


class CommissionEvent(models.TextChoices):
    CONTRACTED = "contracted", _("签约")
    RECEIVED_PCT = "received_pct", _("回款达到比例")
    LOAN_DISBURSED = "loan_disbursed", _("贷款放款")
    DELIVERED = "delivered", _("交付")


class CommissionStage(models.Model):
    """A stage of the commission: ``share_pct`` of it is earned when ``event`` happens
    (e.g. 70% when 30% of the price has been received, 20% at loan disbursement, 10% at
    delivery)."""

    project = models.ForeignKey(
        "inventory.Project", verbose_name=_("项目"), on_delete=models.CASCADE, related_name="+"
    )
    name = models.CharField(_("名称"), max_length=50)
    event = models.CharField(_("条件"), max_length=16, choices=CommissionEvent.choices)
    threshold_pct = models.DecimalField(
        _("回款比例（%）"), max_digits=5, decimal_places=2, null=True, blank=True
    )
    share_pct = models.DecimalField(_("发放比例（%）"), max_digits=5, decimal_places=2)
    sort_order = models.PositiveSmallIntegerField(_("顺序"), default=0)

    class Meta:
        verbose_name = _("结佣阶段")
        verbose_name_plural = _("结佣阶段")
        ordering = ["project", "sort_order", "pk"]

    def __str__(self):
        return self.name


class CommissionAssist(models.Model):
    """The assisting colleague of a deal 协助人, who takes the plan's team share."""

    deal = models.OneToOneField(
        "deals.Deal", verbose_name=_("交易"), on_delete=models.CASCADE, related_name="assist"
    )
    colleague = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("协助人"),
        on_delete=models.PROTECT,
        related_name="+",
    )

    class Meta:
        verbose_name = _("协助人")
        verbose_name_plural = _("协助人")

    def __str__(self):
        return str(self.colleague)


class StatementStatus(models.TextChoices):
    DRAFT = "draft", _("待确认")
    CONFIRMED = "confirmed", _("已确认")


class CommissionStatement(models.Model):
    """The monthly commission statement 结佣函 of one consultant: the month's earned and
    clawed-back entries, reviewed and confirmed by the manager; once confirmed, its
    entries are settled and later events go to a later month."""

    project = models.ForeignKey(
        "inventory.Project", verbose_name=_("项目"), on_delete=models.PROTECT, related_name="+"
    )
    consultant = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("置业顾问"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    month = models.DateField(_("月份"))
    status = models.CharField(
        _("状态"), max_length=10, choices=StatementStatus.choices, default=StatementStatus.DRAFT
    )
    total = models.DecimalField(_("合计（元）"), default=Decimal("0"), **MONEY)
    confirmed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("确认人"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    confirmed_at = models.DateTimeField(_("确认时间"), null=True, blank=True)

    objects = RestrictedManager()

    scope_project_field = "project"
    scope_perm = "commission"
    scope_owner_field = "consultant"

    class Meta:
        verbose_name = _("结佣函")
        verbose_name_plural = _("结佣函")
        ordering = ["-month", "consultant"]
        constraints = [
            models.UniqueConstraint(
                fields=["project", "consultant", "month"], name="payments_statement_unique"
            )
        ]

    def __str__(self):
        return f"{self.month:%Y-%m} {self.consultant}"


class CommissionEntry(models.Model):
    """One commission amount: earned at a stage by the consultant or the assisting
    colleague, or clawed back (negative) when the deal is cancelled. Computed by the
    daily job from the deal's events, never typed; settled in a monthly statement."""

    project = models.ForeignKey(
        "inventory.Project", verbose_name=_("项目"), on_delete=models.PROTECT, related_name="+"
    )
    deal = models.ForeignKey(
        "deals.Deal", verbose_name=_("交易"), on_delete=models.PROTECT, related_name="commissions"
    )
    earner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("获佣人"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    stage = models.ForeignKey(
        CommissionStage,
        verbose_name=_("结佣阶段"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    clawback = models.BooleanField(_("追回"), default=False)
    assist = models.BooleanField(_("协助分成"), default=False)
    base = models.DecimalField(_("计佣基数（元）"), **MONEY)
    # the plan's terms when the entry was computed: a later change of the plan never
    # changes what a statement shows
    rate_permille = models.DecimalField(
        _("佣金比例（‰）"), max_digits=6, decimal_places=3, null=True, blank=True
    )
    share_pct = models.DecimalField(
        _("发放比例（%）"), max_digits=5, decimal_places=2, null=True, blank=True
    )
    assist_pct = models.DecimalField(
        _("协助人分成（%）"), max_digits=5, decimal_places=2, null=True, blank=True
    )
    amount = models.DecimalField(_("金额（元）"), **MONEY)
    earned_on = models.DateField(_("发生日期"))
    statement = models.ForeignKey(
        CommissionStatement,
        verbose_name=_("结佣函"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="entries",
    )
    created_at = models.DateTimeField(_("计算时间"), auto_now_add=True)

    objects = RestrictedManager()

    scope_project_field = "project"
    scope_perm = "commission"
    scope_owner_field = "earner"

    class Meta:
        verbose_name = _("佣金明细")
        verbose_name_plural = _("佣金明细")
        ordering = ["earned_on", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["deal", "earner", "stage", "clawback"], name="payments_commission_once"
            )
        ]

    def __str__(self):
        return f"{self.earner} {self.amount}"
