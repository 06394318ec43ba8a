"""What core's engines need from the apps above them, named here and provided by those
apps in their ``AppConfig.ready()``: core imports no app (docs/architecture.md).

* ``access`` (accounts): ``has_perm``, ``require_perm``, ``scope_of``, ``projects_with``
  and ``label`` (a permission code's Chinese name);
* ``audit`` (audit): ``record``, ``create``, ``update``, ``delete``, ``export``.
"""

from django.core.exceptions import ImproperlyConfigured


class Port:
    """A named set of functions that one app provides once, at start-up."""

    def __init__(self, name: str, *names: str):
        self._name, self._names, self._impl = name, names, {}

    def provide(self, **functions) -> None:
        missing = set(self._names) - set(functions)
        if missing:
            raise ImproperlyConfigured(f"port {self._name}: missing {sorted(missing)}")
        self._impl = functions

    def __getattr__(self, attr):
        impl = self.__dict__.get("_impl")
        if attr in self.__dict__.get("_names", ()):
            if not impl:
                raise ImproperlyConfigured(f"port {self._name} is not provided yet")
            return impl[attr]
        raise AttributeError(attr)


access = Port("access", "has_perm", "require_perm", "scope_of", "projects_with", "label")
audit = Port("audit", "record", "create", "update", "delete", "export")
