from django.apps import AppConfig


class SignOffsConfig(AppConfig):
    """The supervisor's daily sign-offs 签核 (晨检, 主管复审); each app registers the kinds
    it is checked by in its own ``ready()``."""

    name = "loupan.signoffs"
    label = "signoffs"
    verbose_name = "主管签核"
