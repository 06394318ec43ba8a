"""Checks for uploaded files (layout plans now, contract scans later).

Files are stored under MEDIA_ROOT, outside the web root, and served only by views
that check permission. A file is accepted by its content, not by its name.
"""

import os

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

SIGNATURES = {
    "pdf": (b"%PDF",),
    "png": (b"\x89PNG\r\n\x1a\n",),
    "jpg": (b"\xff\xd8\xff",),
    "jpeg": (b"\xff\xd8\xff",),
    "webp": (b"RIFF",),
    # a .docx is a zip package; ``validate_docx`` also opens it as Word
    "docx": (b"PK\x03\x04",),
}
CONTENT_TYPES = {
    "pdf": "application/pdf",
    "png": "image/png",
    "jpg": "image/jpeg",
    "jpeg": "image/jpeg",
    "webp": "image/webp",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
}


def max_upload_bytes() -> int:
    return int(getattr(settings, "LOUPAN_UPLOAD_MAX_MB", 10)) * 1024 * 1024


def validate_document(upload, allowed=("pdf", "png", "jpg", "jpeg", "webp")) -> str:
    """Refuse files that are too big or whose content is not one of ``allowed``;
    returns the detected extension."""
    ext = os.path.splitext(upload.name or "")[1].lower().lstrip(".")
    if ext not in allowed:
        raise ValidationError(
            _("只能上传以下类型的文件：%(types)s") % {"types": "、".join(allowed)}, code="file_type"
        )
    if upload.size > max_upload_bytes():
        raise ValidationError(
            _("文件不能超过 %(mb)s MB") % {"mb": max_upload_bytes() // (1024 * 1024)},
            code="file_size",
        )
    head = upload.read(16)
    upload.seek(0)
    if not any(head.startswith(sig) for sig in SIGNATURES[ext]) or (
        ext == "webp" and head[8:12] != b"WEBP"
    ):
        raise ValidationError(
            _("文件内容与扩展名不符（不是有效的 %(ext)s 文件）") % {"ext": ext}, code="file_content"
        )
    return ext


def validate_docx(upload) -> None:
    """A Word .docx (the contract templates): the extension, the size, the zip
    signature, and a package that holds a Word document (``word/document.xml``)."""
    import zipfile

    validate_document(upload, allowed=("docx",))
    try:
        with zipfile.ZipFile(upload) as package:
            names = set(package.namelist())
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise ValidationError(
            _("文件内容与扩展名不符（不是有效的 %(ext)s 文件）") % {"ext": "docx"},
            code="file_content",
        ) from exc
    finally:
        upload.seek(0)
    if "word/document.xml" not in names:
        raise ValidationError(
            _("文件内容与扩展名不符（不是有效的 %(ext)s 文件）") % {"ext": "docx"},
            code="file_content",
        )


def serve_document(fieldfile, filename: str = ""):
    """A stored upload streamed back (never from the web root): its type by extension,
    not cached by shared caches. Callers check who may see it first."""
    from django.http import FileResponse

    ext = fieldfile.name.rsplit(".", 1)[-1].lower()
    response = FileResponse(
        fieldfile.open("rb"), content_type=CONTENT_TYPES.get(ext, "application/octet-stream")
    )
    if filename:
        response["Content-Disposition"] = f'inline; filename="{filename}.{ext}"'
    response["Cache-Control"] = "private, no-store"
    return response
