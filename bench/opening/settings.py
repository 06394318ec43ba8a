"""The server settings of ``bench/opening``: Loupan's own (``loupan.settings``, read from
the same environment as production), with one URL more: the bare JSON view the bench
measures as the ceiling of this server setup. Never used outside the bench."""

from loupan.settings import *  # noqa: F403

ROOT_URLCONF = "bench.opening.urls"
