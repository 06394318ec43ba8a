from django.apps import AppConfig


class OpeningConfig(AppConfig):
    name = "loupan.opening"
    label = "opening"
    verbose_name = "开盘"

    def ready(self):
        from loupan.audit import presenting
        from loupan.core import demo as demo_office

        from . import demo, results

        demo_office.register("opening", demo.demo_opening, order=75)
        # picks a stopped server left without their deal (``services.picks_seal``)
        from loupan.core import due

        from . import services

        due.register(
            "opening",
            lambda now=None: services.picks_seal(now=now),
            order=5,
            labels={"picks_sealed": "开盘选房生成交易", "picks_unsealable": "开盘选房未能生成交易"},
        )
        # the event's lists' exports as the audit trail reads them
        presenting.register_export(
            "opening.",
            title=lambda what: results.KINDS.get(what.split(".", 1)[1], (what,))[0],
            refs={"event": "opening.openingevent"},
            choices={"report": lambda: {k: v[0] for k, v in results.KINDS.items()}},
        )

        # ... and as they leave under the manager's consent where the project asks it
        # (seed 002 客户信息管理制度 5.1; ``customers.exports``)
        from loupan.customers import exports as customer_exports

        from . import results_views

        for kind, (label, _columns) in results.KINDS.items():
            build, clean = results_views.exportable(kind)
            customer_exports.register_list(
                f"opening.{kind}", label=label, may=results.may_export, build=build, clean=clean
            )

        # Its pages in the navigation (``core.navigation``).
        from django.utils.translation import gettext_lazy as _

        from loupan.core import navigation as nav

        nav.register("opening:event_list", _("开盘"), order=70, dom_id="nav-opening")

        # the lean pick path's copy of the event (``live.event_to_pick``)
        from django.db.models.signals import post_delete, post_save

        from . import live
        from .models import OpeningEvent

        post_save.connect(live.forget_event, sender=OpeningEvent)
        post_delete.connect(live.forget_event, sender=OpeningEvent)

        # the buyer's pick as one database function, installed by ``migrate`` (run as
        # the tables' owner): ``services.install_pick_functions``
        from django.db.models.signals import post_migrate

        post_migrate.connect(_install_pick_functions, sender=self)


def _install_pick_functions(sender=None, using="default", **kwargs) -> None:
    from . import services

    services.install_pick_functions(using)
