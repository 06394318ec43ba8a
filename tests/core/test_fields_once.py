"""``core.api.FieldsOnce``: a hot path's serializer builds its fields once per class and
thread, and answers as DRF's own serializer does (values, refusals, one thread's fields
never another's)."""

import datetime
import threading
from types import SimpleNamespace

from django.utils import timezone
from rest_framework import serializers

from loupan.core.api import FieldsOnce


class Plain(serializers.Serializer):
    name = serializers.CharField(max_length=4)
    number = serializers.IntegerField(min_value=1)
    at = serializers.DateTimeField(required=False)


class Once(FieldsOnce, Plain):
    pass


def test_the_same_answers_as_drfs_own():
    at = timezone.make_aware(datetime.datetime(2026, 12, 7, 9, 30))
    for data in (
        {"name": "ab", "number": 3},
        {"name": "abcdef", "number": 0},
        {"number": "x"},
        {"name": "ab", "number": 2, "at": "no"},
    ):
        plain, once = Plain(data=data), Once(data=data)
        assert plain.is_valid() == once.is_valid()
        assert plain.errors == once.errors
        assert dict(plain.validated_data) == dict(once.validated_data)
    row = SimpleNamespace(name="ab", number=7, at=at)
    assert Once(row).data == Plain(row).data
    other = SimpleNamespace(name="cd", number=8, at=at)
    assert Once(other).data == Plain(other).data  # the second instance reads its own


def test_built_once_per_class_and_thread():
    first, second = Once(data={}), Once(data={"name": "ab", "number": 1})
    assert first.fields is second.fields
    assert Plain().fields is not Plain().fields  # DRF's: a deep copy each
    # bound to a blank instance of their own, not to the first serializer that asked
    assert first.fields["name"].parent is not first
    assert not hasattr(first.fields["name"].parent, "initial_data")
    elsewhere = []
    thread = threading.Thread(target=lambda: elsewhere.append(Once().fields))
    thread.start()
    thread.join()
    assert elsewhere[0] is not first.fields
    assert list(elsewhere[0]) == list(first.fields) == ["name", "number", "at"]
