"""Layout plans: uploaded by planning, checked by content, served only to staff."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from loupan.inventory.models import Layout

pytestmark = pytest.mark.django_db

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


def upload(client, project, name, content):
    return client.post(
        f"/projects/{project.pk}/layouts/new/",
        {
            "name": "E1",
            "rooms": 3,
            "halls": 2,
            "baths": 2,
            "note": "",
            "plan": SimpleUploadedFile(name, content, content_type="image/png"),
        },
    )


def test_plan_upload_checks_the_content(login, demo):
    project = demo["main"]
    client = login("planner")
    response = upload(client, project, "plan.png", b"this is not an image")
    assert response.status_code == 200 and "文件内容与扩展名不符" in response.content.decode()
    response = upload(client, project, "plan.exe", PNG)
    assert "只能上传以下类型的文件" in response.content.decode()
    assert not Layout.objects.filter(project=project, name="E1").exists()
    upload(client, project, "plan.png", PNG)
    layout = Layout.objects.get(project=project, name="E1")
    assert layout.plan.name.startswith("layouts/")


def test_plan_is_served_only_inside_the_project(login, demo, client):
    project = demo["main"]
    upload(login("planner"), project, "plan.png", PNG)
    layout = Layout.objects.get(project=project, name="E1")
    url = f"/projects/{project.pk}/layouts/{layout.pk}/plan/"
    response = login("consultant").get(url)
    assert response.status_code == 200 and response["Content-Type"] == "image/png"
    assert b"".join(response.streaming_content) == PNG
    client.logout()
    assert client.get(url).status_code == 302
    assert login("service").get(url).status_code == 404
    assert (
        login("consultant")
        .get(f"/projects/{demo['second'].pk}/layouts/{layout.pk}/plan/")
        .status_code
        == 404
    )
