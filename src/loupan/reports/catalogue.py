"""The catalogue of reports: importing this module registers every report (the app's
``ready()`` imports it), in the order the reports page lists them."""

from . import analyses, daily, periodic  # noqa: F401
