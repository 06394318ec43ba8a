from django.apps import AppConfig


class CustomersConfig(AppConfig):
    name = "loupan.customers"
    label = "customers"
    verbose_name = "客户"
