"""The deal pages, by page family: ``lists`` (the office's lists and their xlsx),
``deal`` (reserve, the deal page and its actions), ``printables`` (房位确认单, 认购书) and
``settings`` (交易设置); ``common`` holds who sees the deals. All stand on the page
layer of ``core.pages``; ``deals/urls.py`` names each view in its module."""
